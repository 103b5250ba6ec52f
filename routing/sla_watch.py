"""Watch open tickets against their SLA: at-risk and breached events, notifications, escalation."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm import tickets
from crm.columns import utcnow
from crm.models import EventKind, Priority, Ticket, TicketEvent
from routing.assign import OPEN, RoutingConfig, ticket_context
from routing.models import Agent, Notification, Role, TicketRouting
from routing.sla import SEVERITY, DueTimes, SlaState, check

ESCALATE_PRIORITY = {Priority.LOW.value: Priority.NORMAL.value, Priority.NORMAL.value: Priority.HIGH.value,
                     Priority.HIGH.value: Priority.URGENT.value, Priority.URGENT.value: Priority.URGENT.value}
# What counts as the first response: an agent wrote to the citizen or moved the request on.
RESPONSE_KINDS = (EventKind.MESSAGE_OUT.value, EventKind.STATUS_CHANGED.value)


@dataclass(frozen=True)
class SlaChange:
    ticket_id: int
    reference: str
    state: str
    reason: str
    escalated: list[str]


async def _first_responses(session: AsyncSession, ticket_ids: list[int]) -> dict[int, datetime]:
    rows = (await session.exec(
        select(TicketEvent.ticket_id, TicketEvent.created_at)
        .where(col(TicketEvent.ticket_id).in_(ticket_ids), col(TicketEvent.kind).in_(RESPONSE_KINDS),
               TicketEvent.actor_type == "agent")
        .order_by(col(TicketEvent.created_at)))).all()
    first: dict[int, datetime] = {}
    for ticket_id, at in rows:
        first.setdefault(ticket_id, at)
    return first


async def notify(session: AsyncSession, agent_ids: set[int], ticket_id: int, kind: str, text: str) -> None:
    for agent_id in sorted(agent_ids):
        session.add(Notification(agent_id=agent_id, ticket_id=ticket_id, kind=kind, text=text))


async def _supervisors(session: AsyncSession) -> set[int]:
    return set((await session.exec(select(Agent.id).where(
        Agent.active, col(Agent.role).in_([Role.SUPERVISOR.value, Role.ADMIN.value])))).all())


async def check_slas(session: AsyncSession, config: RoutingConfig, now: datetime | None = None,
                     limit: int = 1000) -> list[SlaChange]:
    """Move each open ticket's SLA state forward (never back) and act on what changed."""
    now = now or utcnow()
    rows = (await session.exec(
        select(Ticket.id).join(TicketRouting, TicketRouting.ticket_id == Ticket.id)
        .where(col(Ticket.status).in_(OPEN), TicketRouting.sla_state != SlaState.BREACHED.value,
               (col(TicketRouting.first_response_due_at).is_not(None))
               | (col(TicketRouting.resolution_due_at).is_not(None)))
        .order_by(col(TicketRouting.first_response_due_at)).limit(limit))).all()
    if not rows:
        return []
    responses = await _first_responses(session, list(rows))
    supervisors = await _supervisors(session)
    changes = []
    for ticket_id in sorted(rows):  # ticket locks in ascending ids, as every bulk change takes them
        ticket = await tickets.get_ticket(session, ticket_id, for_update=True)
        context = await ticket_context(session, ticket, config)
        routing = context.routing
        if routing.first_responded_at is None and ticket_id in responses:
            routing.first_responded_at = responses[ticket_id]
        result = check(context.calendar, opened_at=ticket.created_at,
                       due=DueTimes(routing.first_response_due_at, routing.resolution_due_at),
                       first_responded_at=routing.first_responded_at, resolved_at=None, now=now)
        if SEVERITY[result.state] <= SEVERITY[SlaState(routing.sla_state)]:
            continue
        routing.sla_state = result.state.value
        breached = result.state is SlaState.BREACHED
        kind = EventKind.SLA_BREACHED if breached else EventKind.SLA_AT_RISK
        await tickets.record_event(session, ticket.id, kind, reason=result.reason,
                                   data={"first_response_due_at": _iso(routing.first_response_due_at),
                                         "resolution_due_at": _iso(routing.resolution_due_at)})
        audience = supervisors | ({ticket.assignee_id} if ticket.assignee_id else set())
        label = "SLA dépassé" if breached else "SLA menacé"
        await notify(session, audience, ticket.id, kind.value, f"{ticket.reference} — {label} : {result.reason}")
        escalated = await _escalate(session, ticket, context, supervisors) if breached else []
        changes.append(SlaChange(ticket.id, ticket.reference, result.state.value, result.reason, escalated))
    await session.flush()
    return changes


async def _escalate(session: AsyncSession, ticket: Ticket, context, supervisors: set[int]) -> list[str]:
    """The category's escalation rules, applied once, at the breach."""
    rules = list(context.category.escalation or []) if context.category else []
    done = []
    if "raise_priority" in rules and ESCALATE_PRIORITY[ticket.priority] != ticket.priority:
        await tickets.set_priority(session, ticket, ESCALATE_PRIORITY[ticket.priority],
                                   reason="escalation: SLA breached")
        done.append("raise_priority")
    if "supervisor_queue" in rules:
        if ticket.assignee_id is not None:
            await tickets.set_assignee(session, ticket, None, reason="escalation: SLA breached, to the supervisors' queue",
                                       data={"escalated": True})
        context.routing.escalated = True
        await tickets.record_event(session, ticket.id, EventKind.ESCALATED,
                                   reason="SLA breached: moved to the supervisors' queue")
        await notify(session, supervisors, ticket.id, "escalated",
                     f"{ticket.reference} — escaladé : en attente d'un superviseur")
        done.append("supervisor_queue")
    return done


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def notifications_of(session: AsyncSession, agent_id: int, *, unread_only: bool = False,
                           limit: int = 100) -> list[Notification]:
    statement = select(Notification).where(Notification.agent_id == agent_id)
    if unread_only:
        statement = statement.where(col(Notification.read_at).is_(None))
    return list((await session.exec(statement.order_by(col(Notification.id).desc()).limit(limit))).all())
