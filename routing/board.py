"""The open tickets a supervisor looks at on the board: who holds them, how close to their SLA."""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.models import OPEN_STATUSES, Ticket
from routing.models import Agent, Category, TicketRouting

SLA_ORDER = {"breached": 0, "at_risk": 1, "ok": 2}


@dataclass(frozen=True)
class OpenTicket:
    reference: str
    subject: str
    status: str
    channel: str
    category: str | None
    assignee_id: int | None
    assignee: str | None
    sla_state: str
    due_at: datetime | None
    created_at: datetime
    escalated: bool


async def open_tickets(session: AsyncSession, *, limit: int = 200, assignee_id: int | None = None) -> list[OpenTicket]:
    """Open tickets, breached first, then at risk, then by due time (oldest first when none)."""
    query = (select(Ticket, TicketRouting, Category.slug, Agent.name)
             .join(TicketRouting, TicketRouting.ticket_id == Ticket.id, isouter=True)
             .join(Category, Category.id == Ticket.category_id, isouter=True)
             .join(Agent, Agent.id == Ticket.assignee_id, isouter=True)
             .where(col(Ticket.status).in_([s.value for s in OPEN_STATUSES])))
    if assignee_id is not None:
        query = query.where(Ticket.assignee_id == assignee_id)
    rows = (await session.exec(query.order_by(col(Ticket.created_at)).limit(5000))).all()
    tickets = [OpenTicket(t.reference, t.subject, t.status, t.origin_channel, slug, t.assignee_id, name,
                          r.sla_state if r else "ok", r.first_response_due_at if r else None, t.created_at,
                          bool(r and r.escalated))
               for t, r, slug, name in rows]
    far = datetime.max.replace(tzinfo=None)
    tickets.sort(key=lambda t: (SLA_ORDER.get(t.sla_state, 3),
                                (t.due_at.replace(tzinfo=None) if t.due_at else far), t.created_at.replace(tzinfo=None)))
    return tickets[:limit]


async def board_version(session: AsyncSession) -> str:
    """Changes whenever the board would: a ticket opens, moves, changes status or closes (each
    touches `updated_at` or leaves the open set), an SLA state changes, or an agent's presence,
    capacity or activity changes. Cheap: three aggregate reads, no rows sent."""
    open_ = col(Ticket.status).in_([s.value for s in OPEN_STATUSES])
    latest, count = (await session.exec(select(func.max(Ticket.updated_at), func.count(col(Ticket.id)))
                                        .where(open_))).one()
    states = (await session.exec(
        select(TicketRouting.sla_state, TicketRouting.escalated, func.count())
        .join(Ticket, col(Ticket.id) == TicketRouting.ticket_id).where(open_)
        .group_by(TicketRouting.sla_state, TicketRouting.escalated)
        .order_by(TicketRouting.sla_state, TicketRouting.escalated))).all()
    agents = (await session.exec(select(Agent.id, Agent.presence, Agent.capacity, Agent.active)
                                 .order_by(col(Agent.id)))).all()
    moment = latest.isoformat() if isinstance(latest, datetime) else latest
    return f"{moment}/{count}/{zlib.crc32(repr((states, agents)).encode()):x}"
