"""From a parsed inbound message to a citizen, a ticket and a stored message."""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from crm.attachments import AttachmentPolicy, store_attachments
from crm.duplicates import file_duplicate
from crm.identity import identify_citizen, lock_keys_of
from crm.language import detect_language
from crm.models import AccessRecord, EventKind, InboundEvent, TicketStatus
from crm.normalise import normalise_address, normalise_email, normalise_phone
from crm.threading import ThreadingPolicy, find_thread
from crm.tickets import add_inbound_message, open_ticket, record_event, resolve_at_desk, set_status
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
        how = "first message of a new ticket"
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
