"""One history: a citizen's messages (in and out, every channel), their tickets' events and their
own events (merges, identity decisions), newest first, in pages that meet exactly.

Order and pages. Every entry has a key (created_at, source rank, id); the timeline is sorted by
it, descending, so equal timestamps are ordered by source then id and the order is total. A page
runs the same keyset condition "key < cursor" on the three sources, each ordered and limited to
limit + 1, and keeps the first `limit` of their merge: no entry is missed or shown twice across
pages, however many share a timestamp. The cursor is that key, opaque to clients.

Cost. Each source is read through the index on its citizen (or ticket) column, so a page costs
that citizen's rows in the source, never the whole table:
  - messages: ix_message_citizen_id;
  - ticket events: ix_ticket_citizen_id, then ix_ticket_event_ticket_id per ticket;
  - citizen events: ix_citizen_event_citizen_id.
The rows of the range are sorted for the top limit + 1. Composite indexes (citizen_id,
created_at, id) on message and citizen_event and (ticket_id, created_at, id) on ticket_event
would make a page an index range of limit + 1 rows instead (not added: no migration here).

Ticket events MESSAGE_IN and MESSAGE_OUT are left out: they say "a message came / went", which
the message entry itself says, with its text, channel, direction and ticket reference.

A tombstone's id gives the survivor's timeline; the survivor's timeline includes the rows still
held by citizens merged into it, so the history is whole whichever rows a merge moved.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, true
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.citizen_record import merged_citizen_ids
from crm.errors import InvalidInput
from crm.identity import get_citizen
from crm.models import AccessRecord, CitizenEvent, EventKind, Message, Ticket, TicketEvent

MESSAGE, TICKET_EVENT, CITIZEN_EVENT = "message", "ticket_event", "citizen_event"
TYPES = (MESSAGE, TICKET_EVENT, CITIZEN_EVENT)
# Among entries of one timestamp: messages first, then ticket events, then citizen events.
RANKS = {CITIZEN_EVENT: 0, TICKET_EVENT: 1, MESSAGE: 2}
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
# Shown as the message entries themselves.
MESSAGE_EVENT_KINDS = (EventKind.MESSAGE_IN.value, EventKind.MESSAGE_OUT.value)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
MAX_ROW_ID = 2**31 - 1  # INTEGER keys: a bigger id would fail in PostgreSQL, not select nothing
_CURSOR_TEXT = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CURSOR_KEY = re.compile(r"1\.(\d{1,18})\.([0-2])\.(\d{1,10})")


@dataclass(frozen=True, order=True)
class Cursor:
    """The key of the last entry of a page; the next page starts below it."""

    at: datetime
    rank: int
    id: int


def encode_cursor(cursor: Cursor) -> str:
    """URL-safe and opaque: "1.<microseconds since 1970>.<rank>.<id>" in base64url (version 1)."""
    micros = (cursor.at - EPOCH) // MICROSECOND
    return base64.urlsafe_b64encode(f"1.{micros}.{cursor.rank}.{cursor.id}".encode()).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """The cursor `encode_cursor` wrote; anything else (forged, truncated, from another version)
    is InvalidInput, never a server error."""
    invalid = InvalidInput("this cursor is not one we gave: start again without `before`",
                           fields={"before": "malformed cursor"})
    if not _CURSOR_TEXT.fullmatch(text):
        raise invalid
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid from None
    match = _CURSOR_KEY.fullmatch(key)
    if match is None or int(match[3]) > MAX_ROW_ID:
        raise invalid
    try:
        at = EPOCH + int(match[1]) * MICROSECOND
    except OverflowError:
        raise invalid from None
    return Cursor(at, int(match[2]), int(match[3]))


def parse_types(text: str | None) -> tuple[str, ...]:
    """"message,citizen_event" -> the sources to read; empty or None: all of them."""
    asked = tuple(dict.fromkeys(t.strip() for t in (text or "").split(",") if t.strip()))
    unknown = [t for t in asked if t not in TYPES]
    if unknown:
        raise InvalidInput(f"unknown entry type {unknown[0]!r}",
                           fields={"type": f"expected a comma-separated list of {', '.join(TYPES)}"})
    return asked or TYPES


@dataclass(frozen=True)
class Entry:
    type: str  # message, ticket_event, citizen_event
    id: int  # of the row in its source (message.id, ticket_event.id, citizen_event.id)
    at: datetime
    citizen_id: int  # whose row it is: the survivor, or a citizen merged into it
    kind: str  # message_in / message_out, or the event's kind
    actor_type: str  # citizen, agent, system
    actor_id: int | None
    text: str | None  # the message's text, the event's reason
    channel: str | None = None
    direction: str | None = None  # in, out (messages)
    ticket_reference: str | None = None
    subject: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.at, RANKS[self.type], self.id)


@dataclass(frozen=True)
class Timeline:
    citizen_id: int  # the survivor when a tombstone was asked for
    requested_id: int
    entries: list[Entry]
    next: str | None  # the cursor of the next page, None on the last


async def citizen_timeline(
    session: AsyncSession, citizen_id: int, *, limit: int = DEFAULT_LIMIT, before: Cursor | None = None,
    types: tuple[str, ...] = TYPES, agent_id: int | None,
) -> Timeline:
    """A page of the citizen's history, newest first, and an AccessRecord ("view_timeline")."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be 1 to {MAX_LIMIT}", fields={"limit": f"1 to {MAX_LIMIT}"})
    citizen = await get_citizen(session, citizen_id)
    history = [citizen.id, *await merged_citizen_ids(session, citizen.id)]
    session.add(AccessRecord(agent_id=agent_id, action="view_timeline", subject_type="citizen",
                             subject_id=citizen.id))
    readers = {MESSAGE: _messages, TICKET_EVENT: _ticket_events, CITIZEN_EVENT: _citizen_events}
    found: list[Entry] = []
    for kind in types:
        found.extend(await readers[kind](session, history, before, limit + 1))
    found.sort(key=lambda e: e.cursor, reverse=True)
    page = found[:limit]
    more = len(found) > limit
    return Timeline(citizen_id=citizen.id, requested_id=citizen_id, entries=page,
                    next=encode_cursor(page[-1].cursor) if more else None)


