"""Who takes a ticket: pure, explainable decisions (no database, no clock).

Eligibility, strictest first (each later stage only after the ticket waited long enough):
  strict   the required skill at the category's minimum level, the citizen's language
  level    the required skill at any level, the citizen's language
  team     any agent of the ticket's team (skill and language only weigh in the score)
and always: active, presence `available`, on shift (working hours), free capacity
(in total and on the ticket's channel when the agent has a per-channel limit).

The citizen's language is a requirement only when someone who could serve the
ticket speaks it at all; otherwise a ticket in a language nobody speaks would
never be assigned.

Among eligible agents the highest score wins (ties: lowest agent id):
  score = W_PROFICIENCY * level / 5          proficiency in the required skill
        + W_LOAD * (1 - load / capacity)     spare capacity
        + W_STICKY * [previous agent]        the agent who served this citizen before
        + W_LANGUAGE * [speaks language]     (matters only once language is relaxed)
Which waiting ticket goes first is the ticket's urgency (`urgency`): priority,
plus the share of its first-response SLA already waited, so a ticket that
waits keeps rising (aging: nothing starves).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from routing.models import Presence

W_PROFICIENCY = 1.0
W_LOAD = 2.0
W_STICKY = 0.75
W_LANGUAGE = 0.5

PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
# Without an SLA, a ticket ages as if its target were one working day.
DEFAULT_AGING_MINUTES = 8 * 60.0

STAGES = ("strict", "level", "team")


@dataclass(frozen=True)
class AgentProfile:
    """An agent as the router sees them at one instant."""

    agent_id: int
    name: str
    skills: Mapping[str, int] = field(default_factory=dict)  # skill slug -> level 1-5
    languages: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    capacity: int = 20
    load: int = 0  # open tickets assigned now
    channel_capacity: Mapping[str, int] = field(default_factory=dict)  # optional per-channel limit
    channel_load: Mapping[str, int] = field(default_factory=dict)
    presence: str = Presence.AVAILABLE.value
    on_shift: bool = True  # inside their working hours now
    active: bool = True

    def level(self, skill: str | None) -> int:
        return self.skills.get(skill, 0) if skill else 0

    def has_room(self, channel: str | None) -> bool:
        if self.load >= self.capacity:
            return False
        limit = self.channel_capacity.get(channel) if channel else None
        return limit is None or self.channel_load.get(channel, 0) < limit

    def can_work(self) -> bool:
        return self.active and self.presence == Presence.AVAILABLE.value and self.on_shift

    def with_ticket(self, channel: str | None, delta: int = 1) -> AgentProfile:
        """The same agent with one more (or, delta=-1, one fewer) ticket."""
        loads = dict(self.channel_load)
        if channel:
            loads[channel] = loads.get(channel, 0) + delta
        return replace(self, load=self.load + delta, channel_load=loads)


@dataclass(frozen=True)
class TicketNeed:
    """What a ticket asks of its agent."""

    ticket_id: int
    skill: str | None = None
    min_level: int = 1
    language: str | None = None
    team: str | None = None
    channel: str | None = None
    priority: str = "normal"
    waited_minutes: float = 0.0  # since it started waiting for an agent
    sla_minutes: float | None = None  # first-response target
    previous_agent_id: int | None = None  # who last served this citizen


@dataclass(frozen=True)
class RoutingRules:
    """Knobs an administrator tunes; None switches a relaxation off."""

    relax_level_after_minutes: float | None = 60.0
    relax_team_after_minutes: float | None = 240.0


@dataclass(frozen=True)
class Decision:
    agent_id: int | None
    reason: str
    eligible: int
    stage: str = "strict"  # which eligibility stage the choice was made at
    score: float | None = None
    factors: Mapping[str, float] = field(default_factory=dict)

    @property
    def relaxed(self) -> bool:
        return self.stage != "strict"


def stage_for(need: TicketNeed, rules: RoutingRules) -> str:
    """How far the requirement has relaxed after the time the ticket has waited."""
    stage = "strict"
    if rules.relax_level_after_minutes is not None and need.waited_minutes >= rules.relax_level_after_minutes:
        stage = "level"
    if rules.relax_team_after_minutes is not None and need.waited_minutes >= rules.relax_team_after_minutes:
        stage = "team"
    return stage


def in_team(agent: AgentProfile, need: TicketNeed) -> bool:
    return need.team is None or need.team in agent.teams


def language_required(need: TicketNeed, roster: Iterable[AgentProfile]) -> bool:
    """Only when an active agent with the skill (or, without a skill, any) speaks it."""
    if not need.language:
        return False
    return any(
        a.active and need.language in a.languages and in_team(a, need)
        and (need.skill is None or a.level(need.skill) > 0)
        for a in roster
    )


def qualifies(agent: AgentProfile, need: TicketNeed, stage: str, needs_language: bool) -> bool:
    """Skill, level, language and team at this stage; availability is checked apart."""
    if not in_team(agent, need):
        return False
    if stage == "team":
        return True
    if needs_language and need.language not in agent.languages:
        return False
    if need.skill is None:
        return True
    return agent.level(need.skill) >= (need.min_level if stage == "strict" else 1)


def is_mismatch(agent: AgentProfile, need: TicketNeed) -> bool:
    """The agent lacks the required skill at the category's minimum level."""
    return need.skill is not None and agent.level(need.skill) < need.min_level


