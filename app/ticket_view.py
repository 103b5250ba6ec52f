"""A ticket as an agent sees it: the citizen, the assignee, messages and the timeline."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from crm import tickets
from crm.attachments import attachments_by_message
from crm.identity import contact_points
from crm.models import AccessRecord, Citizen
from crm.opt_outs import opted_out
from routing.models import Agent, Category


@dataclass
class ContactPointOut:
    kind: str
    value: str
    verified: bool
    opted_out: bool = False  # asked for no more messages on this channel (SMS STOP)


@dataclass
class CitizenOut:
    id: int
    full_name: str
    language: str | None
    contact_points: list[ContactPointOut]


@dataclass
class AgentOut:
    id: int
    name: str
    email: str


@dataclass
class AttachmentOut:
    filename: str
    content_type: str
    size: int
    refused: str | None
    id: int | None = None  # None: refused, nothing to fetch (the ticket page links the others)


@dataclass
class MessageOut:
    id: int
    direction: str
    channel: str
    subject: str | None
    text: str
    created_at: datetime
    attachments: list[AttachmentOut] = field(default_factory=list)


@dataclass
class EventOut:
    id: int
    kind: str
    at: datetime
    actor_type: str
    actor_id: int | None
    reason: str | None
    data: dict[str, Any]


@dataclass
class TicketOut:
    reference: str
    status: str
    priority: str
    category: str | None
    subject: str
    origin_channel: str
    reply_channel: str
    language: str | None
    created_at: datetime
    updated_at: datetime
    citizen: CitizenOut
    assignee: AgentOut | None
    messages: list[MessageOut] = field(default_factory=list)
    timeline: list[EventOut] = field(default_factory=list)


async def ticket_for_agent(session: AsyncSession, reference: str, agent: Agent) -> TicketOut:
    """Read a ticket and record that this agent read it."""
    ticket = await tickets.find_by_reference(session, reference)
    citizen = await session.get(Citizen, ticket.citizen_id)
    assignee = await session.get(Agent, ticket.assignee_id) if ticket.assignee_id else None
    category = await session.get(Category, ticket.category_id) if ticket.category_id else None
    session.add(AccessRecord(agent_id=agent.id, action="read", subject_type="ticket", subject_id=ticket.id))
    messages = await tickets.messages(session, ticket.id)
    files = await attachments_by_message(session, [m.id for m in messages])
    return TicketOut(
        reference=ticket.reference, status=ticket.status, priority=ticket.priority,
        category=category.slug if category else None, subject=ticket.subject,
        origin_channel=ticket.origin_channel, reply_channel=ticket.reply_channel,
        language=ticket.language, created_at=ticket.created_at, updated_at=ticket.updated_at,
        citizen=CitizenOut(
            id=citizen.id, full_name=citizen.full_name, language=citizen.language,
            contact_points=await _contact_points_out(session, citizen.id),
        ),
        assignee=AgentOut(assignee.id, assignee.name, assignee.email) if assignee else None,
        messages=[MessageOut(m.id, m.direction, m.channel, m.subject, m.text, m.created_at,
                             [AttachmentOut(a.filename, a.content_type, a.size, a.refused,
                                            a.id if a.sha256 else None)
                              for a in files.get(m.id, [])])
                  for m in messages],
        timeline=[EventOut(e.id, e.kind, e.created_at, e.actor_type, e.actor_id, e.reason, e.data)
                  for e in await tickets.timeline(session, ticket.id)],
    )


async def _contact_points_out(session: AsyncSession, citizen_id: int) -> list[ContactPointOut]:
    points = await contact_points(session, citizen_id)
    phones = [c.value for c in points if c.kind == "phone"]
    stopped = await opted_out(session, "sms", phones) if phones else set()
    return [ContactPointOut(c.kind, c.value, c.verified, c.kind == "phone" and c.value in stopped)
            for c in points]
