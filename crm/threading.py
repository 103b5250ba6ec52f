"""Which ticket an inbound message belongs to, and why: each rule says its reason."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.columns import utcnow
from crm.errors import InvalidInput
from crm.models import OPEN_STATUSES, Ticket
from crm.reply_address import tokens_in
from crm.tickets import (
    CLOSED_STATUSES,
    last_outbound_to,
    latest_open_ticket,
    open_tickets_of,
    ticket_by_rfc_message_ids,
)
from crm.types import Channel, InboundMessage

REFERENCE_IN_TEXT = re.compile(r"\bGRU-\d{4}-\d{6}\b", re.IGNORECASE)
# The short form our SMS carry ("2026-42"); not a date like 2026-03-12.
SHORT_REFERENCE = re.compile(r"(?<![\d-])(20\d\d)-0*(\d{1,6})(?![\d-])")


@dataclass(frozen=True)
class ThreadingPolicy:
    """What an administrator tunes about threading (settings, passed in)."""

    reopen_within: timedelta = timedelta(days=14)
    reply_address: str | None = None  # plus-addressed Reply-To base, when configured
    sms_reply_within: timedelta = timedelta(days=7)  # an SMS answers our last SMS this long


def short_reference(reference: str) -> str:
    """GRU-2026-000042 -> 2026-42, what fits in an SMS and a citizen types back."""
    _, year, number = reference.split("-")
    return f"{year}-{int(number)}"


def references_in(text: str) -> list[str]:
    """Ticket references written in a text, full or short, in order."""
    found = [m.group(0).upper() for m in REFERENCE_IN_TEXT.finditer(text)]
    found += [f"GRU-{m.group(1)}-{int(m.group(2)):06d}" for m in SHORT_REFERENCE.finditer(text)]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Thread:
    ticket: Ticket | None  # None: open a new ticket
    reason: str
    related_ticket_id: int | None = None  # a new ticket that mentions another one
    reopen: bool = False  # the ticket was closed recently: the citizen's message reopens it
    alternatives: tuple[int, ...] = ()  # other open tickets it may be about ("which request?")


def _closed_long_ago(ticket: Ticket, reopen_within: timedelta) -> bool:
    return ticket.status in CLOSED_STATUSES and (
        ticket.closed_at is None or utcnow() - ticket.closed_at > reopen_within)


def _follow(ticket: Ticket, reason: str, reopen_within: timedelta) -> Thread:
    """Thread onto this ticket, reopen it, or (closed too long ago) start a linked one."""
    if _closed_long_ago(ticket, reopen_within):
        return Thread(None, f"{reason}, but {ticket.reference} was closed more than "
                            f"{reopen_within.days} days ago: new ticket, linked", related_ticket_id=ticket.id)
    return Thread(ticket, reason, reopen=ticket.status in CLOSED_STATUSES)


def _chain(message: InboundMessage) -> list[str]:
    """In-Reply-To first, then References from the newest."""
    meta = message.metadata
    ids = [meta.get("in_reply_to"), *reversed(meta.get("references") or [])]
    return [i for i in dict.fromkeys(ids) if i]


async def find_thread(session: AsyncSession, message: InboundMessage, citizen_id: int, *,
                      policy: ThreadingPolicy = ThreadingPolicy(), sender_phone: str | None = None) -> Thread:
    """The rules in order. Email: the header chain, the reply token, the subject's reference
    (only from the ticket's own citizen). SMS: see sms_thread. Else new."""
    reopen_within, reply_address = policy.reopen_within, policy.reply_address
    if message.reference:
        return await named_thread(session, message.reference, citizen_id)
    if message.new_ticket:
        return Thread(None, "a new request from the web form" if message.channel is Channel.WEBFORM
                      else f"a new request ({message.channel.value}, logged by an agent)")
    chain = _chain(message)
    if chain:
        ticket = await ticket_by_rfc_message_ids(session, chain)
        if ticket is not None:
            return _follow(ticket, "reply to a message of this ticket (In-Reply-To/References)",
                           reopen_within)
    if reply_address:
        tokens = tokens_in(message.metadata.get("recipients") or [], reply_address)
        if tokens:
            ticket = (await session.exec(select(Ticket).where(col(Ticket.reply_token).in_(tokens)))).first()
            if ticket is not None:
                return _follow(ticket, f"sent to the reply address of {ticket.reference}", reopen_within)
    match = REFERENCE_IN_TEXT.search(message.subject or "")
    if match:
        ticket = (await session.exec(select(Ticket).where(Ticket.reference == match.group(0).upper()))).first()
        if ticket is not None and ticket.citizen_id == citizen_id:
            return _follow(ticket, f"reference {ticket.reference} in the subject, from this citizen",
                           reopen_within)
        if ticket is not None:
            return Thread(None, f"subject names {ticket.reference}, but the sender is not that "
                                "ticket's citizen: new ticket, linked", related_ticket_id=ticket.id)
    if message.channel is Channel.SMS:
        return await sms_thread(session, message, citizen_id, policy, sender_phone)
    if message.channel is not Channel.EMAIL:
        ticket = await latest_open_ticket(session, citizen_id, message.channel.value)
        if ticket is not None:
            return Thread(ticket, "latest open ticket of this citizen on this channel")
    return Thread(None, NO_THREAD)


NO_THREAD = "no thread found: a new request"


def surely_new_email(message: InboundMessage, policy: ThreadingPolicy = ThreadingPolicy()) -> bool:
    """An email find_thread would answer with Thread(None, NO_THREAD) without reading anything:
    no header chain, no reply token, no reference in its subject, nothing an agent named. What a
    batch may take in as a new request without asking find_thread."""
    if message.channel is not Channel.EMAIL or message.reference or message.new_ticket or _chain(message):
        return False
    if policy.reply_address and tokens_in(message.metadata.get("recipients") or [], policy.reply_address):
        return False
    return REFERENCE_IN_TEXT.search(message.subject or "") is None


async def named_thread(session: AsyncSession, reference: str, citizen_id: int) -> Thread:
    """The ticket an agent named when logging a contact: theirs to decide, so it is reopened
    whenever it was closed (no reopen window: a person chose it, not a guess)."""
    ticket = (await session.exec(select(Ticket).where(Ticket.reference == reference.strip().upper()))).first()
    if ticket is None or ticket.citizen_id != citizen_id:
        raise InvalidInput(f"{reference} is not a ticket of this citizen",
                           fields={"reference": "not a ticket of this citizen"})
    return Thread(ticket, f"{ticket.reference} named by the agent who logged the contact",
                  reopen=ticket.status in CLOSED_STATUSES)


async def sms_thread(session: AsyncSession, message: InboundMessage, citizen_id: int,
                     policy: ThreadingPolicy, sender_phone: str | None) -> Thread:
    """An SMS has no headers: a reference of the citizen's in the text; else the ticket our last
    SMS to this number was about, if recent and open; else their one open ticket (or the most
    recently active, flagged); else a new one."""
    for reference in references_in(message.text):
        ticket = (await session.exec(select(Ticket).where(Ticket.reference == reference))).first()
        if ticket is not None and ticket.citizen_id == citizen_id:
            return _follow(ticket, f"reference {ticket.reference} in the SMS, from this citizen",
                           policy.reopen_within)
    if sender_phone:
        ours = await last_outbound_to(session, citizen_id, Channel.SMS.value, sender_phone)
        if ours is not None and utcnow() - ours.created_at <= policy.sms_reply_within:
            ticket = await session.get(Ticket, ours.ticket_id)
            if ticket is not None and ticket.status in {s.value for s in OPEN_STATUSES}:
                return Thread(ticket, f"answers our SMS of {ours.created_at:%Y-%m-%d %H:%M} UTC about "
                                      f"{ticket.reference}")
    open_tickets = await open_tickets_of(session, citizen_id)
    if len(open_tickets) == 1:
        return Thread(open_tickets[0], "the citizen's only open ticket")
    if open_tickets:
        latest, others = open_tickets[0], open_tickets[1:]
        return Thread(latest, f"the most recently active of {len(open_tickets)} open tickets: which "
                              f"request? also {', '.join(t.reference for t in others)}",
                      alternatives=tuple(t.id for t in others))
    return Thread(None, "no reference, no recent SMS of ours, no open ticket: a new request")
