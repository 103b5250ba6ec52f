"""Move a delivery through its states; the job around it owns the commits and the network call."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm import tickets
from crm.columns import utcnow
from crm.errors import Conflict, NotFound
from crm.models import EventKind, Ticket
from crm.opt_outs import opted_out
from crm.types import Channel, OutboundMessage
from replies.models import Delivery, DeliveryState
from replies.reach import PERMANENT_SMS_CODES, failed_for_good, propose_fallback
from replies.notify import following_key, preceding_key
from replies.outbox import confirms_opt_out, find_delivery
from replies.rendering import plain_to_html

# A send that has been `sending` this long lost its worker.
STALE_SENDING = timedelta(minutes=5)

FINAL_STATES = {DeliveryState.SENT.value, DeliveryState.DELIVERED.value, DeliveryState.UNDELIVERED.value,
                DeliveryState.HELD.value, DeliveryState.FAILED.value, DeliveryState.BLOCKED.value,
                DeliveryState.CANCELLED.value}

# Twilio's message statuses in the order a message lives them; callbacks come in any order,
# and a status never replaces one further along (a late "sent" after "delivered").
PROVIDER_PROGRESS = {"accepted": 0, "scheduled": 0, "queued": 0, "sending": 1, "sent": 2,
                     "delivered": 3, "undelivered": 3, "failed": 3, "canceled": 3, "read": 4}
PROVIDER_FINAL = {"delivered": DeliveryState.DELIVERED, "read": DeliveryState.DELIVERED,
                  "undelivered": DeliveryState.UNDELIVERED, "failed": DeliveryState.FAILED,
                  "canceled": DeliveryState.CANCELLED}


async def _locked(session: AsyncSession, delivery_id: int) -> Delivery | None:
    return (await _lock_all(session, [delivery_id]))[0]


async def _lock_all(session: AsyncSession, delivery_ids: Collection[int]) -> list[Delivery | None]:
    """The rows locked by one statement, in id order (two batches never wait on each other in a
    cycle); None for an id with no row."""
    rows = {delivery.id: delivery for delivery in (await session.exec(
        select(Delivery).where(col(Delivery.id).in_(delivery_ids)).order_by(col(Delivery.id)).with_for_update()
        # the rows as they are now that they are ours, not as this session last saw them
        .execution_options(populate_existing=True))).all()}
    return [rows.get(delivery_id) for delivery_id in delivery_ids]


async def _set_state(session: AsyncSession, delivery: Delivery, state: DeliveryState,
                     reason: str, error: str | None = None, *, flush: bool = True) -> None:
    """flush=False: the change goes out with the caller's next flush (a batch's: one for all)."""
    delivery.state = state.value
    delivery.updated_at = utcnow()
    delivery.last_error = error
    if state is DeliveryState.SENT:
        delivery.sent_at = delivery.updated_at
    if flush:
        await session.flush()
    await _on_timeline(session, delivery, reason)


async def _on_timeline(session: AsyncSession, delivery: Delivery, reason: str) -> None:
    """The delivery as it now stands, on its ticket's timeline (a HELP answer has no ticket)."""
    if delivery.ticket_id is None:
        return
    extra = {"error": delivery.last_error, "error_code": delivery.error_code,
             "provider_status": delivery.provider_status, "segments": delivery.segments,
             "encoding": delivery.encoding}
    await tickets.record_event(
        session, delivery.ticket_id, EventKind.DELIVERY, reason=reason,
        data={"delivery_id": delivery.id, "message_id": delivery.message_id, "state": delivery.state,
              "channel": delivery.channel, "attempts": delivery.attempts,
              **{key: value for key, value in extra.items() if value is not None}},
    )


async def claim_delivery(session: AsyncSession, delivery_id: int, *,
                         transports: Collection[str]) -> OutboundMessage | None:
    """Mark the delivery `sending` and return what to send; None when there is nothing to send.

    With no transport for its channel (`transports`: the channels that have one) the delivery
    is held in the outbox instead.
    Commit before sending, so that a second run sees `sending` and leaves it alone.
    """
    return (await claim_deliveries(session, [delivery_id], transports=transports)).outbound.get(delivery_id)


