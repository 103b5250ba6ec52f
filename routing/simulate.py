"""Discrete-event simulation of a service desk on virtual time, driving the real router.

Tickets arrive (Poisson per category, drawn once per scenario so every policy
sees the same stream); the `skills` policy asks `routing.policy` — the code that
assigns real tickets — whom to give each ticket to, on arrival, when an agent
frees capacity, at opening time and on a periodic sweep; the baselines assign on
arrival the way common helpdesks do (`round_robin`: the next agent in turn;
`least_loaded`: the fewest open tickets), blind to skills, language and capacity.
Agents work one ticket at a time, each ticket taking its drawn work (mean
`handling_minutes` at level 3) times the agent's proficiency factor.

Virtual time is business time: with `opening_hours`, `hours` counts open hours
(40 = a week of 5 x 8 h), citizens' requests arrive at the given rate per open
hour, and closed hours are skipped — the way SLAs count them. Every duration
reported (waits, SLA) is in business minutes.
Wait = arrival until an agent starts working the ticket.
"""
from __future__ import annotations

import heapq
import math
import random
from collections import defaultdict, deque
from dataclasses import dataclass, field

from routing.policy import (AgentProfile, TicketNeed, choose_agent, is_mismatch, next_ticket_for,
                            plan_assignments, stage_for, urgency)
from routing.scenario import AgentSpec, CategorySpec, Scenario

POLICIES = ("skills", "round_robin", "least_loaded")
SWEEP_MINUTES = 5.0
# After the arrivals stop the desk keeps working its backlog, for this long at most.
DRAIN_MINUTES = 60 * 24 * 60.0


@dataclass
class SimTicket:
    id: int
    category: CategorySpec
    language: str | None
    arrival: float  # minutes since START
    work: float  # minutes at level 3
    agent: int | None = None
    started: float | None = None
    stage: str | None = None


@dataclass
class SimAgent:
    id: int
    spec: AgentSpec
    queue: list[SimTicket] = field(default_factory=list)  # assigned, not started
    current: SimTicket | None = None
    busy_minutes: float = 0.0

    @property
    def load(self) -> int:
        return len(self.queue) + (self.current is not None)


def draw_tickets(scenario: Scenario) -> list[SimTicket]:
    """The arrival stream, the same for every policy (common random numbers)."""
    rng = random.Random(scenario.seed)
    horizon = scenario.hours * 60
    tickets: list[SimTicket] = []
    for category in scenario.categories:
        rate = category.arrivals_per_hour / 60
        if rate <= 0:
            continue
        languages = list(category.languages)
        weights = [category.languages[lang] for lang in languages]
        t = rng.expovariate(rate)
        while t < horizon:
            language = rng.choices(languages, weights)[0] if languages else None
            tickets.append(SimTicket(0, category, language, t, rng.expovariate(1 / category.handling_minutes)))
            t += rng.expovariate(rate)
    tickets.sort(key=lambda ticket: ticket.arrival)
    for number, ticket in enumerate(tickets, start=1):
        ticket.id = number
    return tickets


