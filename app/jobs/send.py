"""Send one delivery through its channel's sender, with retries and a dead letter at the end."""
from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta
from typing import Any, Awaitable, Callable

from app.db import hold_loaded
from channels.base import ChannelError, RetryLater
from crm.columns import utcnow
from crm.types import OutboundMessage
from replies import dispatch
from replies.models import Delivery

log = logging.getLogger("guichet.jobs.send")


def backoff_seconds(attempt: int, base: float) -> float:
    return min(base * 2 ** (attempt - 1), 3600.0)


# Sends of one send_deliveries job at a time: a slow server holds up a few, not the batch.
SEND_CONCURRENCY = 5


async def send_delivery(ctx: dict[str, Any], delivery_id: int) -> str:
    senders = ctx["senders"]
    async with ctx["sessionmaker"]() as session:
        hold_loaded(session)  # the row claim_delivery locked is read again below, not re-selected
        outbound = await dispatch.claim_delivery(session, delivery_id, transports=senders.keys())
        delivery = await session.get(Delivery, delivery_id)
        if delivery is None:
            return "no such delivery"
        attempts = delivery.attempts
        # Sent already, or blocked (STOP) or held just now: the next may go.
        follower = await dispatch.next_in_order(session, delivery_id) if outbound is None else None
        await session.commit()
    if outbound is None:
        await _enqueue_follower(ctx, delivery_id, follower)
        return "nothing to send"
    return await _send(ctx, delivery_id, outbound, attempts)


SEND_BATCH = 100  # deliveries per send_deliveries job


async def enqueue_sends(queue: Any, delivery_ids: list[int], *, tag: str = "") -> None:
    """Ask for these deliveries to be sent: a send_deliveries job per SEND_BATCH of them, not a
    job each (the job's own cost, arq's and a transaction, shared by the batch). `tag` tells
    apart the job ids of two askings for the same deliveries (the sweep's stamp). One delivery
    alone is a send_delivery job, under the id its own job has always had."""
    if len(delivery_ids) == 1:
        await queue.enqueue("send_delivery", delivery_ids[0], job_id=f"send_delivery:{delivery_ids[0]}{tag}")
        return
    for start in range(0, len(delivery_ids), SEND_BATCH):
        chunk = delivery_ids[start:start + SEND_BATCH]
        await queue.enqueue("send_deliveries", chunk,
                            job_id=f"send_deliveries:{chunk[0]}-{chunk[-1]}:{len(chunk)}{tag}")


async def send_deliveries(ctx: dict[str, Any], delivery_ids: list[int]) -> dict[str, int]:
    """Several deliveries (a batch's acknowledgements) in one job. What needs no network (held
    for want of a transport, blocked by a STOP, settled already) is decided for all of them in
    one transaction; each one to send is then claimed, sent and recorded as send_delivery does
    it alone, SEND_CONCURRENCY at a time. The outcomes, counted."""
    async with ctx["sessionmaker"]() as session:
        hold_loaded(session)  # next_in_order reads the rows the claim locked
        claims = await dispatch.claim_deliveries(session, delivery_ids, transports=ctx["senders"].keys(),
                                                 claim_sends=False)
        followers = [(delivery_id, await dispatch.next_in_order(session, delivery_id))
                     for delivery_id in claims.settled]
        await session.commit()
    for delivery_id, follower in followers:
        await _enqueue_follower(ctx, delivery_id, follower)
    limit = asyncio.Semaphore(SEND_CONCURRENCY)

    async def send_one(delivery_id: int) -> str:
        async with limit:
            return await send_delivery(ctx, delivery_id)

    sent = await asyncio.gather(*(send_one(delivery_id) for delivery_id in claims.to_send), return_exceptions=True)
    outcomes = Counter(["nothing to send"] * len(claims.settled)
                       + ["no such delivery"] * (len(set(delivery_ids)) - len(claims.settled) - len(claims.to_send))
                       + [outcome for outcome in sent if isinstance(outcome, str)])
    failures = [outcome for outcome in sent if isinstance(outcome, BaseException)]
    if failures:  # every send ran to its end; the job fails as send_delivery would (the sweep asks again)
        raise failures[0]
    return {outcome: count for outcome, count in outcomes.items() if count}


async def _send(ctx: dict[str, Any], delivery_id: int, outbound: OutboundMessage, attempts: int) -> str:
    """Send a claimed delivery (`sending`, committed) and record how it went."""
    senders = ctx["senders"]
    try:
        provider_id = await senders[outbound.channel.value].send(outbound)
    except RetryLater as exc:
        if attempts >= ctx["settings"].send_max_attempts:
            reason = str(exc)  # a name the lambda keeps: `exc` is unbound when the except block ends
            await _finish(ctx, delivery_id, lambda session: dispatch.give_up(session, delivery_id, reason))
            return "dead letter"
        delay = exc.delay_seconds or backoff_seconds(attempts, ctx["settings"].send_retry_base_seconds)
        async with ctx["sessionmaker"]() as session:
            await dispatch.record_failure(session, delivery_id, str(exc), permanent=False,
                                          retry_at=utcnow() + timedelta(seconds=delay))
            await session.commit()
        await ctx["queue"].enqueue("send_delivery", delivery_id,
                                   job_id=f"send_delivery:{delivery_id}:retry:{attempts}",
                                   defer_seconds=delay)
        log.info("delivery %s deferred %.0fs after attempt %s", delivery_id, delay, attempts)
        return "retry"
    except ChannelError as exc:
        reason, code = str(exc), exc.code
        await _finish(ctx, delivery_id, lambda session: dispatch.record_failure(
            session, delivery_id, reason, permanent=True, error_code=code))
        return "failed"
    await _finish(ctx, delivery_id, lambda session: dispatch.record_sent(session, delivery_id, provider_id))
    return "sent"


async def _finish(ctx: dict[str, Any], delivery_id: int,
                  record: Callable[[Any], Awaitable[None]]) -> None:
    """Record how the send ended and, in the same transaction, find the delivery that waited for
    this one to leave (the survey after the resolution): it goes next, enqueued after commit."""
    async with ctx["sessionmaker"]() as session:
        hold_loaded(session)  # next_in_order reads the row record() just locked
        await record(session)
        follower = await dispatch.next_in_order(session, delivery_id)
        await session.commit()
    await _enqueue_follower(ctx, delivery_id, follower)


async def _enqueue_follower(ctx: dict[str, Any], delivery_id: int, follower: int | None) -> None:
    """Its own job may have run already and found it waiting."""
    if follower is not None:
        await ctx["queue"].enqueue("send_delivery", follower, job_id=f"send_delivery:{follower}:after:{delivery_id}")
