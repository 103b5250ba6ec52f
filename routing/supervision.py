"""What supervisors and agents do to the distribution of work; each change is an event with who and why."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm import tickets
from crm.columns import utcnow
from crm.errors import Conflict, Forbidden, InvalidInput, NotFound
from crm.models import AccessRecord, EventKind, Ticket, TicketEvent, TicketStatus
from routing.agents import update_agent
from routing.assign import (OPEN, RoutingConfig, TicketContext, assign_ticket, give_ticket, lock_agent_profile,
                            profiles, roster_for, ticket_context, ticket_need)
from routing.models import Agent, Presence, Role, Team, TicketRouting
from routing.policy import choose_agent, language_required, next_ticket_for, qualifies, stage_for
from routing.rebalance import Held, Move, plan_rebalance

SUPERVISORS = {Role.SUPERVISOR.value, Role.ADMIN.value}
# A freed agent looks at this many of the oldest waiting tickets (the sweep reaches the rest).
FILL_LOOKAHEAD = 50


def require_supervisor(agent: Agent) -> None:
    if agent.role not in SUPERVISORS:
        raise Forbidden("only supervisors and administrators may do this")


@dataclass(frozen=True)
class AgentLoad:
    agent_id: int
    name: str
    role: str
    presence: str
    on_shift: bool
    open: int
    capacity: int
    oldest_minutes: float | None
    at_risk: int
    breached: int
    teams: list[str]


@dataclass(frozen=True)
class TeamLoad:
    team: str | None
    agents: int
    open: int
    capacity: int
    waiting: int
    oldest_waiting_minutes: float | None
    escalated: int
    at_risk: int
    breached: int


@dataclass(frozen=True)
class Workload:
    agents: list[AgentLoad]
    teams: list[TeamLoad]


async def _active_agents(session: AsyncSession) -> list[Agent]:
    return list((await session.exec(select(Agent).where(Agent.active).order_by(Agent.id))).all())


async def workload(session: AsyncSession, config: RoutingConfig, now: datetime | None = None) -> Workload:
    """Open vs capacity, presence, oldest ticket and SLA risk, per agent and per team."""
    now = now or utcnow()
    agents = await _active_agents(session)
    roster = await profiles(session, agents, now, config)
    rows = (await session.exec(
        select(Ticket.id, Ticket.assignee_id, Ticket.created_at, TicketRouting.team_id, TicketRouting.sla_state,
               TicketRouting.escalated)
        .join(TicketRouting, TicketRouting.ticket_id == Ticket.id, isouter=True)
        .where(col(Ticket.status).in_(OPEN)))).all()
    team_names = {t.id: t.slug for t in (await session.exec(select(Team))).all()}
    per_agent: dict[int, list] = {}
    for row in rows:
        if row[1] is not None:
            per_agent.setdefault(row[1], []).append(row)

    def age(created: datetime) -> float:
        return round((now - created).total_seconds() / 60, 1)

    loads = []
    for agent, profile in zip(agents, roster, strict=True):
        held = per_agent.get(agent.id, [])
        loads.append(AgentLoad(
            agent.id, agent.name, agent.role, agent.presence, profile.on_shift, profile.load, agent.capacity,
            max((age(r[2]) for r in held), default=None),
            sum(r[4] == "at_risk" for r in held), sum(r[4] == "breached" for r in held), sorted(profile.teams)))
    teams: list[TeamLoad] = []
    for team_id, slug in [*sorted(team_names.items(), key=lambda item: item[1]), (None, None)]:
        members = [a for a in loads if slug in a.teams] if slug else [a for a in loads if not a.teams]
        in_team = [r for r in rows if r[3] == team_id]
        waiting = [r for r in in_team if r[1] is None]
        if slug is None and not members and not in_team:
            continue
        teams.append(TeamLoad(
            slug, len(members), sum(a.open for a in members), sum(a.capacity for a in members), len(waiting),
            max((age(r[2]) for r in waiting), default=None), sum(bool(r[5]) for r in in_team),
            sum(r[4] == "at_risk" for r in in_team), sum(r[4] == "breached" for r in in_team)))
    return Workload(loads, teams)


async def lock_for_bulk(session: AsyncSession, ticket_ids: list[int]) -> None:
    """Lock the tickets of a bulk change (ascending ids), then every agent (ascending ids): the
    same global order as a single assignment (tickets, then agents), so nothing deadlocks."""
    if ticket_ids:
        await session.exec(select(Ticket.id).where(col(Ticket.id).in_(ticket_ids)).order_by(Ticket.id)
                           .with_for_update())
    await session.exec(select(Agent.id).where(Agent.active).order_by(Agent.id).with_for_update())


async def _ids_of(session: AsyncSession, references: list[str]) -> list[int]:
    wanted = [r.strip().upper() for r in references]
    return list((await session.exec(select(Ticket.id).where(col(Ticket.reference).in_(wanted)))).all())


async def _agent(session: AsyncSession, agent_id: int) -> Agent:
    agent = await session.get(Agent, agent_id)
    if agent is None or not agent.active:
        raise NotFound(f"no active agent {agent_id}")
    return agent


async def _locked_context(session: AsyncSession, reference: str, config: RoutingConfig) -> TicketContext:
    ticket = await tickets.find_by_reference(session, reference)
    ticket = await tickets.get_ticket(session, ticket.id, for_update=True)
    if ticket.status not in OPEN:
        raise Conflict(f"ticket {ticket.reference} is {ticket.status}: only open tickets are distributed")
    return await ticket_context(session, ticket, config)


async def move_ticket(session: AsyncSession, reference: str, to_agent_id: int | None, *, by: Agent, why: str,
                      config: RoutingConfig, now: datetime | None = None) -> Ticket:
    """A supervisor gives a ticket to an agent (None: back to the queue, to be routed again)."""
    require_supervisor(by)
    now = now or utcnow()
    context = await _locked_context(session, reference, config)
    if to_agent_id is None:
        await _back_to_queue(session, context, by, why, now)
        await assign_ticket(session, context.ticket.id, config, now)
        return context.ticket
    if context.ticket.assignee_id == to_agent_id:
        return context.ticket
    target = await _agent(session, to_agent_id)
    fresh = await lock_agent_profile(session, target.id, now, config)
    assert fresh is not None
    if not fresh.has_room(context.ticket.origin_channel):
        raise Conflict(f"{target.name} is at capacity ({fresh.load}/{fresh.capacity})")
    need = await ticket_need(session, context, now)
    warning = "" if qualifies(fresh, need, "strict", False) else \
        f" (note: {target.name} lacks {need.skill} level {need.min_level})"
    context.routing.escalated = False
    await give_ticket(session, context, target.id, reason=f"moved by {by.name}: {why}{warning}",
                      data={"by": by.id}, actor_type="agent", actor_id=by.id)
    return context.ticket


async def move_tickets(session: AsyncSession, references: list[str], to_agent_id: int | None, *, by: Agent,
                       why: str, config: RoutingConfig) -> list[Ticket]:
    """Bulk reassign: every ticket or none (the caller commits only if all moved)."""
    require_supervisor(by)
    await lock_for_bulk(session, await _ids_of(session, references))
    return [await move_ticket(session, reference, to_agent_id, by=by, why=why, config=config)
            for reference in dict.fromkeys(r.strip().upper() for r in references)]


async def _back_to_queue(session: AsyncSession, context: TicketContext, by: Agent, why: str, now: datetime) -> None:
    await tickets.set_assignee(session, context.ticket, None, reason=f"back to the queue by {by.name}: {why}",
                               data={"by": by.id}, actor_type="agent", actor_id=by.id)
    context.routing.waiting_since = context.routing.waiting_since or now
    context.routing.escalated = False


async def release_ticket(session: AsyncSession, reference: str, *, by: Agent, why: str, config: RoutingConfig,
                         now: datetime | None = None) -> Ticket:
    """The holder (or a supervisor) gives the ticket back; the router finds it someone else."""
    now = now or utcnow()
    context = await _locked_context(session, reference, config)
    if context.ticket.assignee_id != by.id and by.role not in SUPERVISORS:
        raise Forbidden("only the agent holding the ticket, or a supervisor, may release it")
    holder = context.ticket.assignee_id
    await _back_to_queue(session, context, by, why, now)
    await _route_excluding(session, context, holder, config, now)
    return context.ticket


async def _route_excluding(session: AsyncSession, context: TicketContext, agent_id: int | None,
                           config: RoutingConfig, now: datetime) -> None:
    """Route the ticket again, to anyone but the agent who just gave it away."""
    need = await ticket_need(session, context, now)
    stage = stage_for(need, config.rules)
    roster = [p for p in await roster_for(session, need, stage, now, config) if p.agent_id != agent_id]
    decision = choose_agent(need, roster, config.rules)
    if decision.agent_id is None:
        await tickets.record_event(session, context.ticket.id, EventKind.UNASSIGNED, reason=decision.reason)
        return
    fresh = await lock_agent_profile(session, decision.agent_id, now, config)
    if fresh is None or not fresh.has_room(need.channel):
        return  # filled meanwhile: the sweep routes it
    await give_ticket(session, context, decision.agent_id, reason=decision.reason,
                      data={"stage": decision.stage, "score": decision.score, "factors": dict(decision.factors)})


async def take_ticket(session: AsyncSession, reference: str, *, agent: Agent, config: RoutingConfig,
                      now: datetime | None = None) -> Ticket:
    """An agent takes an unassigned ticket they are eligible for."""
    now = now or utcnow()
    context = await _locked_context(session, reference, config)
    if context.ticket.assignee_id is not None:
        raise Conflict(f"ticket {context.ticket.reference} is already assigned")
    need = await ticket_need(session, context, now)
    stage = stage_for(need, config.rules)
    fresh = await lock_agent_profile(session, agent.id, now, config)
    roster = await roster_for(session, need, stage, now, config)
    if fresh is None or not qualifies(fresh, need, stage, language_required(need, roster)):
        raise Forbidden(f"you are not eligible for this ticket ({need.skill or 'no skill'}"
                        f" level ≥ {need.min_level}{', ' + need.language if need.language else ''})")
    if not fresh.has_room(need.channel):
        raise Conflict(f"you are at capacity ({fresh.load}/{fresh.capacity})")
    context.routing.escalated = False
    await give_ticket(session, context, agent.id, reason=f"taken by {agent.name}", data={"stage": stage},
                      actor_type="agent", actor_id=agent.id)
    return context.ticket


async def waiting_ticket_ids(session: AsyncSession, limit: int = 200) -> list[int]:
    rows = (await session.exec(
        select(Ticket.id).join(TicketRouting, TicketRouting.ticket_id == Ticket.id, isouter=True)
        .where(col(Ticket.assignee_id).is_(None), col(Ticket.status).in_(OPEN),
               col(TicketRouting.escalated).is_not(True))
        .order_by(col(Ticket.created_at), col(Ticket.id)).limit(limit))).all()
    return list(rows)


async def fill_agent_once(session: AsyncSession, agent_id: int, config: RoutingConfig,
                          now: datetime | None = None) -> int | None:
    """An agent became available or freed capacity: give them the most urgent waiting ticket they
    may take (its id), or None. One per transaction: the ticket is locked before the agent."""
    now = now or utcnow()
    agent = await session.get(Agent, agent_id)
    if agent is None:
        return None
    roster = await profiles(session, await _active_agents(session), now, config)
    profile = next((p for p in roster if p.agent_id == agent_id), None)
    if profile is None or not profile.can_work():
        return None
    needs = []
    contexts = {}
    for ticket_id in await waiting_ticket_ids(session, limit=FILL_LOOKAHEAD):
        contexts[ticket_id] = await ticket_context(session, await tickets.get_ticket(session, ticket_id), config)
        needs.append(await ticket_need(session, contexts[ticket_id], now))
    need = next_ticket_for(profile, needs, roster, config.rules)
    if need is None:
        return None
    ticket = await tickets.get_ticket(session, need.ticket_id, for_update=True)
    fresh = await lock_agent_profile(session, agent_id, now, config)
    if ticket.assignee_id is not None or ticket.status not in OPEN or fresh is None \
            or not fresh.has_room(need.channel):
        return None
    await give_ticket(session, contexts[need.ticket_id], agent_id,
                      reason=f"{profile.name} freed capacity: most urgent waiting ticket they may take",
                      data={"stage": stage_for(need, config.rules)})
    return need.ticket_id


async def set_presence(session: AsyncSession, agent_id: int, presence: str, *, by: Agent, why: str,
                       redistribute: bool, config: RoutingConfig, now: datetime | None = None) -> list[str]:
    """Change an agent's presence; away or offline with `redistribute` hands their unanswered
    tickets to others (the references moved are returned)."""
    if presence not in {p.value for p in Presence}:
        raise InvalidInput(f"presence must be one of: {', '.join(p.value for p in Presence)}")
    if by.id != agent_id:
        require_supervisor(by)
    now = now or utcnow()
    agent = await _agent(session, agent_id)
    agent.presence = presence
    await session.flush()
    if presence == Presence.AVAILABLE.value:
        return []
    if not redistribute:
        return []
    moved = []
    held = await _unanswered(session, await _held_ids(session, agent_id))
    await lock_for_bulk(session, held)
    for ticket_id in held:
        context = await ticket_context(session, await tickets.get_ticket(session, ticket_id, for_update=True), config)
        await _back_to_queue(session, context, by, f"{agent.name} is {presence}: {why}", now)
        await _route_excluding(session, context, agent_id, config, now)
        moved.append(context.ticket.reference)
    return moved


async def _held_ids(session: AsyncSession, agent_id: int) -> list[int]:
    return list((await session.exec(select(Ticket.id).where(Ticket.assignee_id == agent_id,
                                                            col(Ticket.status).in_(OPEN)))).all())


async def _unanswered(session: AsyncSession, ticket_ids: list[int]) -> list[int]:
    """Of these tickets, those no agent has answered yet: moving them confuses nobody."""
    if not ticket_ids:
        return []
    answered = set((await session.exec(
        select(TicketEvent.ticket_id).where(col(TicketEvent.ticket_id).in_(ticket_ids),
                                            TicketEvent.kind == EventKind.MESSAGE_OUT.value,
                                            TicketEvent.actor_type == "agent"))).all())
    return [t for t in ticket_ids if t not in answered]


async def rebalance_plan(session: AsyncSession, config: RoutingConfig, now: datetime | None = None) -> list[Move]:
    now = now or utcnow()
    agents = await _active_agents(session)
    roster = await profiles(session, agents, now, config)
    held_ids = list((await session.exec(select(Ticket.id).where(col(Ticket.assignee_id).is_not(None),
                                                                col(Ticket.status).in_(OPEN)))).all())
    movable = set(await _unanswered(session, held_ids))
    held = []
    for ticket_id in held_ids:
        ticket = await tickets.get_ticket(session, ticket_id)
        context = await ticket_context(session, ticket, config)
        need = await ticket_need(session, context, now)
        held.append(Held(need, ticket.assignee_id, ticket_id in movable, ticket.reference))
    return plan_rebalance(roster, held)


async def apply_moves(session: AsyncSession, moves: list[Move], *, by: Agent, config: RoutingConfig,
                      now: datetime | None = None) -> tuple[list[Move], list[tuple[Move, str]]]:
    """Apply the chosen moves of a plan; a move whose ticket or agents changed since is skipped."""
    require_supervisor(by)
    now = now or utcnow()
    applied, skipped = [], []
    await lock_for_bulk(session, [m.ticket_id for m in moves])
    for move in moves:
        context = await _locked_context(session, move.reference, config)
        if context.ticket.assignee_id != move.from_agent_id:
            skipped.append((move, "the ticket changed hands since the plan"))
            continue
        fresh = await lock_agent_profile(session, move.to_agent_id, now, config)
        if fresh is None or not fresh.can_work() or not fresh.has_room(context.ticket.origin_channel):
            skipped.append((move, "the receiving agent has no room now"))
            continue
        await give_ticket(session, context, move.to_agent_id, reason=f"rebalanced by {by.name}: {move.reason}",
                          data={"by": by.id, "plan": True}, actor_type="agent", actor_id=by.id)
        applied.append(move)
    return applied, skipped



async def change_status(session: AsyncSession, reference: str, status: str, *, by: Agent,
                        why: str) -> tuple[Ticket, int | None]:
    """The holder or a supervisor moves the request on; resolving frees the holder's capacity.
    The ticket, and the id of the change's event (None: it had that status already)."""
    try:
        wanted = TicketStatus(status)
    except ValueError:
        raise InvalidInput(f"status must be one of: {', '.join(s.value for s in TicketStatus)}") from None
    ticket = await tickets.find_by_reference(session, reference)
    ticket = await tickets.get_ticket(session, ticket.id, for_update=True)
    if ticket.assignee_id != by.id and by.role not in SUPERVISORS:
        raise Forbidden("only the agent holding the ticket, or a supervisor, may change its status")
    event = await tickets.set_status(session, ticket, wanted, reason=f"{by.name}: {why}", actor_type="agent",
                                     actor_id=by.id)
    return ticket, event.id if event else None


async def edit_agent(session: AsyncSession, agent_id: int, *, by: Agent, why: str, **changes) -> list[str]:
    """A supervisor changes what the router knows of an agent; the change is on the audit trail."""
    require_supervisor(by)
    agent = await _agent(session, agent_id)
    changed = await update_agent(session, agent, **changes)
    session.add(AccessRecord(agent_id=by.id, action=f"update:{','.join(changed)}"[:40], subject_type="agent",
                             subject_id=agent.id))
    return changed