@dataclass
class Claims:
    outbound: dict[int, OutboundMessage] = field(default_factory=dict)  # marked `sending`: send after commit
    settled: list[int] = field(default_factory=list)  # nothing to send (now or yet), ids of existing rows
    to_send: list[int] = field(default_factory=list)  # claim_sends=False: left queued, for a claim of their own


async def claim_deliveries(session: AsyncSession, delivery_ids: list[int], *, transports: Collection[str],
                           claim_sends: bool = True) -> Claims:
    """claim_delivery for several deliveries in one transaction: their rows locked by one
    statement, the opt-outs read once per channel, and what needs no network (held for want of
    a transport, blocked by a STOP, settled already) written by one flush.

    claim_sends=False: a delivery that would be sent is left queued, untouched, in `to_send`,
    for the caller to claim alone just before its send (`sending` is committed before the
    send; a batch marked `sending` at once would leave every unsent one to the sweep's
    "outcome unknown" if the worker stopped half way)."""
    claims = Claims()
    now = utcnow()
    candidates = []
    for delivery in await _lock_all(session, list(dict.fromkeys(delivery_ids))):  # each once
        if delivery is None:
            continue
        if await _may_leave(session, delivery, now):
            candidates.append(delivery)
        else:
            claims.settled.append(delivery.id)
    blocked: set[tuple[str, str]] = set()  # asked now, not when queued
    for channel in {delivery.channel for delivery in candidates}:
        addresses = [d.to for d in candidates if d.channel == channel and not confirms_opt_out(d)]
        if addresses:
            blocked |= {(channel, address) for address in await opted_out(session, channel, addresses)}
    for delivery in candidates:
        if (delivery.channel, delivery.to) in blocked and not confirms_opt_out(delivery):
            await _set_state(session, delivery, DeliveryState.BLOCKED,
                             f"not sent: {delivery.to} opted out of {delivery.channel} (STOP)")
            await propose_fallback(session, delivery)
            claims.settled.append(delivery.id)
        elif delivery.channel not in transports:
            await _set_state(session, delivery, DeliveryState.HELD,
                             f"kept in the outbox: no {delivery.channel} transport configured", flush=False)
            claims.settled.append(delivery.id)
        elif claim_sends:
            claims.outbound[delivery.id] = _claim(delivery)
        else:
            claims.to_send.append(delivery.id)
    await session.flush()
    return claims


async def _may_leave(session: AsyncSession, delivery: Delivery, now: datetime) -> bool:
    """Whether the delivery is due to leave now (opt-outs and transports aside)."""
    if delivery.state in FINAL_STATES:
        return False
    if delivery.state == DeliveryState.SENDING.value:
        if delivery.updated_at > now - STALE_SENDING:
            return False  # another run is sending it right now
        # Its worker died mid-send: the server may have accepted it. Sending again could
        # send it twice; a supervisor who checks can resend (at most once, never twice).
        await _set_state(session, delivery, DeliveryState.FAILED,
                         "outcome unknown: the sender stopped during the send; not sent again "
                         "automatically", "interrupted during the send")
        return False
    if delivery.not_before is not None and delivery.not_before > now:
        return False  # backing off; the deferred job will come
    # else: the notification before it has not left: its send enqueues this one (next_in_order)
    return not await _waits_for_another(session, delivery)


def _claim(delivery: Delivery) -> OutboundMessage:
    """`sending` (flushed by the caller), and what to send."""
    delivery.attempts += 1
    delivery.state = DeliveryState.SENDING.value
    delivery.updated_at = utcnow()
    headers = dict(delivery.headers)
    if delivery.channel == Channel.EMAIL.value:
        headers["Auto-Submitted"] = "auto-replied"
    email = delivery.channel == Channel.EMAIL.value
    return OutboundMessage(
        channel=Channel(delivery.channel), to=delivery.to, text=delivery.body,
        subject=delivery.subject, message_id=delivery.header_message_id, headers=headers,
        html=(delivery.html or plain_to_html(delivery.body)) if email else None,
    )


async def _waits_for_another(session: AsyncSession, delivery: Delivery) -> bool:
    """The notification before it (the resolution, for the survey) has not left yet, nor failed:
    a final state either way, so a failed resolution never holds the survey back for ever."""
    before = preceding_key(delivery.dedupe_key)
    if before is None:
        return False
    preceding = await find_delivery(session, before)
    return preceding is not None and preceding.state not in FINAL_STATES


