"""Citizens, for authenticated agents: search-as-you-type, the record, the one history.

Every agent role may read these (the front desk needs them as much as the back office); each
read leaves an AccessRecord."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any

from litestar import get
from litestar.di import Provide
from litestar.params import Parameter, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import provide_agent
from app.settings import Settings
from crm import search, timeline
from crm.citizen_record import citizen_record
from routing.models import Agent


@dataclass
class CitizenHitOut:
    id: int
    full_name: str
    contact_points: list[str]  # masked: "n…@example.org", "+33 6 •• •• •• 78"
    matched: str  # why: "phone", "email", "national id", "reference GRU-2026-000042", "name 91%"
    score: int  # 0-100


@dataclass
class CitizenSearchOut:
    results: list[CitizenHitOut]


@get("/api/v1/citizens/search", tags=["citizens"], dependencies={"agent": Provide(provide_agent)},
     summary="Find a citizen by name, phone, email, national id or ticket reference (as you type)",
     security=[{"BearerToken": []}])
async def search_citizens(
    agent: Agent, db_session: AsyncSession, settings: Settings,
    q: str = Parameter(default="", description="at least 2 characters; never logged nor stored"),
    limit: int = Parameter(default=10, ge=1, le=search.MAX_LIMIT),
) -> CitizenSearchOut:
    hits = await search.search_citizens(db_session, q, default_region=settings.default_region,
                                        limit=limit, agent_id=agent.id)
    await db_session.commit()
    return CitizenSearchOut([CitizenHitOut(h.citizen_id, h.full_name, h.contact_points, h.matched, h.score)
                             for h in hits])


@dataclass
class ContactPointOut:
    kind: str
    value: str  # normalised: lower-case email, E.164 phone
    raw_value: str  # as the citizen typed it
    verified: bool
    created_at: datetime
    opted_out: bool = False  # an SMS STOP from this phone: no SMS is sent to it until START


@dataclass
class TicketSummaryOut:
    reference: str
    status: str
    channel: str  # where it came in
    subject: str
    created_at: datetime


@dataclass
class CitizenRecordOut:
    id: int  # the survivor's when `followed_merge`
    requested_id: int
    followed_merge: bool
    full_name: str
    first_name: str | None
    last_name: str | None
    birth_date: date | None
    address: str | None
    postcode: str | None
    city: str | None
    language: str | None
    external_id: str | None
    created_at: datetime
    alternates: list[dict[str, Any]]  # values kept from merges: {"field", "value", "from_citizen_id"}
    merged_ids: list[int]  # citizens merged into this one
    contact_points: list[ContactPointOut]
    tickets: list[TicketSummaryOut]  # open ones and the most recent others, newest first


@dataclass
class ActorOut:
    type: str  # citizen, agent, system
    id: int | None


@dataclass
class TimelineEntryOut:
    type: str  # message, ticket_event, citizen_event
    id: int  # of the row in its source
    at: datetime
    kind: str  # message_in, message_out, or the event's kind
    actor: ActorOut
    text: str | None  # the message's text, the event's reason
    channel: str | None
    direction: str | None  # in, out: messages only
    ticket_reference: str | None
    subject: str | None
    citizen_id: int  # the survivor, or the citizen merged into it who holds this row
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class TimelineOut:
    citizen_id: int  # the survivor when a merged citizen was asked for
    requested_id: int
    entries: list[TimelineEntryOut]
    next: str | None  # give it back as `before` for the next page; null on the last


@get("/api/v1/citizens/{citizen_id:int}", tags=["citizens"], dependencies={"agent": Provide(provide_agent)},
     summary="A citizen's record with every contact point and its verification, open and recent tickets; "
             "a merged citizen's id gives the survivor's record (requested_id, followed_merge: true)",
     security=[{"BearerToken": []}])
async def get_citizen_record(citizen_id: int, agent: Agent, db_session: AsyncSession) -> CitizenRecordOut:
    record = await citizen_record(db_session, citizen_id, agent_id=agent.id)
    await db_session.commit()
    c = record.citizen
    return CitizenRecordOut(
        id=c.id, requested_id=record.requested_id, followed_merge=record.followed_merge,
        full_name=c.full_name, first_name=c.first_name, last_name=c.last_name, birth_date=c.birth_date,
        address=c.address, postcode=c.postcode, city=c.city, language=c.language, external_id=c.external_id,
        created_at=c.created_at, alternates=c.alternates, merged_ids=record.merged_ids,
        contact_points=[ContactPointOut(p.kind, p.value, p.raw_value, p.verified, p.created_at,
                                        p.kind == "phone" and p.value in record.sms_stopped)
                        for p in record.contact_points],
        tickets=[TicketSummaryOut(t.reference, t.status, t.origin_channel, t.subject, t.created_at)
                 for t in record.tickets],
    )


@get("/api/v1/citizens/{citizen_id:int}/timeline", tags=["citizens"],
     dependencies={"agent": Provide(provide_agent)},
     summary="Every message, ticket event and citizen event of a citizen, all channels, newest first, "
             "by pages (give `next` back as `before`); a merged citizen's id gives the survivor's",
     security=[{"BearerToken": []}])
async def get_citizen_timeline(
    citizen_id: int, agent: Agent, db_session: AsyncSession,
    limit: int = Parameter(default=timeline.DEFAULT_LIMIT, ge=1, le=timeline.MAX_LIMIT),
    before: str | None = Parameter(default=None, max_length=200,
                                   description="the `next` of the previous page"),
    types: Annotated[str | None, QueryParameter(
        name="type", description="comma-separated: message, ticket_event, citizen_event (default: all)")] = None,
) -> TimelineOut:
    cursor = timeline.decode_cursor(before) if before is not None else None
    page = await timeline.citizen_timeline(db_session, citizen_id, limit=limit, before=cursor,
                                           types=timeline.parse_types(types), agent_id=agent.id)
    await db_session.commit()
    return TimelineOut(page.citizen_id, page.requested_id, [
        TimelineEntryOut(e.type, e.id, e.at, e.kind, ActorOut(e.actor_type, e.actor_id), e.text, e.channel,
                         e.direction, e.ticket_reference, e.subject, e.citizen_id, e.data)
        for e in page.entries], page.next)
