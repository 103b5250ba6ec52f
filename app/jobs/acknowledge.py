"""Render the acknowledgement of a citizen's message and queue it on their reply channel."""
from __future__ import annotations

import logging
from email.utils import make_msgid
from types import SimpleNamespace
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.reply_context import context_of, reply_context
from app.settings import Settings
from crm import tickets
from crm.errors import DomainError
from crm.intake import NewRequest
from crm.models import EventKind, Message, Ticket
from crm.reply_address import new_token, plus_address
from crm.types import Channel, Direction
from replies.models import Delivery, Step
from replies.outbox import find_delivery, queue_delivery
from replies.templates import TemplateCache, find_template, render
from routing.assign import RosterCache
from routing.categories import notify_steps_of

log = logging.getLogger("guichet.jobs.acknowledge")
# Channels an acknowledgement can leave on; a printed letter or a call back is a person's job.
SENT_CHANNELS = (Channel.EMAIL.value, Channel.SMS.value)
MAX_REFERENCES = 20


def email_headers(ticket: Ticket, inbound: Message, reply_address: str | None,
                  thread: list[str] | None = None) -> dict[str, str]:
    """In-Reply-To and References pointing at the citizen's mail (or, given the `thread` of the
    ticket's Message-IDs in order, at its latest), so their client threads; Reply-To carrying
    the ticket's token, so a reply finds its ticket even without them."""
    headers = {}
    chain = list(dict.fromkeys([*(inbound.meta.get("references") or []),
                                *([inbound.rfc_message_id] if inbound.rfc_message_id else []), *(thread or [])]))
    if len(chain) > MAX_REFERENCES:  # the first (the thread's root) and the latest, as RFC 5322 suggests
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1):]]
    if chain:
        headers |= {"In-Reply-To": chain[-1], "References": " ".join(chain)}
    if reply_address:
        if ticket.reply_token is None:  # a ticket from before reply tokens
            ticket.reply_token = new_token()
        headers["Reply-To"] = plus_address(reply_address, ticket.reply_token)
    return headers


async def acknowledge_message(ctx: dict[str, Any], message_id: int) -> str:
    """The job: acknowledge one message in a transaction of its own (the sweep's way in)."""
    async with ctx["sessionmaker"]() as session:
        existing = await find_delivery(session, f"ack:{message_id}")
        if existing is not None:
            delivery_id = existing.id
        else:
            message = await session.get(Message, message_id)
            if message is None:
                return "no such message"
            ticket = await tickets.get_ticket(session, message.ticket_id, for_update=True)
            await session.refresh(message)  # as it is now that the ticket is ours
            if not message.awaiting_acknowledgement and await find_delivery(session, f"ack:{message_id}") is None:
                return "already decided"  # a note on the ticket says why there is none
            delivery_id = await queue_acknowledgement(session, ctx["settings"], ticket, message)
            await session.commit()
            if delivery_id is None:
                return "not acknowledged"
    await ctx["queue"].enqueue("send_delivery", delivery_id, job_id=f"send_delivery:{delivery_id}")
    return "queued"


async def queue_acknowledgement(session: AsyncSession, settings: Settings, ticket: Ticket,
                                message: Message, *, find: Any = find_template,
                                new_message: bool = False) -> int | None:
    """Render the acknowledgement of `message` and queue it, in the caller's transaction (the
    ticket row locked by the caller). The delivery id; None when none can be sent, and then a
    note on the ticket says why. Either way the message no longer awaits one. `find`:
    find_template, or a batch's TemplateCache.find; `new_message`: stored in this transaction
    (so it has no acknowledgement yet)."""
    channel = ticket.reply_channel
    to = message.meta.get("reply_to")
    template = await find(
        session, step=Step.ACKNOWLEDGEMENT.value, channel=channel,
        category_id=ticket.category_id, language=ticket.language,
        default_language=settings.default_language,
    )
    problem = _why_not(await notify_steps_of(session, ticket.category_id), channel, to, template)
    if problem is None:
        try:
            rendered = render(template, await reply_context(session, ticket, settings))
        except DomainError as exc:
            problem = f"acknowledgement template failed: {exc}"
    tickets.mark_acknowledged(message)
    if problem:
        await tickets.record_event(session, ticket.id, EventKind.NOTE, reason=_not_sent(ticket.id, problem))
        return None
    header_id = make_msgid(domain=settings.mail_domain) if channel == Channel.EMAIL.value else None
    delivery, _ = await queue_delivery(
        session, ticket, channel=channel, to=to, rendered=rendered, dedupe_key=f"ack:{message.id}",
        reason=ACKNOWLEDGEMENT, header_message_id=header_id, new_key=new_message,
        headers=email_headers(ticket, message, settings.reply_address)
        if channel == Channel.EMAIL.value else None,
    )
    return delivery.id


