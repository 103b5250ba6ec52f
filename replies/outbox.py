"""Queue outbound messages: one Delivery per purpose, however often the job runs."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels.sms.segments import sms_segments
from crm import tickets
from crm.columns import utcnow
from crm.models import Ticket
from crm.types import Channel
from replies.models import Delivery, DeliveryState
from replies.templates import Rendered


OPT_OUT_CONFIRMATION_PREFIX = "opt_out_confirmation:"


def opt_out_confirmation_key(event_id: int) -> str:
    """The confirmation of a STOP: the one message an opt-out lets through (it says so)."""
    return f"{OPT_OUT_CONFIRMATION_PREFIX}{event_id}"


def confirms_opt_out(delivery: Delivery) -> bool:
    return delivery.dedupe_key.startswith(OPT_OUT_CONFIRMATION_PREFIX)


async def find_delivery(session: AsyncSession, dedupe_key: str) -> Delivery | None:
    return (await session.exec(select(Delivery).where(Delivery.dedupe_key == dedupe_key))).first()


def _delivery(channel: str, to: str, rendered: Rendered, dedupe_key: str, **fields) -> Delivery:
    """A new delivery; an SMS has its segments and encoding counted now, before it is sent."""
    cost = sms_segments(rendered.body) if channel == Channel.SMS.value else None
    return Delivery(dedupe_key=dedupe_key, channel=channel, to=to, subject=rendered.subject or None,
                    body=rendered.body,
                    html=rendered.html if channel in (Channel.EMAIL.value, Channel.LETTER.value) else None,
                    encoding=cost.encoding if cost else None,
                    segments=cost.count if cost else None, **fields)


async def queue_delivery(
    session: AsyncSession,
    ticket: Ticket,
    *,
    channel: str,
    to: str,
    rendered: Rendered,
    dedupe_key: str,
    reason: str,
    header_message_id: str | None = None,
    headers: dict[str, str] | None = None,
    agent_id: int | None = None,
    meta: dict | None = None,
    state: DeliveryState = DeliveryState.QUEUED,
    new_key: bool = False,
) -> tuple[Delivery, bool]:
    """(delivery, created). A second call with the same key returns the first delivery.
    `agent_id`: the agent who wrote it (the timeline's actor); `state` HELD for what a person
    carries out (a printed letter, a call back). `new_key`: the key names a row the caller
    created in this transaction, so no delivery can hold it yet (not looked up; the key's
    uniqueness still stands guard)."""
    existing = None if new_key else await find_delivery(session, dedupe_key)
    if existing is not None:
        return existing, False
    message = await tickets.add_outbound_message(
        session, ticket, channel=channel, text=rendered.body, subject=rendered.subject or None,
        meta={"template_id": rendered.template_id, "language": rendered.language, "to": to, **(meta or {})},
        reason=reason, rfc_message_id=header_message_id,
        **({"actor_type": "agent", "actor_id": agent_id} if agent_id else {}),
    )
    delivery = _delivery(channel, to, rendered, dedupe_key, message_id=message.id, ticket_id=ticket.id,
                         header_message_id=header_message_id, headers=headers or {}, state=state.value)
    session.add(delivery)
    await session.flush()
    return delivery, True


async def queue_service_delivery(session: AsyncSession, *, channel: str, to: str, rendered: Rendered,
                                 dedupe_key: str) -> tuple[Delivery, bool]:
    """A message about no request (the answer to an SMS HELP): in the outbox, on no ticket."""
    existing = await find_delivery(session, dedupe_key)
    if existing is not None:
        return existing, False
    delivery = _delivery(channel, to, rendered, dedupe_key)
    session.add(delivery)
    await session.flush()
    return delivery, True


async def deliveries_to_send(
    session: AsyncSession, *, stale_after: timedelta, older_than: timedelta = timedelta(0),
    now: datetime | None = None, limit: int = 1000
) -> list[int]:
    """Queued deliveries, and ones stuck in `sending` (their worker died), oldest first.

    `older_than`: leave alone a delivery queued (or due again after a retry's back-off) more
    recently than this: its own send job is on its way, and a backlog of acknowledgements would
    otherwise get a second job each sweep."""
    now = now or utcnow()
    cutoff = now - stale_after
    queued_before = now - older_than
    return list(
        (
            await session.exec(
                select(Delivery.id)
                .where(
                    ((Delivery.state == DeliveryState.QUEUED.value)
                     & (col(Delivery.updated_at) <= queued_before)
                     & (col(Delivery.not_before).is_(None) | (col(Delivery.not_before) <= queued_before)))
                    | ((Delivery.state == DeliveryState.SENDING.value)
                       & (col(Delivery.updated_at) <= cutoff))
                )
                .order_by(col(Delivery.id))
                .limit(limit)
            )
        ).all()
    )


async def list_outbox(session: AsyncSession, *, limit: int = 200, state: str | None = None,
                      channel: str | None = None, assignee_id: int | None = None,
                      ticket_id: int | None = None) -> list[tuple[Delivery, str | None]]:
    """Newest first, with the ticket's reference (None: a message about no ticket); filtered by
    state, channel, the ticket's holder (who then sees no message about no ticket) or ticket."""
    query = select(Delivery, Ticket.reference).outerjoin(Ticket, Ticket.id == Delivery.ticket_id)
    if state is not None:
        query = query.where(Delivery.state == state)
    if channel is not None:
        query = query.where(Delivery.channel == channel)
    if assignee_id is not None:
        query = query.where(Ticket.assignee_id == assignee_id)
    if ticket_id is not None:
        query = query.where(Delivery.ticket_id == ticket_id)
    rows = (await session.exec(query.order_by(col(Delivery.id).desc()).limit(limit))).all()
    return [(delivery, reference) for delivery, reference in rows]
