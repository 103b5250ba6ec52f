"""Assign tickets inside the caller's transaction: never twice, never over capacity.

The decision itself is `routing.policy` (pure); this module reads what it needs
(the ticket's need, the agents who could take it, their loads) and writes the
outcome. Locks, always in this order: the ticket row, then agent rows by
ascending id, then loads are counted; so concurrent assigners on PostgreSQL
never assign a ticket twice, never overfill an agent, and never deadlock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm import tickets
from crm.columns import utcnow
from crm.models import OPEN_STATUS_SQL, OPEN_STATUSES, Citizen, EventKind, Ticket, TicketStatus
from routing.calendar import BusinessCalendar
from routing.models import Agent, AgentSkill, AgentTeam, Category, Skill, Team, TicketRouting
from routing.policy import (AgentProfile, Decision, RoutingRules, TicketNeed, choose_agent, language_required,
                            qualifies, stage_for)
from routing.sla import SlaTargets, due_times
from routing.teams import team_calendar, teams_of, working_calendar

OPEN = [s.value for s in OPEN_STATUSES]


@dataclass(frozen=True)
class RoutingConfig:
    """What the administrator set: relaxation delays and the administration's time zone."""

    rules: RoutingRules = RoutingRules()
    timezone: str = "UTC"


@dataclass(frozen=True)
class TicketContext:
    """A ticket with what routing knows of it."""

    ticket: Ticket
    category: Category | None
    skill: str | None
    team: Team | None
    routing: TicketRouting
    calendar: BusinessCalendar


async def ticket_context(session: AsyncSession, ticket: Ticket, config: RoutingConfig, *,
                         new_ticket: bool = False) -> TicketContext:
    """Load (and on first sight create) the ticket's routing state: team, SLA due times.
    `new_ticket`: created in the caller's transaction, so it has none yet and nobody else can
    create it (the row is returned, not added: the caller adds it once complete)."""
    category = await session.get(Category, ticket.category_id) if ticket.category_id else None
    skill = await session.get(Skill, category.skill_id) if category and category.skill_id else None
    routing = None if new_ticket else await session.get(TicketRouting, ticket.id)
    team_id = routing.team_id if routing else (category.team_id if category else None)
    team = await session.get(Team, team_id) if team_id else None
    calendar = team_calendar(team, config.timezone)
    if routing is None:
        targets = SlaTargets(category.sla_first_response_minutes, category.sla_resolution_minutes) \
            if category else SlaTargets()
        due = due_times(calendar, ticket.created_at, targets)
        routing = TicketRouting(ticket_id=ticket.id, team_id=team_id,
                                waiting_since=None if ticket.assignee_id else ticket.created_at,
                                first_response_due_at=due.first_response, resolution_due_at=due.resolution)
        if not new_ticket:  # a new ticket's row: the caller adds it when it is complete
            try:
                async with session.begin_nested():
                    session.add(routing)
            except IntegrityError:  # a concurrent assigner created it first
                routing = await session.get(TicketRouting, ticket.id, populate_existing=True)
    return TicketContext(ticket, category, skill.slug if skill else None, team, routing, calendar)


async def ticket_need(session: AsyncSession, context: TicketContext, now: datetime, *,
                      new_citizen: bool = False) -> TicketNeed:
    """`new_citizen`: created in the caller's transaction, so no agent had a ticket of theirs."""
    ticket, category = context.ticket, context.category
    language = ticket.language
    if language is None:
        citizen = await session.get(Citizen, ticket.citizen_id)
        language = citizen.language if citizen else None
    previous = None if new_citizen else (
        await previous_agents(session, [ticket.citizen_id], excluding=ticket.id)).get(ticket.citizen_id)
    waiting_since = context.routing.waiting_since or ticket.created_at
    sla = category.sla_first_response_minutes if category else None
    return TicketNeed(
        ticket_id=ticket.id, skill=context.skill, min_level=category.min_level if category else 1,
        language=language, team=context.team.slug if context.team else None,
        channel=ticket.origin_channel, priority=ticket.priority,
        waited_minutes=context.calendar.business_minutes_between(waiting_since, now),
        sla_minutes=float(sla) if sla else None, previous_agent_id=previous,
    )


async def previous_agents(session: AsyncSession, citizen_ids: list[int], *,
                          excluding: int | None = None) -> dict[int, int]:
    """The previous agent routing prefers for a ticket of each of these citizens (the assignee of
    their latest other ticket that has one: `excluding` the ticket itself), by citizen id, in one
    statement; none for a citizen without one."""
    if not citizen_ids:
        return {}
    latest = (select(func.max(Ticket.id))
              .where(col(Ticket.citizen_id).in_(sorted(set(citizen_ids))), col(Ticket.assignee_id).is_not(None),
                     *([Ticket.id != excluding] if excluding is not None else []))
              .group_by(Ticket.citizen_id))
    return dict((await session.exec(select(Ticket.citizen_id, Ticket.assignee_id)
                                    .where(col(Ticket.id).in_(latest)))).all())


