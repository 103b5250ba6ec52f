"""Where a request stands, as its citizen may see it: plain-language steps with dates and the
official answers sent to them — no agent's name, no note, no other personal data.

The citizen proves the request is theirs with the last four digits of a phone number on their
record, or with the tracking code printed on the receipt (and shown after the web form): an
HMAC of the reference, so nothing needs storing and every request has one, phone or not. A
postcode was not chosen: a small town has one, anybody knows it."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.errors import NotFound
from crm.identity import contact_points
from crm.models import AccessRecord, Citizen, ContactKind, EventKind, Message, Ticket, TicketEvent, TicketStatus
from crm.tickets import find_by_reference, timeline
from crm.types import Direction
from routing.categories import localised_name
from routing.models import Category

CODE_LENGTH = 8
_REFERENCE = re.compile(r"^GRU-\d{4}-\d{6}$")


@dataclass(frozen=True)
class Step:
    kind: str  # received, assigned, message_in, answered, waiting, in_progress, resolved, closed
    at: datetime


@dataclass(frozen=True)
class Answer:
    at: datetime
    channel: str
    subject: str | None
    text: str


@dataclass
class Tracking:
    reference: str
    status: str
    created_at: datetime
    service: str | None  # the category, in the visitor's language: who handles it
    steps: list[Step] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)


# --- pure --------------------------------------------------------------------------------------

def tracking_code(secret: str, reference: str) -> str:
    """The code printed on the receipt: 8 letters and digits, the same for a reference forever
    (as long as GUICHET_SECRET_KEY stays)."""
    digest = hmac.new(secret.encode(), reference.strip().upper().encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:CODE_LENGTH]


def display_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def verification_matches(given: str, *, phones: list[str], code: str) -> bool:
    """Four digits: the end of one of the phones; else the receipt's code (dash and case aside)."""
    cleaned = re.sub(r"[\s\-.]", "", given or "").upper()
    if re.fullmatch(r"\d{4}", cleaned):
        digits = [re.sub(r"\D", "", phone) for phone in phones]
        return any(len(d) >= 4 and hmac.compare_digest(d[-4:], cleaned) for d in digits)
    return len(cleaned) == CODE_LENGTH and hmac.compare_digest(cleaned, code)


def steps_from_events(events: list[TicketEvent]) -> list[Step]:
    """The ticket's timeline as the citizen understands it; repeats of a step collapse."""
    steps: list[Step] = []
    for event in events:
        kind = _step_kind(event)
        if kind and not (steps and steps[-1].kind == kind):
            steps.append(Step(kind, event.created_at))
    return steps


def _step_kind(event: TicketEvent) -> str | None:
    if event.kind == EventKind.CREATED.value:
        return "received"
    if event.kind in (EventKind.ASSIGNED.value, EventKind.MOVED.value) and event.data.get("agent_id"):
        return "assigned"
    if event.kind == EventKind.MESSAGE_IN.value:
        return "message_in"
    if event.kind == EventKind.MESSAGE_OUT.value:
        return "answered"
    if event.kind == EventKind.STATUS_CHANGED.value:
        to = event.data.get("to")
        return {TicketStatus.PENDING.value: "waiting", TicketStatus.RESOLVED.value: "resolved",
                TicketStatus.CLOSED.value: "closed", TicketStatus.OPEN.value: "in_progress"}.get(to)
    return None


def looks_like_reference(text: str) -> bool:
    return bool(_REFERENCE.match((text or "").strip().upper()))


# --- with the database -------------------------------------------------------------------------

async def _phones(session: AsyncSession, citizen_id: int) -> list[str]:
    ids = [citizen_id]
    citizen = await session.get(Citizen, citizen_id)
    if citizen is not None and citizen.merged_into_id:
        ids.append(citizen.merged_into_id)  # the survivor holds the merged record's contact points
    return [p.value for i in ids for p in await contact_points(session, i) if p.kind == ContactKind.PHONE.value]


async def tracking_of(session: AsyncSession, ticket: Ticket, language: str) -> Tracking:
    category = await session.get(Category, ticket.category_id) if ticket.category_id else None
    messages = (await session.exec(
        select(Message).where(Message.ticket_id == ticket.id, Message.direction == Direction.OUT.value)
        .order_by(Message.created_at, Message.id))).all()
    return Tracking(
        reference=ticket.reference, status=ticket.status, created_at=ticket.created_at,
        service=localised_name(category, language) if category else None,
        steps=steps_from_events(await timeline(session, ticket.id)),
        answers=[Answer(m.created_at, m.channel, m.subject, m.text) for m in messages])


async def track_request(session: AsyncSession, reference: str, verification: str, *, secret: str,
                        language: str) -> Tracking | None:
    """The request's tracking when the verification fits; None for an unknown reference and a
    wrong verification alike (a guesser learns nothing about which)."""
    if not looks_like_reference(reference):
        return None
    try:
        ticket = await find_by_reference(session, reference)
    except NotFound:
        return None
    if not verification_matches(verification, phones=await _phones(session, ticket.citizen_id),
                                code=tracking_code(secret, ticket.reference)):
        return None
    return await tracking_of(session, ticket, language)


async def look_up_request(session: AsyncSession, reference: str, *, agent_id: int, language: str) -> Tracking:
    """The same view for an agent at the desk answering "where is my request?" (recorded)."""
    ticket = await find_by_reference(session, reference)
    session.add(AccessRecord(agent_id=agent_id, action="lookup", subject_type="ticket", subject_id=ticket.id))
    return await tracking_of(session, ticket, language)
