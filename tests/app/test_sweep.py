"""The minute's sweep asks again for work whose own job was lost, not for work still on its way."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from app.jobs.sweep import sweep
from crm.columns import utcnow
from replies.models import Delivery
from tests.conftest import Stack


class Asked:
    """A job queue that records what it is asked for."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple]] = []

    async def enqueue(self, function: str, *args: Any, **_: Any) -> None:
        self.jobs.append((function, args))

    def sends(self) -> list[int]:
        return [delivery_id for function, args in self.jobs if function in ("send_delivery", "send_deliveries")
                for delivery_id in (args[0] if function == "send_deliveries" else [args[0]])]


async def _queued_deliveries(stack: Stack, n: int) -> list[int]:
    """n acknowledgements, held in the outbox (no SMTP here), put back in the queue as if
    their send jobs had not run yet."""
    for i in range(n):
        await stack.post_request(email=f"citoyen{i}@example.org")
    await stack.drain()
    async with stack.session() as session:
        deliveries = (await session.exec(select(Delivery).order_by(Delivery.id))).all()
        assert len(deliveries) == n
        for delivery in deliveries:
            delivery.state = "queued"
        await session.commit()
        return [delivery.id for delivery in deliveries]


async def _age(stack: Stack, delivery_id: int, *, updated: timedelta, not_before: timedelta | None = None) -> None:
    async with stack.session() as session:
        delivery = await session.get(Delivery, delivery_id)
        delivery.updated_at = utcnow() - updated
        delivery.not_before = None if not_before is None else utcnow() - not_before
        await session.commit()


async def test_a_delivery_just_queued_is_left_to_its_own_job(stack: Stack) -> None:
    fresh, lost, retried_now, retried_long_ago = await _queued_deliveries(stack, 4)
    await _age(stack, lost, updated=timedelta(minutes=5))
    # Back-off over just now: its deferred job is due. Over long ago: that job was lost.
    await _age(stack, retried_now, updated=timedelta(minutes=5), not_before=timedelta(seconds=5))
    await _age(stack, retried_long_ago, updated=timedelta(minutes=10), not_before=timedelta(minutes=5))
    ctx = {"settings": stack.settings.model_copy(update={"sweep_interval_seconds": 60}),
           "sessionmaker": stack.app.state.sessionmaker, "queue": Asked()}

    counts = await sweep(ctx)

    assert ctx["queue"].sends() == [lost, retried_long_ago]
    assert counts["deliveries"] == 2
    # At start-up nothing is on its way: every queued delivery is asked for.
    ctx["queue"] = Asked()
    await sweep(ctx, grace_seconds=0)
    assert ctx["queue"].sends() == [fresh, lost, retried_now, retried_long_ago]
