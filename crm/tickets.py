"""Tickets and their timeline: every change here writes a TicketEvent."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.columns import utcnow
from crm.errors import InvalidInput, NotFound
from crm.models import (
    OPEN_STATUSES,
    EventKind,
    Message,
    Priority,
    Ticket,
    TicketEvent,
    TicketSequence,
    TicketStatus,
)
from crm.reply_address import new_token
from crm.types import Direction, InboundMessage

REFERENCE_PREFIX = "GRU"


def format_reference(year: int, number: int) -> str:
    return f"{REFERENCE_PREFIX}-{year}-{number:06d}"


async def reserve_reference(session: AsyncSession, now: datetime | None = None) -> str:
    """Take the next public reference of the year; concurrent callers never get the same one."""
    return (await reserve_references(session, 1, now))[0]


async def reserve_references(session: AsyncSession, count: int, now: datetime | None = None) -> list[str]:
    """The next `count` references of the year, in order, by one statement (a batch of new
    tickets); concurrent callers never get the same one."""
    year = (now or utcnow()).year
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(TicketSequence)
        .values(year=year, last_value=count)
        .on_conflict_do_update(
            index_elements=["year"], set_={"last_value": TicketSequence.last_value + count}
        )
        .returning(TicketSequence.last_value)
    )
    last = (await session.exec(statement)).scalar_one()  # type: ignore[call-overload]
    return [format_reference(year, number) for number in range(last - count + 1, last + 1)]


async def record_event(
    session: AsyncSession,
    ticket_id: int,
    kind: EventKind,
    *,
    reason: str | None = None,
    actor_type: str = "system",
    actor_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    event = TicketEvent(
        ticket_id=ticket_id,
        kind=kind.value,
        reason=reason,
        actor_type=actor_type,
        actor_id=actor_id,
        data=data or {},
    )
    deferred = session.info.get(DEFERRED_EVENTS)
    if deferred is None:  # not flushed here: events go out with the next flush
        session.add(event)
    else:
        deferred.append(event)
    return event


DEFERRED_EVENTS = "crm.tickets.deferred_events"


def defer_events(session: AsyncSession) -> list[TicketEvent]:
    """From now on, timeline events recorded in this session wait in the returned list instead
    of going out with the next flush: the caller adds them (write_events), all in one INSERT,
    or drops them with the work they describe. Nothing in the transaction may need their ids
    meanwhile (a status change, which does, writes the waiting ones and itself at once)."""
    deferred: list[TicketEvent] = []
    session.info[DEFERRED_EVENTS] = deferred
    return deferred


def write_events(session: AsyncSession, events: list[TicketEvent]) -> None:
    """Stop deferring, and add these events (in their order: ids follow it) to the session."""
    session.info.pop(DEFERRED_EVENTS, None)
    session.add_all(events)


async def latest_event(session: AsyncSession, ticket_id: int) -> TicketEvent | None:
    """The ticket's last timeline event, deferred ones included."""
    for event in reversed(session.info.get(DEFERRED_EVENTS) or []):
        if event.ticket_id == ticket_id:
            return event
    return (await session.exec(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
        .order_by(col(TicketEvent.id).desc()).limit(1))).first()


def _write_deferred(session: AsyncSession) -> None:
    deferred = session.info.get(DEFERRED_EVENTS)
    if deferred:
        session.add_all(deferred)
        deferred.clear()


async def open_ticket(
    session: AsyncSession,
    *,
    citizen_id: int,
    origin: InboundMessage,
    category_id: int | None,
    priority: str,
    language: str | None,
    reference: str | None = None,
    reason: str,
    related_ticket_id: int | None = None,
) -> Ticket:
    ticket = Ticket(
        reference=reference or await reserve_reference(session),
        citizen_id=citizen_id,
        category_id=category_id,
        subject=ticket_subject(origin),
        priority=priority,
        origin_channel=origin.channel.value,
        reply_channel=(origin.reply_channel or origin.channel).value,
        language=language,
        reply_token=new_token(),
    )
    session.add(ticket)
    await session.flush()
    inspect(ticket).info[OPENED_IN] = session.sync_session.get_transaction()
    await record_event(session, ticket.id, EventKind.CREATED, reason=reason, **_logged_by(origin),
                       data=created_data(origin, category_id, related_ticket_id))
    return ticket


def created_data(origin: InboundMessage, category_id: int | None, related_ticket_id: int | None = None) -> dict:
    return {"channel": origin.channel.value, "category_id": category_id,
            **({"related_ticket_id": related_ticket_id} if related_ticket_id else {})}