async def agent_loads(session: AsyncSession, agent_ids: list[int]) -> dict[int, dict[str, int]]:
    """Open tickets per agent and origin channel (from the partial index of open tickets)."""
    if not agent_ids:
        return {}
    rows = (await session.exec(
        select(Ticket.assignee_id, Ticket.origin_channel, func.count())
        .where(col(Ticket.assignee_id).in_(agent_ids), text(OPEN_STATUS_SQL))
        .group_by(Ticket.assignee_id, Ticket.origin_channel))).all()
    loads: dict[int, dict[str, int]] = {}
    for agent_id, channel, count in rows:
        loads.setdefault(agent_id, {})[channel] = count
    return loads


async def profiles(session: AsyncSession, agents: list[Agent], now: datetime, config: RoutingConfig,
                   *, loads_of: set[int] | None = None) -> list[AgentProfile]:
    """The router's view of these agents; loads counted for `loads_of` only (default: all)."""
    ids = [a.id for a in agents]
    skills = await skills_of(session, ids)
    teams = await teams_of(session, ids) if ids else {}
    loads = await agent_loads(session, sorted(loads_of) if loads_of is not None else ids)
    return [profile_of(a, skills.get(a.id, {}), teams.get(a.id, frozenset()), loads.get(a.id, {}), now, config)
            for a in agents]


async def skills_of(session: AsyncSession, agent_ids: list[int]) -> dict[int, dict[str, int]]:
    """Each agent's skills: slug -> level."""
    skills: dict[int, dict[str, int]] = {}
    if agent_ids:
        for agent_id, slug, level in (await session.exec(
                select(AgentSkill.agent_id, Skill.slug, AgentSkill.level)
                .join(Skill, Skill.id == AgentSkill.skill_id)
                .where(col(AgentSkill.agent_id).in_(agent_ids)))).all():
            skills.setdefault(agent_id, {})[slug] = level
    return skills


def profile_of(agent: Agent, skills: dict[str, int], teams: frozenset[str], loads: dict[str, int],
               now: datetime, config: RoutingConfig) -> AgentProfile:
    on_shift = working_calendar(agent.working_hours, config.timezone).is_open(now) \
        if agent.working_hours else True
    return AgentProfile(
        agent_id=agent.id, name=agent.name, skills=skills, languages=frozenset(agent.languages or []),
        teams=teams, capacity=agent.capacity, load=sum(loads.values()),
        channel_capacity=dict(agent.channel_capacity or {}), channel_load=loads,
        presence=agent.presence, on_shift=on_shift, active=agent.active,
    )


async def roster_for(session: AsyncSession, need: TicketNeed, stage: str, now: datetime,
                     config: RoutingConfig, *, lock: bool = False) -> list[AgentProfile]:
    """The agents who could take the ticket at this stage (available or not: the policy decides).

    With `lock`, those who could take it now but for their load are locked in id order, and only
    then are their loads counted: concurrent assigners of the same skill queue up here, always in
    the same order (no deadlock), and each counts the loads the previous one left. The others keep
    load 0: they are not eligible anyway, and only say who speaks the citizen's language."""
    statement = select(Agent).where(Agent.active)
    if stage == "team" and need.team:
        statement = statement.join(AgentTeam, AgentTeam.agent_id == Agent.id).join(
            Team, Team.id == AgentTeam.team_id).where(Team.slug == need.team)
    elif need.skill and stage != "team":
        statement = statement.join(AgentSkill, AgentSkill.agent_id == Agent.id).join(
            Skill, Skill.id == AgentSkill.skill_id).where(Skill.slug == need.skill)
    agents = list((await session.exec(statement.order_by(Agent.id))).unique().all())
    if not lock:
        return await profiles(session, agents, now, config)
    unloaded = await profiles(session, agents, now, config, loads_of=set())
    needs_language = language_required(need, unloaded)
    ids = [p.agent_id for p in unloaded if p.can_work() and qualifies(p, need, stage, needs_language)]
    if not ids:
        return unloaded
    locked = {a.id: a for a in (await session.exec(
        select(Agent).where(col(Agent.id).in_(ids)).order_by(Agent.id).with_for_update()
        .execution_options(populate_existing=True))).all()}
    loads = await agent_loads(session, sorted(locked))
    known = {p.agent_id: p for p in unloaded}
    fresh = {agent_id: profile_of(agent, dict(known[agent_id].skills), known[agent_id].teams,
                                  loads.get(agent_id, {}), now, config)
             for agent_id, agent in locked.items()}
    return [fresh.get(p.agent_id, p) for p in unloaded]


