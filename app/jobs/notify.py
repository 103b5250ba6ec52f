"""Tell the citizen about a status change of their ticket: the step's notification, then the
survey after resolution, each queued once, SMS held during quiet hours."""
from __future__ import annotations

import logging
from datetime import datetime
from email.utils import make_msgid
from typing import Any

from app.jobs.acknowledge import email_headers
from app.reply_context import reply_context
from app.settings import sms_quiet_hours
from crm import tickets
from crm.columns import utcnow
from crm.models import EventKind, TicketEvent
from crm.types import Channel
from replies.notify import email_thread, queue_notification, reply_target, steps_for_change
from routing.categories import notify_steps_of

log = logging.getLogger("guichet.jobs.notify")


def now() -> datetime:
    """The job's clock (a test sets it to an evening)."""
    return utcnow()


async def notify_status_change(ctx: dict[str, Any], event_id: int) -> str:
    """The job, keyed by the status change's event: safe to run twice (one delivery per change
    and step), and out-of-date changes (the ticket moved on since) are left alone."""
    settings = ctx["settings"]
    ready: list[int] = []
    async with ctx["sessionmaker"]() as session:
        event = await session.get(TicketEvent, event_id)
        if event is None or event.kind != EventKind.STATUS_CHANGED.value:
            return "no such status change"
        ticket = await tickets.get_ticket(session, event.ticket_id, for_update=True)
        latest = await tickets.latest_status_event(session, ticket.id)
        if latest is None or latest.id != event.id or ticket.status != event.data.get("to"):
            return "out of date: the ticket moved on since"
        steps = steps_for_change(event.data.get("from", ""), event.data["to"],
                                 await notify_steps_of(session, ticket.category_id),
                                 by_citizen=event.actor_type == "citizen",
                                 on_the_spot=bool(event.data.get("resolved_on_the_spot")))
        if not steps:
            return "nothing to tell"
        history = await tickets.messages(session, ticket.id)
        target = reply_target(history)
        sms = ticket.reply_channel == Channel.SMS.value
        held_until = sms_quiet_hours(settings).not_before(now()) if sms else None
        thread = email_thread(history)
        for step in steps:
            email = ticket.reply_channel == Channel.EMAIL.value
            header_id = make_msgid(domain=settings.mail_domain) if email else None
            notice = await queue_notification(
                session, ticket, step, event_id=event.id, target=target,
                context=await reply_context(session, ticket, settings, step=step),
                default_language=settings.default_language, not_before=held_until,
                header_message_id=header_id,
                headers=email_headers(ticket, target, settings.reply_address, thread)
                if email and target is not None else None,
            )
            if notice.delivery_id is not None:
                if header_id:
                    thread.append(header_id)  # the survey threads under the resolution
                if notice.not_before is None:
                    ready.append(notice.delivery_id)
        await session.commit()
    for delivery_id in ready:  # held ones leave with the sweep once their time comes
        await ctx["queue"].enqueue("send_delivery", delivery_id, job_id=f"send_delivery:{delivery_id}")
    return f"queued {len(ready)}" + (" (quiet hours: held)" if held_until else "")