async def next_in_order(session: AsyncSession, delivery_id: int) -> int | None:
    """The queued delivery that waited for this one to leave (the survey after the resolution):
    its id, for the caller to enqueue now; None when there is none."""
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None or delivery.state not in FINAL_STATES:
        return None  # still to leave (backing off, held for quiet hours): the follower waits
    after = following_key(delivery.dedupe_key)
    follower = await find_delivery(session, after) if after else None
    if follower is None or follower.state != DeliveryState.QUEUED.value:
        return None
    return follower.id


async def record_sent(session: AsyncSession, delivery_id: int, provider_id: str) -> None:
    delivery = await _locked(session, delivery_id)
    if delivery is None:
        return
    delivery.provider_id = provider_id[:255] or None
    await _set_state(session, delivery, DeliveryState.SENT, f"sent by {delivery.channel}")


async def record_failure(session: AsyncSession, delivery_id: int, error: str, *, permanent: bool,
                         retry_at: datetime | None = None, reason: str | None = None,
                         error_code: str | None = None) -> None:
    delivery = await _locked(session, delivery_id)
    if delivery is None:
        return
    delivery.error_code = error_code
    if permanent:
        await _set_state(session, delivery, DeliveryState.FAILED, reason or "permanent failure",
                         error[:2000])
        if failed_for_good(delivery):
            await propose_fallback(session, delivery)
    else:
        delivery.state = DeliveryState.QUEUED.value
        delivery.last_error = error[:2000]
        delivery.updated_at = utcnow()
        delivery.not_before = retry_at
        await session.flush()


async def give_up(session: AsyncSession, delivery_id: int, error: str) -> None:
    """Too many transient failures: a dead letter a supervisor can resend."""
    await record_failure(session, delivery_id, f"gave up after retries: {error}", permanent=True,
                         reason="dead letter: too many temporary failures; a supervisor can resend it")


async def record_provider_status(session: AsyncSession, provider_id: str, status: str,
                                 error_code: str | None) -> Delivery | None:
    """A status the provider reports (Twilio's StatusCallback): applied when it is news, never
    going backwards. The delivery; None when no delivery has this provider id."""
    delivery = (await session.exec(select(Delivery).where(Delivery.provider_id == provider_id)
                                   .with_for_update().execution_options(populate_existing=True))).first()
    if delivery is None:
        return None
    status = status.strip().lower()
    known = PROVIDER_PROGRESS.get(delivery.provider_status or "", -1)
    if status not in PROVIDER_PROGRESS or PROVIDER_PROGRESS[status] <= known:
        return delivery  # unknown, or not news: a repeat, or late and out of order
    delivery.provider_status = status
    delivery.error_code = error_code or delivery.error_code
    final = PROVIDER_FINAL.get(status)
    how = f"{delivery.channel} provider: {status}" + (f", error {error_code}" if error_code else "")
    if final is None:
        delivery.updated_at = utcnow()
        await session.flush()
        await _on_timeline(session, delivery, how)
    else:
        error = f"provider error {error_code}" if error_code else delivery.last_error
        if error_code in PERMANENT_SMS_CODES:
            error = f"provider error {error_code}: {PERMANENT_SMS_CODES[error_code]}"
        await _set_state(session, delivery, final, how, error if final is not DeliveryState.DELIVERED
                         else None)
        if failed_for_good(delivery):  # late, but as final as a refusal at once
            await propose_fallback(session, delivery)
    return delivery


BOUNCEABLE = {DeliveryState.SENT.value, DeliveryState.DELIVERED.value}


