"""Send one delivery through its channel's sender, with retries and a dead letter at the end."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from channels.base import ChannelError, RetryLater
from crm.columns import utcnow
from replies import dispatch
from replies.models import Delivery

log = logging.getLogger("guichet.jobs.send")


def backoff_seconds(attempt: int, base: float) -> float:
    return min(base * 2 ** (attempt - 1), 3600.0)


async def send_delivery(ctx: dict[str, Any], delivery_id: int) -> str:
    senders = ctx["senders"]
    async with ctx["sessionmaker"]() as session:
        delivery = await session.get(Delivery, delivery_id)
        if delivery is None:
            return "no such delivery"
        outbound = await dispatch.claim_delivery(session, delivery_id,
                                                 can_send=delivery.channel in senders)
        attempts = delivery.attempts
        await session.commit()
    if outbound is None:  # sent already, or blocked (STOP) or held just now: the next may go
        await _send_next_in_order(ctx, delivery_id)
        return "nothing to send"
    try:
        provider_id = await senders[outbound.channel.value].send(outbound)
    except RetryLater as exc:
        if attempts >= ctx["settings"].send_max_attempts:
            async with ctx["sessionmaker"]() as session:
                await dispatch.give_up(session, delivery_id, str(exc))
                await session.commit()
            await _send_next_in_order(ctx, delivery_id)
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
        async with ctx["sessionmaker"]() as session:
            await dispatch.record_failure(session, delivery_id, str(exc), permanent=True,
                                          error_code=exc.code)
            await session.commit()
        await _send_next_in_order(ctx, delivery_id)
        return "failed"
    async with ctx["sessionmaker"]() as session:
        await dispatch.record_sent(session, delivery_id, provider_id)
        await session.commit()
    await _send_next_in_order(ctx, delivery_id)
    return "sent"


async def _send_next_in_order(ctx: dict[str, Any], delivery_id: int) -> None:
    """This one has left (or failed for good): the one waiting for it goes now (the survey
    after the resolution). Its own job may have run already and found it waiting."""
    async with ctx["sessionmaker"]() as session:
        follower = await dispatch.next_in_order(session, delivery_id)
    if follower is not None:
        await ctx["queue"].enqueue("send_delivery", follower, job_id=f"send_delivery:{follower}:after:{delivery_id}")