def score(agent: AgentProfile, need: TicketNeed) -> tuple[float, dict[str, float]]:
    factors = {
        "proficiency": W_PROFICIENCY * agent.level(need.skill) / 5 if need.skill else 0.0,
        "load": W_LOAD * (1 - agent.load / agent.capacity) if agent.capacity > 0 else 0.0,
        "sticky": W_STICKY if need.previous_agent_id == agent.agent_id else 0.0,
        "language": W_LANGUAGE if need.language and need.language in agent.languages else 0.0,
    }
    return round(sum(factors.values()), 6), {k: round(v, 4) for k, v in factors.items()}


def choose_agent(need: TicketNeed, roster: list[AgentProfile], rules: RoutingRules = RoutingRules()) -> Decision:
    """The best available agent for the ticket, or None with the reason it waits."""
    stage = stage_for(need, rules)
    needs_language = language_required(need, roster)
    eligible = [
        a for a in roster
        if a.can_work() and a.has_room(need.channel) and qualifies(a, need, stage, needs_language)
    ]
    if not eligible:
        return Decision(None, f"waiting: no available agent with {_requirement(need, stage, needs_language)} "
                              "and free capacity", 0, stage)
    scored = [(score(a, need), a) for a in eligible]
    (best_score, factors), best = max(scored, key=lambda item: (item[0][0], -item[1].agent_id))
    return Decision(best.agent_id, _explain(best, need, stage, len(eligible), factors), len(eligible),
                    stage, best_score, factors)


def urgency(need: TicketNeed) -> float:
    """Which waiting ticket goes first: priority, then the share of its SLA already waited."""
    target = need.sla_minutes if need.sla_minutes and need.sla_minutes > 0 else DEFAULT_AGING_MINUTES
    return PRIORITY_RANK.get(need.priority, 1) + need.waited_minutes / target


def next_ticket_for(agent: AgentProfile, waiting: list[TicketNeed], roster: list[AgentProfile],
                    rules: RoutingRules = RoutingRules()) -> TicketNeed | None:
    """When an agent frees capacity: the most urgent waiting ticket they may take."""
    if not agent.can_work():
        return None
    spoken: dict[tuple, bool] = {}  # language_required depends only on these three

    def needs_language(need: TicketNeed) -> bool:
        key = (need.skill, need.language, need.team)
        if key not in spoken:
            spoken[key] = language_required(need, roster)
        return spoken[key]

    takeable = [
        need for need in waiting
        if agent.has_room(need.channel) and qualifies(agent, need, stage_for(need, rules), needs_language(need))
    ]
    return max(takeable, key=lambda n: (urgency(n), -n.ticket_id), default=None)


def plan_assignments(waiting: list[TicketNeed], roster: list[AgentProfile],
                     rules: RoutingRules = RoutingRules()) -> list[tuple[TicketNeed, Decision]]:
    """Assign a backlog, most urgent first, each choice seeing the loads the earlier ones left."""
    agents = {a.agent_id: a for a in roster}
    plan = []
    for need in sorted(waiting, key=lambda n: (-urgency(n), n.ticket_id)):
        decision = choose_agent(need, list(agents.values()), rules)
        if decision.agent_id is not None:
            agents[decision.agent_id] = agents[decision.agent_id].with_ticket(need.channel)
        plan.append((need, decision))
    return plan


def _requirement(need: TicketNeed, stage: str, needs_language: bool) -> str:
    if stage == "team" or need.skill is None:
        what = "any skill"
    else:
        what = f"skill {need.skill} (level ≥ {need.min_level if stage == 'strict' else 1})"
    if needs_language and stage != "team":
        what += f", speaking {need.language}"
    if need.team:
        what += f", in team {need.team}"
    return what


def _explain(agent: AgentProfile, need: TicketNeed, stage: str, eligible: int,
             factors: Mapping[str, float]) -> str:
    parts = [f"{agent.name}, best of {eligible} eligible agent(s)"]
    if need.skill:
        parts.append(f"skill {need.skill} level {agent.level(need.skill)}")
    else:
        parts.append("no skill required")
    if need.language and need.language in agent.languages:
        parts.append(f"speaks {need.language}")
    parts.append(f"load {agent.load}/{agent.capacity}")
    if factors.get("sticky"):
        parts.append("served this citizen before")
    if stage == "level":
        parts.append(f"relaxed after {need.waited_minutes:.0f} min: any level of the skill")
    elif stage == "team":
        parts.append(f"relaxed after {need.waited_minutes:.0f} min: any agent of the team")
    return "; ".join(parts)
