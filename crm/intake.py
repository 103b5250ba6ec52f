"""From a parsed inbound message to a citizen, a ticket and a stored message."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from crm.attachments import AttachmentPolicy, store_attachments
from crm.duplicates import file_duplicate
from crm.identity import (
    NEW_CITIZEN,
    IdentityPolicy,
    KnownCitizen,
    citizen_person,
    identify_citizen,
    known_citizens,
    lock_keys_of,
    match_reason,
    matched_citizen,
    nobody_to_review,
    resolve_all,
    sender_identity,
    unknown_people,
)
from crm.identity_keys import TABLE as KEYS
from crm.identity_keys import identity_key_rows
from crm.language import detect_language
from crm.models import (
    AccessRecord,
    Citizen,
    CitizenNameToken,
    ContactPoint,
    EventKind,
    InboundEvent,
    Message,
    Ticket,
    TicketStatus,
)
from crm.normalise import normalise_address, normalise_email, normalise_phone
from crm.person import Person
from crm.reply_address import new_token
from crm.search import name_token_rows
from crm.threading import NO_THREAD, ThreadingPolicy, find_thread, surely_new_email
from crm.tickets import (
    add_inbound_message,
    created_data,
    event_row,
    inbound_message_fields,
    insert_rows,
    message_in_data,
    open_ticket,
    record_event,
    reserve_references,
    resolve_at_desk,
    set_status,
    ticket_subject,
)
from crm.types import Channel, InboundMessage


@dataclass(frozen=True)
class Ingested:
    ticket_id: int
    message_id: int
    citizen_id: int
    new_ticket: bool
    new_citizen: bool = False
    awaits_acknowledgement: bool = False


async def ingest_message(
    session: AsyncSession,
    event: InboundEvent,
    message: InboundMessage,
    *,
    category_id: int | None,
    priority: str,
    default_region: str,
    threading: ThreadingPolicy = ThreadingPolicy(),
    attachment_policy: AttachmentPolicy | None = None,
    acknowledged_here: bool = False,
) -> Ingested:
    """Identify the sender, thread onto an open ticket or open one, store the message.

    The caller has checked the event is still pending under a row lock, and
    the (channel, external id) uniqueness of messages makes a racing second
    run fail rather than double. `acknowledged_here`: the caller decides the acknowledgement
    in this transaction (Ingested.awaits_acknowledgement says whether one is due), so the
    message is stored as no longer awaiting one rather than updated a moment later.
    """
    language = message.metadata.get("language")
    who = await identify_citizen(session, message.sender, default_region=default_region,
                                 language=language, citizen_id=message.citizen_id,
                                 name_is_reliable=_name_is_reliable(message))
    for other_id, score, reasons in who.suspected_duplicates:  # the resolver was unsure: ask an agent
        await file_duplicate(session, who.citizen.id, other_id, score=score, reasons=list(reasons))
    sender_phone = _reply_address(message, default_region) if message.channel is Channel.SMS else None
    thread = await find_thread(session, message, who.citizen.id, policy=threading, sender_phone=sender_phone)
    ticket = thread.ticket
    new_ticket = ticket is None
    if ticket is None:
        ticket = await open_ticket(
            session,
            citizen_id=who.citizen.id,
            origin=message,
            category_id=category_id,
            priority=priority,
            # The citizen's language: what they chose, else their record, else what they wrote in.
            language=language or who.citizen.language or detect_language(message.text),
            reference=event.reference,
            reason=f"{thread.reason}; citizen: {who.reason}",
            related_ticket_id=thread.related_ticket_id,
        )
        how = FIRST_MESSAGE
    else:
        how = thread.reason
        if thread.reopen:
            await set_status(session, ticket, TicketStatus.OPEN,
                             reason="reopened: the citizen wrote again", actor_type="citizen",
                             actor_id=who.citizen.id)
    if message.metadata.get("forwarded_by"):
        how += f"; forwarded in by {message.metadata['forwarded_by']}, filed as the original sender's"
    # Auto-replies and bounces are kept on the ticket but never answered: no mail loops.
    awaits = new_ticket and not message.metadata.get("auto_reply")
    resolved_here = new_ticket and message.metadata.get("resolved_on_the_spot") and message.metadata.get("logged_by")
    stored = await add_inbound_message(session, ticket, who.citizen.id, message, how, thread.alternatives,
                                       meta={"reply_to": _reply_address(message, default_region)},
                                       awaiting_acknowledgement=awaits and not acknowledged_here)
    if message.attachments and attachment_policy is not None:
        await store_attachments(session, stored.id, message.attachments, attachment_policy)
    if message.metadata.get("logged_by"):  # an agent wrote into this citizen's record
        session.add(AccessRecord(agent_id=int(message.metadata["logged_by"]), action="log_contact",
                                 subject_type="citizen", subject_id=who.citizen.id))
    if resolved_here:
        await resolve_at_desk(session, ticket, int(message.metadata["logged_by"]))
        # The citizen has their answer: "we will handle it" would be wrong; the receipt says enough.
        stored.awaiting_acknowledgement = False
        await record_event(session, ticket.id, EventKind.NOTE,
                           reason="no acknowledgement sent: resolved on the spot")
    return Ingested(ticket.id, stored.id, who.citizen.id, new_ticket, new_citizen=who.created,
                    awaits_acknowledgement=bool(awaits and not resolved_here))


FIRST_MESSAGE = "first message of a new ticket"
# Metadata that takes a message off the set-based path: keywords, bounces and auto-replies, an
# agent's logging or forwarding, media to fetch. ingest_message (and its caller) handle those.
_SPECIAL = ("keyword", "bounce", "auto_reply", "logged_by", "resolved_on_the_spot", "media", "forwarded_by")


@dataclass
class NewRequest:
    """A message a batch takes in set-based (open_new_requests): the first of a new ticket, from a
    sender nobody is known as or from a citizen it needs not change (set_based_senders). Filled
    in as it goes: its citizen, ticket row, message id, events."""

    event_id: int
    message: InboundMessage
    keys: list[tuple[str, str, str]]  # the sender's identifiers: (kind, normalised value, as given)
    person: Person
    known: KnownCitizen | None = None  # the citizen the sender was matched to; None: a new citizen
    identified: str = NEW_CITIZEN  # why this citizen, as the ticket's timeline says it
    citizen_id: int = 0
    full_name: str = ""  # the citizen's, as stored
    ticket: dict[str, Any] = field(default_factory=dict)  # the ticket's row, its id once inserted
    message_id: int = 0
    reply_to: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)  # its timeline, in order (event_row)


def new_request(event: InboundEvent, message: InboundMessage, *, default_region: str,
                threading: ThreadingPolicy) -> NewRequest | None:
    """The message as a NewRequest when nothing about it needs ingest_message's per-message
    rules (a thread to find, a keyword, an attachment, an agent, a postal address...); None
    otherwise. Whether its sender allows it is for set_based_senders to say."""
    meta = message.metadata
    if (not surely_new_email(message, threading) or event.reference or message.citizen_id is not None
            or message.category or message.attachments or not message.sender.email or message.sender.address
            or message.reply_channel not in (None, Channel.EMAIL)
            or any(meta.get(key) for key in _SPECIAL)):
        return None
    keys, person = sender_identity(message.sender, default_region=default_region,
                                   name_is_reliable=_name_is_reliable(message))
    return NewRequest(event.id, message, keys, person)


async def set_based_senders(session: AsyncSession, requests: list[NewRequest], *,
                            default_region: str) -> list[NewRequest]:
    """Those whose sender identify_citizen would create a citizen for, with nobody to review, or
    link to a citizen it would not change (their `known` and `identified` set); under their
    identity locks. One read for all: those no citizen shares an identifier or a blocking key
    with; the others resolved together (resolve_all: the decisions identify_citizen would
    take), their citizens read at once. A citizen matched twice keeps the first only: the
    second's routing follows the first's assignment (the previous agent), so it comes after,
    its own way."""
    unknown = await unknown_people(session, [r.person for r in requests])
    policy = IdentityPolicy(default_region=default_region)
    seen_before = [r for r, is_unknown in zip(requests, unknown) if not is_unknown]
    resolutions = dict(zip(map(id, seen_before), await resolve_all(session, [r.person for r in seen_before],
                                                                   policy=policy)))
    taken: dict[int, NewRequest] = {}  # by id(request)
    matched: list[tuple[NewRequest, int, str]] = []  # (request, its citizen, why)
    for r in requests:
        resolution = resolutions.get(id(r))
        if resolution is None or nobody_to_review(resolution, policy):
            taken[id(r)] = r
        elif (citizen_id := matched_citizen(resolution)) is not None:
            matched.append((r, citizen_id, match_reason(resolution)))
    citizens = await known_citizens(session, [citizen_id for _, citizen_id, _ in matched])
    seen: set[int] = set()
    for r, citizen_id, reason in matched:
        citizen = citizens.get(citizen_id)
        if citizen is not None and citizen_id not in seen and citizen.unchanged_by(r.keys, r.message.sender):
            r.known, r.identified, taken[id(r)] = citizen, reason, r
        seen.add(citizen_id)
    return [r for r in requests if id(r) in taken]


async def open_new_requests(session: AsyncSession, requests: list[NewRequest], *, now: datetime,
                            default_region: str) -> None:
    """First half of ingest_message for these requests, set-based: their citizens (with identity
    keys, name tokens and contact points) inserted, and their tickets' rows prepared (references
    reserved together, language guessed) for the caller to assign before store_new_requests
    inserts them. The same rows ingest_message writes; a few multi-row INSERTs for all. A known
    sender's citizen is taken as it is."""
    for r in requests:
        if r.known is not None:
            r.citizen_id, r.full_name = r.known.id, r.known.full_name
    new = [r for r in requests if r.known is None]
    rows = [{"full_name": (r.message.sender.name or "").strip()[:200], "language": r.message.metadata.get("language"),
             "address": None, "alternates": []} for r in new]
    for r, row, citizen_id in zip(new, rows, await insert_rows(session, Citizen.__table__, rows)):
        r.citizen_id, r.full_name = citizen_id, row["full_name"]
    keys, tokens, points = [], [], []
    for r, row in zip(new, rows):
        stored = SimpleNamespace(**row, first_name=None, last_name=None, birth_date=None, postcode=None, city=None)
        keys += identity_key_rows(r.citizen_id, citizen_person(stored))  # what the mapper events write
        tokens += name_token_rows(r.citizen_id, row["full_name"])
        points += [{"citizen_id": r.citizen_id, "kind": kind, "value": value, "raw_value": raw[:320]}
                   for kind, value, raw in r.keys]
    await insert_rows(session, KEYS, keys, returning=False)
    await insert_rows(session, CitizenNameToken.__table__, tokens, returning=False)
    await insert_rows(session, ContactPoint.__table__, points, returning=False)
    references = await reserve_references(session, len(requests), now)
    for r, reference in zip(requests, references):
        message = r.message
        r.reply_to = _reply_address(message, default_region)
        # The citizen's language: what they chose, else their record, else what they wrote in.
        language = message.metadata.get("language") or (r.known.language if r.known else None)
        r.ticket = {"reference": reference, "citizen_id": r.citizen_id, "category_id": None,
                    "subject": ticket_subject(message), "priority": "normal", "status": TicketStatus.NEW.value,
                    "origin_channel": message.channel.value,
                    "reply_channel": (message.reply_channel or message.channel).value,
                    "language": language or detect_language(message.text), "assignee_id": None,
                    "assigned_at": None, "reply_token": new_token(), "created_at": now, "updated_at": now}