async def record_bounce(session: AsyncSession, *, message_ids: list[str], tokens: list[str],
                        recipient: str | None, reason: str) -> Delivery | None:
    """A bounce (a DSN that came back to our mailbox) about one of our mails: that delivery
    failed, with the reason, and the next channel is proposed, as for an SMTP 5xx at once.

    The mail is found by the Message-ID the DSN quotes (or its In-Reply-To / References), else
    by the reply token of the ticket plus the recipient: that ticket's last mail to them. The
    delivery; None when none is ours. A repeat of the DSN changes nothing."""
    query = select(Delivery).where(Delivery.channel == Channel.EMAIL.value)
    delivery = None
    if message_ids:
        delivery = (await session.exec(query.where(col(Delivery.header_message_id).in_(message_ids))
                                       .order_by(col(Delivery.id).desc()))).first()
    if delivery is None and tokens and recipient:
        delivery = (await session.exec(
            query.join(Ticket, col(Ticket.id) == Delivery.ticket_id)
            .where(col(Ticket.reply_token).in_(tokens), Delivery.to == recipient)
            .order_by(col(Delivery.id).desc()))).first()
    if delivery is None:
        return None
    delivery = await _locked(session, delivery.id)
    if delivery is None or delivery.state not in BOUNCEABLE:
        return delivery  # failed already (a repeat), or not sent: nothing to change
    await _set_state(session, delivery, DeliveryState.FAILED, f"{delivery.channel} {reason}", reason[:2000])
    await propose_fallback(session, delivery)
    return delivery


# --- what people do to the outbox -----------------------------------------------------------

RESENDABLE = {DeliveryState.FAILED.value, DeliveryState.UNDELIVERED.value}
CANCELLABLE = {DeliveryState.QUEUED.value, DeliveryState.HELD.value}


async def _for_change(session: AsyncSession, delivery_id: int) -> Delivery:
    delivery = await _locked(session, delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id} in the outbox")
    return delivery


async def _by_agent(session: AsyncSession, delivery: Delivery, state: DeliveryState, reason: str,
                    agent_id: int) -> None:
    delivery.state, delivery.updated_at = state.value, utcnow()
    await session.flush()
    if delivery.ticket_id is not None:
        await tickets.record_event(session, delivery.ticket_id, EventKind.DELIVERY, reason=reason,
                                   actor_type="agent", actor_id=agent_id,
                                   data={"delivery_id": delivery.id, "message_id": delivery.message_id,
                                         "state": delivery.state, "channel": delivery.channel,
                                         "attempts": delivery.attempts})


async def resend(session: AsyncSession, delivery_id: int, *, agent_id: int, agent_name: str) -> Delivery:
    """A failed delivery (a dead letter) back in the queue, attempts reset; the caller enqueues
    its send after commit. Conflict for any other state: nothing is sent twice from here."""
    delivery = await _for_change(session, delivery_id)
    if delivery.state not in RESENDABLE:
        raise Conflict(f"delivery {delivery_id} is {delivery.state}: only a failed one can be resent")
    if delivery.channel in (Channel.LETTER.value, Channel.PHONE.value):
        raise Conflict(f"a {delivery.channel} is carried out at the front desk, not resent")
    previous = delivery.last_error
    delivery.attempts, delivery.not_before, delivery.last_error, delivery.error_code = 0, None, None, None
    delivery.provider_id, delivery.provider_status = None, None
    await _by_agent(session, delivery, DeliveryState.QUEUED,
                    f"resent by {agent_name} (was: {previous or 'failed'})", agent_id)
    return delivery


async def cancel(session: AsyncSession, delivery_id: int, *, agent_id: int, agent_name: str) -> Delivery:
    delivery = await _for_change(session, delivery_id)
    if delivery.state not in CANCELLABLE:
        raise Conflict(f"delivery {delivery_id} is {delivery.state}: only a queued or held one can be cancelled")
    await _by_agent(session, delivery, DeliveryState.CANCELLED, f"cancelled by {agent_name}", agent_id)
    return delivery


async def carried_out(session: AsyncSession, delivery_id: int, *, channel: str, agent_id: int,
                      agent_name: str) -> Delivery:
    """A held letter printed, or a call back made, at the front desk: sent, by a person."""
    delivery = await _for_change(session, delivery_id)
    if delivery.channel != channel:
        raise NotFound(f"no {channel} {delivery_id} (delivery {delivery_id} is {delivery.channel})")
    if delivery.state != DeliveryState.HELD.value:
        raise Conflict(f"{channel} {delivery_id} is {delivery.state}, not waiting at the front desk")
    delivery.sent_at = utcnow()
    done = "printed" if channel == Channel.LETTER.value else "called back"
    await _by_agent(session, delivery, DeliveryState.SENT, f"{done} at the front desk by {agent_name}", agent_id)
    return delivery
