"""Step notifications: a ticket's status change tells the citizen, when its category says so,
with the step's template, in the ticket's language, on its reply channel."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm import tickets
from crm.errors import DomainError
from crm.models import EventKind, Message, Ticket, TicketEvent, TicketStatus
from crm.opt_outs import opted_out
from crm.types import Channel, Direction
from replies.models import Delivery, Step
from replies.outbox import find_delivery, queue_delivery
from replies.templates import find_template, render

# Channels a notification leaves on by itself; a letter or a call back is a person's job.
NOTIFIED_CHANNELS = (Channel.EMAIL.value, Channel.SMS.value)


def steps_for_change(previous: str, status: str, notify_steps: Collection[str], *,
                     by_citizen: bool = False, on_the_spot: bool = False) -> list[str]:
    """The steps to tell the citizen about, in order, for a change from `previous` to `status`.

    Nothing when the citizen caused it (their message reopened the ticket: they know, and an
    auto-reply must never be answered). Resolved: the resolution then the survey (at the desk,
    only the survey: the citizen was there and has their receipt). Pending: more information
    needed. Closed: nothing (the resolution was told). Any other change: status changed."""
    if by_citizen or previous == status:
        return []
    if status == TicketStatus.RESOLVED.value:
        steps = [Step.SATISFACTION_SURVEY.value] if on_the_spot else [Step.RESOLVED.value,
                                                                        Step.SATISFACTION_SURVEY.value]
    elif status == TicketStatus.PENDING.value:
        steps = [Step.MORE_INFORMATION_NEEDED.value]
    elif status == TicketStatus.CLOSED.value:
        steps = []
    else:
        steps = [Step.STATUS_CHANGED.value]
    return [step for step in steps if step in notify_steps]


def notification_key(event_id: int, step: str) -> str:
    """One delivery per (status change, step): a job that runs twice finds it."""
    return f"notify:{event_id}:{step}"


def reply_target(messages: list[Message]) -> Message | None:
    """The citizen's latest message that can be answered: inbound, with an address to answer
    to, and not an auto-reply or a bounce (never answered: no mail loops)."""
    for message in reversed(messages):
        if (message.direction == Direction.IN.value and message.meta.get("reply_to")
                and not message.meta.get("auto_reply")):
            return message
    return None


def email_thread(messages: list[Message]) -> list[str]:
    """The Message-IDs of the ticket's mails, theirs and ours, in order: what a notification's
    References carry (auto-replies left out), its In-Reply-To the latest."""
    return [m.rfc_message_id for m in messages
            if m.channel == Channel.EMAIL.value and m.rfc_message_id and not m.meta.get("auto_reply")]


# A step that leaves only once the one before it has left: the survey after the resolution, so
# the citizen is never asked how it went before being told it is done.
AFTER = {Step.SATISFACTION_SURVEY.value: Step.RESOLVED.value}


def preceding_key(dedupe_key: str) -> str | None:
    """The key of the notification this one waits for (same status change), or None."""
    prefix, _, step = dedupe_key.rpartition(":")
    if not prefix.startswith("notify:") or step not in AFTER:
        return None
    return f"{prefix}:{AFTER[step]}"


def following_key(dedupe_key: str) -> str | None:
    """The key of the notification waiting for this one, or None."""
    prefix, _, step = dedupe_key.rpartition(":")
    if not prefix.startswith("notify:"):
        return None
    return next((f"{prefix}:{later}" for later, before in AFTER.items() if before == step), None)


async def _decided_against(session: AsyncSession, ticket_id: int, event_id: int, step: str) -> bool:
    """A note already says why this step of this change was not sent (a second run)."""
    return any(e.kind == EventKind.NOTE.value and e.data.get("status_event_id") == event_id
               and e.data.get("step") == step for e in await tickets.timeline(session, ticket_id))


@dataclass(frozen=True)
class Notice:
    step: str
    delivery_id: int | None  # None: not sent, `problem` says why
    problem: str | None = None
    not_before: datetime | None = None


async def queue_notification(
    session: AsyncSession, ticket: Ticket, step: str, *, event_id: int, target: Message | None,
    context: Mapping[str, Any], default_language: str, not_before: datetime | None = None,
    header_message_id: str | None = None, headers: dict[str, str] | None = None,
) -> Notice:
    """Render the step's template for the ticket and queue it (the caller's transaction, the
    ticket locked by the caller). When none can be sent, a note on the ticket says why."""
    channel, to = ticket.reply_channel, target.meta.get("reply_to") if target else None
    key = notification_key(event_id, step)
    existing = await find_delivery(session, key)
    if existing is not None:
        return Notice(step, existing.id, None, existing.not_before)
    if await _decided_against(session, ticket.id, event_id, step):
        return Notice(step, None, "decided already")
    problem = None
    if channel not in NOTIFIED_CHANNELS:
        problem = f"the citizen is answered by {channel}, where nothing is sent automatically"
    elif not to:
        problem = f"no {channel} address to write to"
    elif await opted_out(session, channel, [to]):
        problem = f"{to} opted out of {channel} (STOP)"
    else:
        template = await find_template(session, step=step, channel=channel, category_id=ticket.category_id,
                                       language=ticket.language, default_language=default_language)
        if template is None:
            problem = f"no {step} template for {channel}"
        else:
            try:
                rendered = render(template, context)
            except DomainError as exc:
                problem = f"the {step} template failed: {exc}"
    if problem:
        await tickets.record_event(session, ticket.id, EventKind.NOTE, reason=f"no {step} notification: {problem}",
                                   data={"step": step, "status_event_id": event_id})
        return Notice(step, None, problem)
    delivery, created = await queue_delivery(
        session, ticket, channel=channel, to=to, rendered=rendered, dedupe_key=key,
        reason=f"{step} notification" + (", held until the end of SMS quiet hours" if not_before else ""),
        header_message_id=header_message_id if channel == Channel.EMAIL.value else None,
        headers=headers if channel == Channel.EMAIL.value else None,
    )
    if created and not_before is not None:
        delivery.not_before = not_before
        await session.flush()
    return Notice(step, delivery.id, None, delivery.not_before)


async def unnotified_changes(session: AsyncSession, *, since: datetime, until: datetime,
                             notify_steps: Callable[[int | None], Awaitable[Collection[str]]]) -> list[int]:
    """Status changes (made between `since` and `until`, still their ticket's latest) with a
    step to tell and no trace of it: neither a delivery nor a note saying why not. Their
    notify job was lost (the queue down at commit, a crash in between); the sweep asks again,
    and the job, keyed by change and step, never sends one twice. `notify_steps`: a category's
    steps (routing's, passed in)."""
    changes = (await session.exec(
        select(TicketEvent, Ticket).join(Ticket, col(Ticket.id) == TicketEvent.ticket_id)
        .where(TicketEvent.kind == EventKind.STATUS_CHANGED.value, col(TicketEvent.created_at) >= since,
               col(TicketEvent.created_at) <= until)
        .order_by(col(TicketEvent.id)))).all()
    if not changes:
        return []
    ticket_ids = list({ticket.id for _, ticket in changes})
    latest = set((await session.exec(
        select(func.max(TicketEvent.id)).where(col(TicketEvent.ticket_id).in_(ticket_ids),
                                               TicketEvent.kind == EventKind.STATUS_CHANGED.value)
        .group_by(TicketEvent.ticket_id))).all())
    wanted: dict[int, list[str]] = {}
    for change, ticket in changes:
        if change.id not in latest or ticket.status != change.data.get("to"):
            continue  # the ticket moved on: the job would say "out of date"
        steps = steps_for_change(change.data.get("from", ""), change.data["to"],
                                 await notify_steps(ticket.category_id),
                                 by_citizen=change.actor_type == "citizen",
                                 on_the_spot=bool(change.data.get("resolved_on_the_spot")))
        if steps:
            wanted[change.id] = steps
    if not wanted:
        return []
    keys = [notification_key(event_id, step) for event_id, steps in wanted.items() for step in steps]
    queued = set((await session.exec(select(Delivery.dedupe_key).where(col(Delivery.dedupe_key).in_(keys)))).all())
    notes = (await session.exec(
        select(TicketEvent.data).where(col(TicketEvent.ticket_id).in_(ticket_ids),
                                       TicketEvent.kind == EventKind.NOTE.value,
                                       col(TicketEvent.id) > min(wanted)))).all()
    decided = {(data.get("status_event_id"), data.get("step")) for data in notes}
    return [event_id for event_id, steps in wanted.items()
            if any(notification_key(event_id, step) not in queued and (event_id, step) not in decided
                   for step in steps)]