OPENED_IN = "crm.tickets.opened_in"


def ticket_subject(origin: InboundMessage) -> str:
    """A new ticket's subject: the message's, else its first line."""
    return (origin.subject or origin.text.strip().split("\n", 1)[0])[:300]


async def insert_rows(session: AsyncSession, table: Any, rows: list[dict[str, Any]], *,
                      returning: bool = True) -> list[int]:
    """Many rows of one table by one multi-row INSERT (Core: no ORM object is built), their ids
    in the order of `rows`. Column defaults apply as for the ORM; JSON columns without one must
    be given. For a batch of new requests, where each row would otherwise be its own INSERT."""
    if not rows:
        return []
    if not returning:
        await session.execute(table.insert(), rows)
        return []
    result = await session.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows)
    return list(result.scalars().all())


def event_row(ticket_id: int, kind: EventKind, *, reason: str | None = None, actor_type: str = "system",
              actor_id: int | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """A timeline event as a row for insert_rows: what record_event writes."""
    return {"ticket_id": ticket_id, "kind": kind.value, "reason": reason, "actor_type": actor_type,
            "actor_id": actor_id, "data": data or {}}


def _touch(session: AsyncSession, ticket: Ticket) -> None:
    """Its latest activity is now. A ticket opened in this transaction is as fresh as it gets:
    no UPDATE for microseconds (the first message and its acknowledgement would write two)."""
    if inspect(ticket).info.get(OPENED_IN) is not session.sync_session.get_transaction():
        ticket.updated_at = utcnow()


def _logged_by(message: InboundMessage) -> dict[str, Any]:
    """An agent typed this message in (the front desk): they are the actor on the timeline."""
    agent_id = message.metadata.get("logged_by")
    return {"actor_type": "agent", "actor_id": int(agent_id)} if agent_id else {}


async def latest_open_ticket(session: AsyncSession, citizen_id: int, channel: str) -> Ticket | None:
    return (
        await session.exec(
            select(Ticket)
            .where(
                Ticket.citizen_id == citizen_id,
                Ticket.origin_channel == channel,
                col(Ticket.status).in_([s.value for s in OPEN_STATUSES]),
            )
            .order_by(col(Ticket.updated_at).desc(), col(Ticket.id).desc())
            .limit(1)
        )
    ).first()


async def open_tickets_of(session: AsyncSession, citizen_id: int) -> list[Ticket]:
    """The citizen's open tickets, the most recently active first."""
    return list((await session.exec(
        select(Ticket)
        .where(Ticket.citizen_id == citizen_id, col(Ticket.status).in_([s.value for s in OPEN_STATUSES]))
        .order_by(col(Ticket.updated_at).desc(), col(Ticket.id).desc())
    )).all())


async def last_outbound_to(session: AsyncSession, citizen_id: int, channel: str, address: str,
                           *, look_back: int = 20) -> Message | None:
    """Our latest message to this citizen on this channel at this address (meta["to"])."""
    recent = (await session.exec(
        select(Message)
        .where(Message.citizen_id == citizen_id, Message.channel == channel,
               Message.direction == Direction.OUT.value)
        .order_by(col(Message.id).desc()).limit(look_back)
    )).all()
    return next((m for m in recent if m.meta.get("to") == address), None)


async def add_inbound_message(
    session: AsyncSession, ticket: Ticket, citizen_id: int, message: InboundMessage, reason: str,
    alternatives: tuple[int, ...] = (), *, meta: dict[str, Any] | None = None,
    awaiting_acknowledgement: bool = False,
) -> Message:
    """`meta`: what the caller adds to the message's metadata (in the same INSERT, not an UPDATE after)."""
    row = Message(**inbound_message_fields(ticket.id, citizen_id, message, meta, awaiting_acknowledgement))
    session.add(row)
    _touch(session, ticket)
    await session.flush()
    await record_event(session, ticket.id, EventKind.MESSAGE_IN, reason=reason,
                       **(_logged_by(message) or {"actor_type": "citizen", "actor_id": citizen_id}),
                       data=message_in_data(row.id, row.channel, citizen_id, alternatives))
    return row


def inbound_message_fields(ticket_id: int, citizen_id: int, message: InboundMessage, meta: dict[str, Any] | None,
                           awaiting_acknowledgement: bool) -> dict[str, Any]:
    """The columns of a citizen's message as stored (an ORM Message's fields, or a row for insert_rows)."""
    return {"ticket_id": ticket_id, "citizen_id": citizen_id, "direction": Direction.IN.value,
            "channel": message.channel.value, "external_id": message.external_id, "subject": message.subject,
            "text": message.text, "meta": {**message.metadata, **(meta or {})},
            "rfc_message_id": message.metadata.get("message_id"), "awaiting_acknowledgement": awaiting_acknowledgement}


def message_in_data(message_id: int, channel: str, citizen_id: int, alternatives: tuple[int, ...] = ()) -> dict:
    return {"message_id": message_id, "channel": channel, "citizen_id": citizen_id,
            **({"which_request": list(alternatives)} if alternatives else {})}


async def add_outbound_message(
    session: AsyncSession,
    ticket: Ticket,
    *,
    channel: str,
    text: str,
    subject: str | None,
    meta: dict[str, Any],
    reason: str,
    rfc_message_id: str | None = None,
    actor_type: str = "system",
    actor_id: int | None = None,
) -> Message:
    row = Message(
        ticket_id=ticket.id,
        citizen_id=ticket.citizen_id,
        direction=Direction.OUT.value,
        channel=channel,
        subject=subject,
        text=text,
        meta=meta,
        rfc_message_id=rfc_message_id,
    )
    session.add(row)
    _touch(session, ticket)
    await session.flush()
    await record_event(session, ticket.id, EventKind.MESSAGE_OUT, reason=reason, actor_type=actor_type,
                       actor_id=actor_id, data={"message_id": row.id, "channel": channel, **meta})
    return row


async def set_assignee(
    session: AsyncSession, ticket: Ticket, agent_id: int | None, *, reason: str, data: dict[str, Any],
    actor_type: str = "system", actor_id: int | None = None, kind: EventKind | None = None,
) -> None:
    """Give the ticket to an agent (None: back to its queue); the timeline says who and why."""
    previous = ticket.assignee_id
    ticket.assignee_id = agent_id
    ticket.updated_at = utcnow()
    if agent_id is not None:
        ticket.assigned_at = ticket.updated_at
    if ticket.status == TicketStatus.NEW.value and agent_id is not None:
        ticket.status = TicketStatus.OPEN.value
    await session.flush()
    kind = kind or (EventKind.ASSIGNED if previous is None and actor_type == "system" else EventKind.MOVED)
    await record_event(session, ticket.id, kind, reason=reason, actor_type=actor_type, actor_id=actor_id,
                       data={"agent_id": agent_id, "from_agent_id": previous, **data})


async def set_priority(session: AsyncSession, ticket: Ticket, priority: str, *, reason: str,
                       actor_type: str = "system", actor_id: int | None = None) -> None:
    if priority not in {p.value for p in Priority}:
        raise InvalidInput(f"unknown priority {priority!r}")
    if ticket.priority == priority:
        return
    before, ticket.priority, ticket.updated_at = ticket.priority, priority, utcnow()
    await session.flush()
    await record_event(session, ticket.id, EventKind.PRIORITY_CHANGED, reason=reason, actor_type=actor_type,
                       actor_id=actor_id, data={"from": before, "to": priority})


async def get_ticket(session: AsyncSession, ticket_id: int, *, for_update: bool = False) -> Ticket:
    statement = select(Ticket).where(Ticket.id == ticket_id)
    if for_update:  # and refreshed: the identity map may hold an older copy
        statement = statement.with_for_update().execution_options(populate_existing=True)
    ticket = (await session.exec(statement)).first()
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id}")
    return ticket