async def store_new_requests(session: AsyncSession, requests: list[NewRequest]) -> None:
    """Second half: the tickets (as the caller left their rows) and the messages inserted; each
    request's timeline starts with what open_ticket and add_inbound_message record."""
    for r, ticket_id in zip(requests, await insert_rows(session, Ticket.__table__, [r.ticket for r in requests])):
        r.ticket["id"] = ticket_id
        for event in r.events:  # the assignment's, recorded before the ticket had its id
            event["ticket_id"] = ticket_id
    messages = [inbound_message_fields(r.ticket["id"], r.citizen_id, r.message, {"reply_to": r.reply_to}, False)
                for r in requests]
    for r, message_id in zip(requests, await insert_rows(session, Message.__table__, messages)):
        r.message_id = message_id
        channel = r.message.channel.value
        r.events[:0] = [
            event_row(r.ticket["id"], EventKind.CREATED, reason=f"{NO_THREAD}; citizen: {r.identified}",
                      data=created_data(r.message, None)),
            event_row(r.ticket["id"], EventKind.MESSAGE_IN, reason=FIRST_MESSAGE, actor_type="citizen",
                      actor_id=r.citizen_id, data=message_in_data(message_id, channel, r.citizen_id)),
        ]


def _name_is_reliable(message: InboundMessage) -> bool:
    return message.channel is not Channel.EMAIL  # an email's display name is whatever it says


def sender_lock_keys(message: InboundMessage, default_region: str) -> list[str]:
    """The identity locks ingest_message takes for this message's sender: a batch takes those of
    all its messages at once (crm.identity.lock_identities)."""
    return lock_keys_of(message.sender, default_region=default_region, name_is_reliable=_name_is_reliable(message))


def _reply_address(message: InboundMessage, default_region: str) -> str | None:
    """Where answers to this message go: the sender's address on the reply channel (an SMS or a
    call back: their phone; a printed letter: their postal address; else their email)."""
    channel = message.reply_channel or message.channel
    if channel in (Channel.SMS, Channel.PHONE):
        return normalise_phone(message.sender.phone, default_region) if message.sender.phone else None
    if channel is Channel.LETTER:
        return normalise_address(message.sender.address) if message.sender.address else None
    if message.sender.email:
        return normalise_email(message.sender.email)
    return None