class RosterCache:
    """The agents for a transaction that assigns many new tickets (a batch of inbound messages).

    On first use every active agent is locked, in id order, and read with skills, teams and
    loads; later tickets of the transaction reuse them, the loads kept up to date as tickets are
    given. The locks are held to commit, so no other assigner can change those loads meanwhile.
    The caller says when something else may have (`recount`: a ticket reopened, say) or when the
    locks may be gone (`forget`: a savepoint rolled back)."""

    def __init__(self) -> None:
        self._agents: list[Agent] | None = None
        self._skills: dict[int, dict[str, int]] = {}
        self._teams: dict[int, frozenset[str]] = {}
        self._loads: dict[int, dict[str, int]] | None = None

    def forget(self) -> None:
        self._agents, self._loads = None, None

    def agent(self, agent_id: int) -> Agent | None:
        """A locked agent, once roster() has run."""
        return next((a for a in self._agents or [] if a.id == agent_id), None)

    def recount(self) -> None:
        self._loads = None

    def given(self, agent_id: int, channel: str) -> None:
        if self._loads is not None:
            per_channel = self._loads.setdefault(agent_id, {})
            per_channel[channel] = per_channel.get(channel, 0) + 1

    async def roster(self, session: AsyncSession, need: TicketNeed, stage: str, now: datetime,
                     config: RoutingConfig) -> list[AgentProfile]:
        """What roster_for(..., lock=True) answers, from the locked agents."""
        if self._agents is None:
            self._agents = list((await session.exec(
                select(Agent).where(Agent.active).order_by(Agent.id).with_for_update()
                .execution_options(populate_existing=True))).all())
            ids = [a.id for a in self._agents]
            self._skills = await skills_of(session, ids)
            self._teams = await teams_of(session, ids) if ids else {}
            self._loads = None
        if self._loads is None:
            self._loads = await agent_loads(session, [a.id for a in self._agents])
        if stage == "team" and need.team:
            agents = [a for a in self._agents if need.team in self._teams.get(a.id, frozenset())]
        elif need.skill and stage != "team":
            agents = [a for a in self._agents if need.skill in self._skills.get(a.id, {})]
        else:
            agents = self._agents
        unloaded = [profile_of(a, self._skills.get(a.id, {}), self._teams.get(a.id, frozenset()), {}, now, config)
                    for a in agents]
        needs_language = language_required(need, unloaded)
        eligible = {p.agent_id for p in unloaded if p.can_work() and qualifies(p, need, stage, needs_language)}
        return [profile_of(a, dict(p.skills), p.teams, self._loads.get(a.id, {}), now, config)
                if a.id in eligible else p for a, p in zip(agents, unloaded)]


async def _record_once(session: AsyncSession, ticket_id: int, kind: EventKind, reason: str,
                       data: dict | None = None) -> None:
    """Waiting and relaxation notes are written when they change, not at every sweep."""
    last = await tickets.latest_event(session, ticket_id)
    if last is None or last.kind != kind.value or last.reason != reason:
        await tickets.record_event(session, ticket_id, kind, reason=reason, data=data or {})


async def assign_ticket(session: AsyncSession, ticket_id: int, config: RoutingConfig = RoutingConfig(),
                        now: datetime | None = None, *, roster: RosterCache | None = None,
                        new_ticket: bool = False, new_citizen: bool = False) -> Decision | None:
    """Assign an open, unassigned ticket; None when there was nothing to do.

    `new_ticket`: the caller created it in this transaction, so its row is ours already (no
    lock to take) and it has no routing state yet (its row is written with the outcome: one
    INSERT, no UPDATE after). `new_citizen`: so was its citizen (no previous agent to look
    for). `roster`: agents shared by the tickets of one transaction (RosterCache)."""
    now = now or utcnow()
    ticket = await session.get(Ticket, ticket_id) if new_ticket else None
    if ticket is None:
        ticket = await tickets.get_ticket(session, ticket_id, for_update=True)
    if ticket.assignee_id is not None or ticket.status not in OPEN:
        return None
    context = await ticket_context(session, ticket, config, new_ticket=new_ticket)
    if context.routing.escalated:
        return None  # in the supervisors' queue: a person decides
    need = await ticket_need(session, context, now, new_citizen=new_citizen)
    stage = stage_for(need, config.rules)
    if stage != context.routing.stage:
        context.routing.stage = stage
        await tickets.record_event(session, ticket.id, EventKind.ROUTING,
                                   reason=_relaxation_note(stage, need), data={"stage": stage})
    if roster is not None:
        profiles_now = await roster.roster(session, need, stage, now, config)
    else:
        profiles_now = await roster_for(session, need, stage, now, config, lock=True)
    decision = choose_agent(need, profiles_now, config.rules)
    if new_ticket:
        session.add(context.routing)
    if decision.agent_id is None:
        await _record_once(session, ticket.id, EventKind.UNASSIGNED, decision.reason, {"stage": stage})
        return decision
    await give_ticket(session, context, decision.agent_id, reason=decision.reason, data=_decision_data(need, decision))
    if roster is not None:
        roster.given(decision.agent_id, ticket.origin_channel)
    return decision