async def find_by_reference(session: AsyncSession, reference: str) -> Ticket:
    ticket = (
        await session.exec(select(Ticket).where(Ticket.reference == reference.strip().upper()))
    ).first()
    if ticket is None:
        raise NotFound("no ticket with this reference")
    return ticket


async def timeline(session: AsyncSession, ticket_id: int) -> list[TicketEvent]:
    return list(
        (
            await session.exec(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id)
                .order_by(col(TicketEvent.created_at), col(TicketEvent.id))
            )
        ).all()
    )


async def messages(session: AsyncSession, ticket_id: int) -> list[Message]:
    return list(
        (
            await session.exec(
                select(Message).where(Message.ticket_id == ticket_id).order_by(col(Message.id))
            )
        ).all()
    )


async def unassigned_open_ticket_ids(session: AsyncSession, limit: int = 500) -> list[int]:
    return list(
        (
            await session.exec(
                select(Ticket.id)
                .where(
                    col(Ticket.assignee_id).is_(None),
                    col(Ticket.status).in_([s.value for s in OPEN_STATUSES]),
                )
                .order_by(col(Ticket.id))
                .limit(limit)
            )
        ).all()
    )




async def unacknowledged_message_ids(
    session: AsyncSession, *, older_than: timedelta, limit: int = 500
) -> list[tuple[int, int]]:
    """(ticket id, message id) of opening messages still waiting for their acknowledgement."""
    cutoff = utcnow() - older_than
    return [
        (ticket_id, message_id)
        for ticket_id, message_id in (
            await session.exec(
                select(Message.ticket_id, Message.id)
                .where(Message.awaiting_acknowledgement, col(Message.created_at) <= cutoff)
                .order_by(col(Message.id))
                .limit(limit)
            )
        ).all()
    ]


