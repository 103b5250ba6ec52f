"""Turn a recorded raw inbound event into a citizen, a ticket and a message."""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import IntegrityError

from app.jobs.acknowledge import queue_acknowledgement
from app.reply_context import help_context
from app.settings import attachment_policy, routing_config, threading_policy
from channels.base import ParseError
from crm.errors import DomainError
from crm.inbound import get_inbound, mark_handled, mark_processed, mark_quarantined
from crm.intake import Ingested, ingest_message
from crm.models import InboundStatus, Message, Ticket
from crm.normalise import normalise_phone
from crm.opt_outs import lift_opt_out, record_opt_out
from crm.tickets import find_inbound_message
from crm.types import InboundMessage
from replies.models import Step
from replies.outbox import queue_service_delivery
from replies.templates import find_template, render
from routing.agents import find_agent_by_email
from routing.assign import assign_ticket as assign
from routing.categories import category_by_slug

log = logging.getLogger("guichet.jobs.inbound")


async def process_inbound(ctx: dict[str, Any], event_id: int) -> str:
    settings = ctx["settings"]
    try:
        async with ctx["sessionmaker"]() as session:
            event = await get_inbound(session, event_id, for_update=True)
            if event.status != InboundStatus.PENDING.value:
                return f"already {event.status}"
            parser = ctx["parsers"].get(event.channel)
            try:
                if parser is None:
                    raise ParseError(f"no parser for channel {event.channel}")
                message = await _filed_for_whom(session, parser, event.payload, parser.parse(event.payload),
                                                enabled=settings.agent_forwards)
                if message.metadata.get("keyword") in OPT_OUT_KEYWORDS:
                    outcome = await _opt_out_keyword(session, event, message, settings.default_region)
                    await session.commit()
                    return outcome
                if message.metadata.get("keyword") == "help":
                    help_id = await _help_keyword(session, settings, event, message)
                    await session.commit()
                    if help_id is not None:
                        await ctx["queue"].enqueue("send_delivery", help_id, job_id=f"send_delivery:{help_id}")
                    return "keyword help"
                category = await category_by_slug(session, message.category) if message.category else None
                async with session.begin_nested():
                    ingested = await ingest_message(
                        session, event, message,
                        category_id=category.id if category else None,
                        priority=category.priority if category else "normal",
                        default_region=settings.default_region,
                        threading=threading_policy(settings),
                        attachment_policy=attachment_policy(settings),
                    )
            except (ParseError, DomainError) as exc:
                mark_quarantined(event, f"{type(exc).__name__}: {exc}")
                await session.commit()
                log.warning("inbound event %s quarantined: %s", event_id, type(exc).__name__)
                return "quarantined"
            mark_processed(event, ticket_id=ingested.ticket_id, message_id=ingested.message_id)
            # Assignment and acknowledgement in the same transaction: a request is never
            # half-taken-in, and one commit instead of three. Their own jobs (assign_ticket,
            # acknowledge_message) remain the sweep's way to finish older work.
            await assign(session, ingested.ticket_id, routing_config(settings))
            delivery_id = await _acknowledge_if_awaited(session, settings, ingested)
            await session.commit()
    except IntegrityError:
        # The message is stored already: by a concurrent run of this event, or from another
        # event carrying the same message (one mail fetched from two mailboxes).
        return await _settle_duplicate(ctx, event_id)
    except Exception as exc:
        await _count_failure(ctx, event_id, exc)
        raise
    if delivery_id is not None:
        await ctx["queue"].enqueue("send_delivery", delivery_id, job_id=f"send_delivery:{delivery_id}")
    if message.metadata.get("media"):  # MMS: fetched apart, so a slow download holds nothing up
        await ctx["queue"].enqueue("fetch_sms_media", ingested.message_id,
                                   job_id=f"fetch_sms_media:{ingested.message_id}")
    return "processed"


OPT_OUT_KEYWORDS = {"stop", "start"}


async def _opt_out_keyword(session: Any, event: Any, message: InboundMessage, default_region: str) -> str:
    """STOP / START: the number's consent changes; no ticket for it, nothing to answer."""
    number = normalise_phone(message.sender.phone or "", default_region)
    if message.metadata["keyword"] == "stop":
        await record_opt_out(session, message.channel.value, number, source=f"SMS {event.external_id}")
    else:
        await lift_opt_out(session, message.channel.value, number)
    mark_handled(event)
    return f"keyword {message.metadata['keyword']}"


async def _help_keyword(session: Any, settings: Any, event: Any, message: InboundMessage) -> int | None:
    """HELP / AIDE: the help template, sent to that number on no ticket (it is about the service,
    not a request, and the number may have none). The delivery id; None without a template."""
    number = normalise_phone(message.sender.phone or "", settings.default_region)
    mark_handled(event)
    template = await find_template(session, step=Step.HELP.value, channel=message.channel.value,
                                   category_id=None, language=settings.default_language,
                                   default_language=settings.default_language)
    if template is None:
        log.warning("inbound event %s: HELP asked, no help template for %s", event.id, message.channel.value)
        return None
    delivery, _ = await queue_service_delivery(
        session, channel=message.channel.value, to=number, dedupe_key=f"help:{event.id}",
        rendered=render(template, help_context(settings)))
    return delivery.id


async def _acknowledge_if_awaited(session: Any, settings: Any, ingested: Ingested) -> int | None:
    message = await session.get(Message, ingested.message_id)
    if not message.awaiting_acknowledgement:
        return None
    ticket = await session.get(Ticket, ingested.ticket_id)  # locked by the assignment
    return await queue_acknowledgement(session, settings, ticket, message)


async def _filed_for_whom(session: Any, parser: Any, payload: bytes, message: InboundMessage, *,
                          enabled: bool) -> InboundMessage:
    """An agent forwarding a citizen's mail from their own mailbox files it as the citizen's.
    Only agents: anyone else forwarding something stays the author of what they send."""
    unwrap = getattr(parser, "forwarded_original", None)
    if not enabled or unwrap is None or not message.sender.email:
        return message
    agent = await find_agent_by_email(session, message.sender.email)
    if agent is None or not agent.active:
        return message
    return unwrap(payload, message) or message


async def _count_failure(ctx: dict[str, Any], event_id: int, exc: Exception) -> None:
    """An unexpected failure: try again later, quarantine after too many."""
    async with ctx["sessionmaker"]() as session:
        event = await get_inbound(session, event_id, for_update=True)
        if event.status != InboundStatus.PENDING.value:
            return
        event.attempts += 1
        event.error = f"{type(exc).__name__}: {exc}"[:2000]
        if event.attempts >= ctx["settings"].inbound_max_attempts:
            mark_quarantined(event, f"failed {event.attempts} times: {event.error}")
        await session.commit()


async def _settle_duplicate(ctx: dict[str, Any], event_id: int) -> str:
    async with ctx["sessionmaker"]() as session:
        event = await get_inbound(session, event_id, for_update=True)
        if event.status != InboundStatus.PENDING.value:
            return "processed concurrently"
        message = ctx["parsers"][event.channel].parse(event.payload)
        existing = await find_inbound_message(session, message.channel.value, message.external_id)
        if existing is None:  # not a duplicate after all: let the sweep try again
            return "retry later"
        mark_processed(event, ticket_id=existing.ticket_id, message_id=existing.id)
        event.error = f"duplicate of message {existing.id}"
        await session.commit()
    log.info("inbound event %s duplicates a stored message", event_id)
    return "duplicate"