def _decision_data(need: TicketNeed, decision: Decision) -> dict:
    return {"skill": need.skill, "stage": decision.stage, "eligible": decision.eligible,
            "score": decision.score, "factors": dict(decision.factors)}


_DEFAULT_STAGE = TicketRouting.__table__.c.stage.default.arg  # a new routing row's stage


async def assign_new_tickets(session: AsyncSession, rows: list[dict], config: RoutingConfig, roster: RosterCache,
                             now: datetime | None = None, *,
                             previous: list[int | None] | None = None) -> list[tuple[dict, list[dict]]]:
    """assign_ticket(new_ticket=True) for tickets about to be inserted, from their rows (no
    category, no assignee yet): the same decisions, in order, from the transaction's roster, with
    no ORM object and no statement of their own. `previous`: each row's previous agent
    (previous_agents; default: none, as for a citizen created in this transaction). Each row is
    given its agent (assignee, status, times); returned per row: its routing row and its
    timeline events (event_row), both to be completed with the ticket's id once it is inserted."""
    now = now or utcnow()
    calendar = team_calendar(None, config.timezone)
    assigned = []
    for row, previous_agent_id in zip(rows, previous or [None] * len(rows)):
        due = due_times(calendar, row["created_at"], SlaTargets())
        routing = {"ticket_id": None, "team_id": None, "waiting_since": row["created_at"], "stage": _DEFAULT_STAGE,
                   "first_response_due_at": due.first_response, "resolution_due_at": due.resolution}
        need = TicketNeed(ticket_id=0, language=row["language"], channel=row["origin_channel"],
                          priority=row["priority"], previous_agent_id=previous_agent_id,
                          waited_minutes=calendar.business_minutes_between(row["created_at"], now))
        stage = stage_for(need, config.rules)
        events = []
        if stage != routing["stage"]:
            routing["stage"] = stage
            events.append(tickets.event_row(0, EventKind.ROUTING, reason=_relaxation_note(stage, need),
                                            data={"stage": stage}))
        decision = choose_agent(need, await roster.roster(session, need, stage, now, config), config.rules)
        if decision.agent_id is None:  # _record_once: the ticket's last event is its first message
            events.append(tickets.event_row(0, EventKind.UNASSIGNED, reason=decision.reason, data={"stage": stage}))
        else:
            routing["waiting_since"] = None
            given = utcnow()
            row.update(assignee_id=decision.agent_id, updated_at=given, assigned_at=given,
                       status=TicketStatus.OPEN.value)
            events.append(tickets.event_row(0, EventKind.ASSIGNED, reason=decision.reason,
                                            data={"agent_id": decision.agent_id, "from_agent_id": None,
                                                  **_decision_data(need, decision)}))
            roster.given(decision.agent_id, row["origin_channel"])
        assigned.append((routing, events))
    return assigned


async def lock_agent_profile(session: AsyncSession, agent_id: int, now: datetime,
                             config: RoutingConfig) -> AgentProfile | None:
    """Lock the agent's row and read their load as it is now (other assigners wait for us)."""
    agent = (await session.exec(select(Agent).where(Agent.id == agent_id).with_for_update()
                                .execution_options(populate_existing=True))).first()
    if agent is None or not agent.active:
        return None
    return (await profiles(session, [agent], now, config))[0]


async def give_ticket(session: AsyncSession, context: TicketContext, agent_id: int, *, reason: str,
                      data: dict, actor_type: str = "system", actor_id: int | None = None) -> None:
    context.routing.waiting_since = None  # before the flush below: in the same statements
    await tickets.set_assignee(session, context.ticket, agent_id, reason=reason, data=data,
                               actor_type=actor_type, actor_id=actor_id)


def _relaxation_note(stage: str, need: TicketNeed) -> str:
    waited = f"after {need.waited_minutes:.0f} business minutes without an agent"
    if stage == "level":
        return f"requirement relaxed {waited}: any level of skill {need.skill}"
    if stage == "team":
        return f"requirement relaxed {waited}: any agent of the team"
    return "requirement back to strict"