def mark_acknowledged(message: Message) -> None:
    """The acknowledgement is queued, or a note on the ticket says why there is none."""
    message.awaiting_acknowledgement = False


async def ticket_by_rfc_message_ids(session: AsyncSession, message_ids: list[str]) -> Ticket | None:
    """The ticket one of these Message-IDs (In-Reply-To first, then References, newest first)
    belongs to: how a mail client's reply finds its request."""
    for message_id in message_ids:
        ticket = (
            await session.exec(
                select(Ticket).join(Message, Message.ticket_id == Ticket.id)
                .where(Message.rfc_message_id == message_id).limit(1)
            )
        ).first()
        if ticket is not None:
            return ticket
    return None


async def rfc_message_id_of(session: AsyncSession, message_id: int) -> str | None:
    message = await session.get(Message, message_id)
    return message.rfc_message_id if message else None


async def find_inbound_message(session: AsyncSession, channel: str, external_id: str) -> Message | None:
    return (
        await session.exec(
            select(Message).where(Message.channel == channel, Message.direction == Direction.IN.value,
                                  Message.external_id == external_id)
        )
    ).first()


CLOSED_STATUSES = (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value)


async def set_status(
    session: AsyncSession, ticket: Ticket, status: TicketStatus, *, reason: str,
    actor_type: str = "system", actor_id: int | None = None, data: dict[str, Any] | None = None,
) -> TicketEvent | None:
    """The change's event (flushed: its id is what notifications are keyed by); None: no change."""
    previous = ticket.status
    if previous == status.value:
        return None
    ticket.status = status.value
    ticket.updated_at = utcnow()
    ticket.closed_at = ticket.updated_at if status.value in CLOSED_STATUSES else None
    event = await record_event(session, ticket.id, EventKind.STATUS_CHANGED, reason=reason,
                               actor_type=actor_type, actor_id=actor_id,
                               data={"from": previous, "to": status.value, **(data or {})})
    _write_deferred(session)  # its id is needed now, and ids follow the timeline's order
    session.add(event)
    await session.flush()
    return event


async def latest_status_event(session: AsyncSession, ticket_id: int) -> TicketEvent | None:
    """The ticket's last status change: a notification for an older one is out of date."""
    return (await session.exec(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id,
                                  TicketEvent.kind == EventKind.STATUS_CHANGED.value)
        .order_by(col(TicketEvent.id).desc()).limit(1)
    )).first()


async def resolve_at_desk(session: AsyncSession, ticket: Ticket, agent_id: int) -> None:
    """Resolved on the spot: the agent who logged it answered it, so it is theirs and done. Not
    routed: nobody else has anything to do, and a resolved ticket takes no one's capacity."""
    await set_assignee(session, ticket, agent_id, reason="resolved on the spot by the agent who logged it",
                       data={"resolved_on_the_spot": True}, actor_type="agent", actor_id=agent_id,
                       kind=EventKind.ASSIGNED)
    await set_status(session, ticket, TicketStatus.RESOLVED, reason="resolved on the spot",
                     actor_type="agent", actor_id=agent_id, data={"resolved_on_the_spot": True})


async def add_note(session: AsyncSession, ticket: Ticket, text: str, *, agent_id: int) -> TicketEvent:
    """An agent's internal note (never shown to the citizen)."""
    text = text.strip()
    if not text:
        raise InvalidInput("the note is empty", fields={"note": "required"})
    ticket.updated_at = utcnow()
    return await record_event(session, ticket.id, EventKind.NOTE, reason=text[:4000], actor_type="agent",
                              actor_id=agent_id, data={"internal": True})


async def ticket_version(session: AsyncSession, ticket_id: int) -> str:
    """Changes whenever something happens on the ticket (every change writes an event)."""
    latest_event = (await session.exec(select(func.max(TicketEvent.id)).where(TicketEvent.ticket_id == ticket_id))).one()
    latest_message = (await session.exec(select(func.max(Message.id)).where(Message.ticket_id == ticket_id))).one()
    return f"{latest_event}/{latest_message}"