ACKNOWLEDGEMENT = "acknowledgement of the citizen's message"


def _why_not(steps: list[str], channel: str, to: str | None, template: Any) -> str | None:
    """Why no acknowledgement can be sent; None when one can."""
    if Step.ACKNOWLEDGEMENT.value not in steps:
        return "its category does not acknowledge requests"
    if channel not in SENT_CHANNELS:
        return f"the citizen is answered by {channel}, where nothing is sent automatically"
    if not to:
        return f"no {channel} address to acknowledge to"
    if template is None:
        return f"no acknowledgement template for {channel}"
    return None


def _not_sent(ticket_id: int, problem: str) -> str:
    log.warning("ticket %s not acknowledged: %s", ticket_id, problem)
    return f"no acknowledgement sent: {problem}"


async def acknowledge_new_requests(session: AsyncSession, settings: Settings, requests: list[NewRequest],
                                   routing_rows: list[dict], roster: RosterCache,
                                   templates: TemplateCache) -> list[int | None]:
    """queue_acknowledgement(new_message=True) for a batch's new email requests once their
    tickets and messages are inserted (crm.intake.store_new_requests), set-based: rendered from
    the cached templates and the rows at hand, their messages and deliveries inserted by one
    statement each; each request's timeline gets what queue_acknowledgement records. The
    delivery id of each (None: a note says why there is none)."""
    steps = await notify_steps_of(session, None)
    outgoing: list[tuple[NewRequest, dict, dict]] = []  # (request, its message row, its delivery row)
    for r, state in zip(requests, routing_rows):
        ticket = SimpleNamespace(**r.ticket)
        channel, to = ticket.reply_channel, r.reply_to
        template = await templates.find(session, step=Step.ACKNOWLEDGEMENT.value, channel=channel,
                                        category_id=None, language=ticket.language,
                                        default_language=settings.default_language)
        problem = _why_not(steps, channel, to, template) or (None if channel == Channel.EMAIL.value
                                                             else f"{channel} is not acknowledged in a batch")
        if problem is None:
            citizen = r.known or SimpleNamespace(full_name=r.full_name, first_name=None, last_name=None)
            try:
                rendered = render(template, context_of(ticket, settings, citizen=citizen,
                                                       agent=roster.agent(ticket.assignee_id), category=None,
                                                       team=None, state=SimpleNamespace(**state)))
            except DomainError as exc:
                problem = f"acknowledgement template failed: {exc}"
        if problem:
            r.events.append(tickets.event_row(ticket.id, EventKind.NOTE, reason=_not_sent(ticket.id, problem)))
            continue
        header_id = make_msgid(domain=settings.mail_domain)
        meta = {"template_id": rendered.template_id, "language": rendered.language, "to": to}
        message = {"ticket_id": ticket.id, "citizen_id": ticket.citizen_id, "direction": Direction.OUT.value,
                   "channel": channel, "subject": rendered.subject or None, "text": rendered.body, "meta": meta,
                   "rfc_message_id": header_id}
        inbound = SimpleNamespace(meta=r.message.metadata, rfc_message_id=r.message.metadata.get("message_id"))
        delivery = {"ticket_id": ticket.id, "dedupe_key": f"ack:{r.message_id}", "channel": channel, "to": to,
                    "subject": rendered.subject or None, "body": rendered.body, "html": rendered.html,
                    "encoding": None, "segments": None, "header_message_id": header_id,
                    "headers": email_headers(ticket, inbound, settings.reply_address)}
        outgoing.append((r, message, delivery))
    message_ids = await tickets.insert_rows(session, Message.__table__, [message for _, message, _ in outgoing])
    for (r, message, delivery), message_id in zip(outgoing, message_ids):
        delivery["message_id"] = message_id
        r.events.append(tickets.event_row(r.ticket["id"], EventKind.MESSAGE_OUT, reason=ACKNOWLEDGEMENT,
                                          data={"message_id": message_id, "channel": message["channel"],
                                                **message["meta"]}))
    delivery_ids = dict(zip((id(r) for r, _, _ in outgoing),
                            await tickets.insert_rows(session, Delivery.__table__, [d for _, _, d in outgoing])))
    return [delivery_ids.get(id(r)) for r in requests]