class Simulation:
    def __init__(self, scenario: Scenario, policy: str) -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown policy {policy!r}; one of: {', '.join(POLICIES)}")
        self.scenario, self.policy = scenario, policy
        self.agents = [SimAgent(i + 1, spec) for i, spec in enumerate(scenario.agents)]
        self.tickets = draw_tickets(scenario)
        # Waiting tickets by (category, language), oldest first. Within one class every
        # ticket asks the same of its agent and the oldest is the most urgent (and the most
        # relaxed), so only each class's head can be the router's next choice.
        self.waiting: dict[tuple[str, str | None], deque[SimTicket]] = defaultdict(deque)
        self.events: list[tuple[float, int, str, object]] = []
        self.sequence = 0
        self.now = 0.0
        self.rr_next = 0
        self.mismatches = self.capacity_violations = self.language_mismatches = self.relaxed = 0
        self._sweep_pending = False
        self.relaxing = scenario.rules.relax_level_after_minutes is not None or \
            scenario.rules.relax_team_after_minutes is not None

    def push(self, when: float, kind: str, payload: object = None) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (when, self.sequence, kind, payload))

    # --- the router's view ----------------------------------------------------------
    def profile(self, agent: SimAgent) -> AgentProfile:
        return AgentProfile(agent.id, agent.spec.name, agent.spec.skills, agent.spec.languages,
                            agent.spec.teams, agent.spec.capacity, agent.load)

    def roster(self) -> list[AgentProfile]:
        return [self.profile(agent) for agent in self.agents]

    def need(self, ticket: SimTicket) -> TicketNeed:
        category = ticket.category
        return TicketNeed(ticket.id, category.skill, category.min_level, ticket.language, category.team,
                          None, category.priority, self.now - ticket.arrival,
                          category.sla_first_response_minutes)

    # --- actions ----------------------------------------------------------------------
    def assign(self, ticket: SimTicket, agent: SimAgent, stage: str | None = None) -> None:
        profile = self.profile(agent)
        category = ticket.category
        if agent.load >= agent.spec.capacity:
            self.capacity_violations += 1
        if is_mismatch(profile, TicketNeed(ticket.id, category.skill, category.min_level)):
            self.mismatches += 1
        if ticket.language and ticket.language not in agent.spec.languages:
            self.language_mismatches += 1
        if stage and stage != "strict":
            self.relaxed += 1
        ticket.agent, ticket.stage = agent.id, stage
        agent.queue.append(ticket)
        self.maybe_start(agent)

    def maybe_start(self, agent: SimAgent) -> None:
        if agent.current is not None or not agent.queue:
            return
        if self.policy == "skills":
            ticket = max(agent.queue, key=lambda t: (urgency(self.need(t)), -t.id))
        else:
            ticket = agent.queue[0]
        agent.queue.remove(ticket)
        agent.current = ticket
        ticket.started = self.now
        level = agent.spec.skills.get(ticket.category.skill, 0) if ticket.category.skill else 3
        duration = ticket.work * self.scenario.speed_factor(level)
        self._count_busy(agent, self.now, self.now + duration)
        self.push(self.now + duration, "done", agent)

    def _count_busy(self, agent: SimAgent, start: float, end: float) -> None:
        horizon = self.scenario.hours * 60
        agent.busy_minutes += max(0.0, min(end, horizon) - start)

    def route_arrival(self, ticket: SimTicket) -> None:
        if self.policy == "round_robin":
            agent = self.agents[self.rr_next % len(self.agents)]
            self.rr_next += 1
            self.assign(ticket, agent)
        elif self.policy == "least_loaded":
            self.assign(ticket, min(self.agents, key=lambda a: (a.load, a.id)))
        else:
            decision = choose_agent(self.need(ticket), self.roster(), self.scenario.rules)
            if decision.agent_id is None:
                self.waiting[_class_of(ticket)].append(ticket)
            else:
                self.assign(ticket, self.agents[decision.agent_id - 1], decision.stage)

    def heads(self) -> dict[int, SimTicket]:
        return {queue[0].id: queue[0] for queue in self.waiting.values() if queue}

    def take(self, ticket: SimTicket, agent: SimAgent, stage: str) -> None:
        queue = self.waiting[_class_of(ticket)]
        assert queue[0] is ticket
        queue.popleft()
        self.assign(ticket, agent, stage)

    def fill(self, agent: SimAgent) -> None:
        """An agent freed capacity: they take the most urgent waiting ticket they may take."""
        while agent.load < agent.spec.capacity:
            heads = self.heads()
            if not heads:
                return
            roster = self.roster()
            need = next_ticket_for(roster[agent.id - 1], [self.need(t) for t in heads.values()],
                                   roster, self.scenario.rules)
            if need is None:
                return
            self.take(heads[need.ticket_id], agent, stage_for(need, self.scenario.rules))

    def sweep(self) -> None:
        """The periodic sweep: relaxed requirements may now find someone."""
        if not any(a.load < a.spec.capacity for a in self.agents):
            return
        while heads := self.heads():
            plan = plan_assignments([self.need(t) for t in heads.values()], self.roster(), self.scenario.rules)
            need, decision = next(((n, d) for n, d in plan if d.agent_id is not None), (None, None))
            if need is None:
                return
            self.take(heads[need.ticket_id], self.agents[decision.agent_id - 1], decision.stage)

    # --- the loop ---------------------------------------------------------------------
    def run(self) -> dict:
        for ticket in self.tickets:
            self.push(ticket.arrival, "arrive", ticket)
        limit = self.scenario.hours * 60 + DRAIN_MINUTES
        while self.events:
            when, _, kind, payload = heapq.heappop(self.events)
            if when > limit:
                break
            self.now = when
            if kind == "arrive":
                self.route_arrival(payload)
            elif kind == "done":
                agent = payload
                agent.current = None
                if self.policy == "skills":
                    self.fill(agent)
                self.maybe_start(agent)
            elif kind == "sweep":
                self._sweep_pending = False
                self.sweep()
            self._schedule_follow_ups()
        return self.report()

    def _schedule_follow_ups(self) -> None:
        if self.policy == "skills" and self.relaxing and self.heads() and not self._sweep_pending:
            self._sweep_pending = True
            self.push(self.now + SWEEP_MINUTES, "sweep")

    def report(self) -> dict:
        end = self.now
        waits, breaches, with_sla = [], 0, 0
        for ticket in self.tickets:
            served = ticket.started is not None
            waits.append((ticket.started if served else end) - ticket.arrival)
            target = ticket.category.sla_first_response_minutes
            if target is not None:
                with_sla += 1
                breaches += (not served) or ticket.started - ticket.arrival > target
        horizon = self.scenario.hours * 60
        return {
            "policy": self.policy,
            "tickets": len(self.tickets),
            "assigned": sum(t.agent is not None for t in self.tickets),
            "mean_wait_minutes": round(sum(waits) / len(waits), 3) if waits else 0.0,
            "p90_wait_minutes": round(percentile(waits, 0.90), 3),
            "sla_breach_rate": round(breaches / with_sla, 4) if with_sla else 0.0,
            "skill_mismatches": self.mismatches,
            "capacity_violations": self.capacity_violations,
            "utilisation": {a.spec.name: round(min(1.0, a.busy_minutes / horizon), 4)
                            for a in self.agents},
            "language_mismatches": self.language_mismatches,
            "relaxed_assignments": self.relaxed,
            "unstarted": sum(t.started is None for t in self.tickets),
            "simulated_minutes": round(end, 1),
        }


def _class_of(ticket: SimTicket) -> tuple[str, str | None]:
    return ticket.category.name, ticket.language


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def simulate(scenario: Scenario, policy: str) -> dict:
    """One run of the scenario under a policy: the figures the CLI prints as JSON."""
    return Simulation(scenario, policy).run()
