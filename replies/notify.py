"""Step notifications: a ticket's status change tells the citizen, when its category says so,
with the step's template, in the ticket's language, on its reply channel."""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from crm import tickets
from crm.errors import DomainError
from crm.models import EventKind, Message, Ticket, TicketStatus
from crm.opt_outs import opted_out
from crm.types import Channel, Direction
from replies.models import Step
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