def _below(cursor: Cursor | None, rank: int, created_at, row_id):
    """The keyset condition "(created_at, rank, id) < cursor" for a source of one rank: within a
    timestamp, a lower-ranked source comes wholly after a higher-ranked one."""
    if cursor is None:
        return true()
    if rank < cursor.rank:
        return created_at <= cursor.at
    if rank > cursor.rank:
        return created_at < cursor.at
    return or_(created_at < cursor.at, and_(created_at == cursor.at, row_id < cursor.id))


async def _messages(session: AsyncSession, citizen_ids: list[int], before: Cursor | None,
                    count: int) -> list[Entry]:
    rows = (await session.exec(
        select(Message, Ticket.reference).join(Ticket, col(Ticket.id) == Message.ticket_id)
        .where(col(Message.citizen_id).in_(citizen_ids),
               _below(before, RANKS[MESSAGE], col(Message.created_at), col(Message.id)))
        .order_by(col(Message.created_at).desc(), col(Message.id).desc()).limit(count)
    )).all()
    return [Entry(type=MESSAGE, id=m.id, at=m.created_at, citizen_id=m.citizen_id,
                  kind=f"message_{m.direction}", **_message_author(m), text=m.text, channel=m.channel,
                  direction=m.direction, ticket_reference=reference, subject=m.subject)
            for m, reference in rows]


def _message_author(message: Message) -> dict[str, Any]:
    """Inbound: the citizen, or the agent who typed it in at the front desk; outbound: us."""
    if message.direction == "out":
        return {"actor_type": "system", "actor_id": None}
    if message.meta.get("logged_by"):
        return {"actor_type": "agent", "actor_id": int(message.meta["logged_by"])}
    return {"actor_type": "citizen", "actor_id": message.citizen_id}


async def _ticket_events(session: AsyncSession, citizen_ids: list[int], before: Cursor | None,
                         count: int) -> list[Entry]:
    rows = (await session.exec(
        select(TicketEvent, Ticket.reference, Ticket.citizen_id)
        .join(Ticket, col(Ticket.id) == TicketEvent.ticket_id)
        .where(col(Ticket.citizen_id).in_(citizen_ids), col(TicketEvent.kind).not_in(MESSAGE_EVENT_KINDS),
               _below(before, RANKS[TICKET_EVENT], col(TicketEvent.created_at), col(TicketEvent.id)))
        .order_by(col(TicketEvent.created_at).desc(), col(TicketEvent.id).desc()).limit(count)
    )).all()
    return [Entry(type=TICKET_EVENT, id=e.id, at=e.created_at, citizen_id=owner, kind=e.kind,
                  actor_type=e.actor_type, actor_id=e.actor_id, text=e.reason, channel=e.data.get("channel"),
                  ticket_reference=reference, data=e.data)
            for e, reference, owner in rows]


async def _citizen_events(session: AsyncSession, citizen_ids: list[int], before: Cursor | None,
                          count: int) -> list[Entry]:
    rows = (await session.exec(
        select(CitizenEvent)
        .where(col(CitizenEvent.citizen_id).in_(citizen_ids),
               _below(before, RANKS[CITIZEN_EVENT], col(CitizenEvent.created_at), col(CitizenEvent.id)))
        .order_by(col(CitizenEvent.created_at).desc(), col(CitizenEvent.id).desc()).limit(count)
    )).all()
    return [Entry(type=CITIZEN_EVENT, id=e.id, at=e.created_at, citizen_id=e.citizen_id, kind=e.kind,
                  actor_type=e.actor_type, actor_id=e.actor_id, text=e.reason, data=e.data)
            for e in rows]
