"""Which ticket an inbound message belongs to, and why: each rule says its reason."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.columns import utcnow
from crm.models import Ticket
from crm.reply_address import tokens_in
from crm.tickets import CLOSED_STATUSES, latest_open_ticket, ticket_by_rfc_message_ids
from crm.types import Channel, InboundMessage

REFERENCE_IN_TEXT = re.compile(r"\bGRU-\d{4}-\d{6}\b", re.IGNORECASE)


@dataclass(frozen=True)
class Thread:
    ticket: Ticket | None  # None: open a new ticket
    reason: str
    related_ticket_id: int | None = None  # a new ticket that mentions another one
    reopen: bool = False  # the ticket was closed recently: the citizen's message reopens it


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
                      reopen_within: timedelta = timedelta(days=14),
                      reply_address: str | None = None) -> Thread:
    """The rules in order: the header chain, the reply token, the subject's reference
    (only from the ticket's own citizen), the latest open ticket (not email), else new."""
    if message.new_ticket:
        return Thread(None, "a new request from the web form")
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
    if message.channel is not Channel.EMAIL:
        ticket = await latest_open_ticket(session, citizen_id, message.channel.value)
        if ticket is not None:
            return Thread(ticket, "latest open ticket of this citizen on this channel")
    return Thread(None, "no thread found: a new request")
