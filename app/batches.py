"""Group work that many concurrent requests ask for into one round trip (group commit)."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# What a flush gives back for each item: its result, or the exception that item failed with.
Flush = Callable[[list[T]], Awaitable[Sequence[R | BaseException]]]


class Batcher(Generic[T, R]):
    """One flush runs at a time; what is submitted while it runs waits for the next flush, which
    takes all of it (up to `max_size`). Under load a batch holds what arrived during one round
    trip, so the round trips per item fall as the load grows; alone, an item is a batch of one
    and waits for nothing."""

    def __init__(self, flush: Flush[T, R], *, max_size: int = 500) -> None:
        self._flush = flush
        self._max_size = max_size
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._runner: asyncio.Task[None] | None = None

    def submit_nowait(self, item: T) -> asyncio.Future[R]:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="guichet-batcher")
        return future

    async def submit(self, item: T) -> R:
        """The item's result once its batch is flushed, or the exception the flush raised."""
        return await self.submit_nowait(item)

    async def drain(self) -> None:
        """Wait until everything submitted so far is flushed."""
        while self._runner is not None:
            await asyncio.shield(self._runner)

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:self._max_size], self._waiting[self._max_size:]
                try:
                    outcomes = await self._flush([item for item, _ in batch])
                    settled = list(zip(batch, outcomes, strict=True))  # a short answer fails them all
                except Exception as exc:
                    for _, future in batch:
                        _settle(future, _failed(exc))
                    continue
                except BaseException:
                    for _, future in batch:
                        future.cancel()
                    raise
                for (_, future), outcome in settled:
                    _settle(future, outcome)
        finally:
            self._runner = None
            leftover, self._waiting = self._waiting, []
            for _, future in leftover:  # only when the runner was cancelled (the loop shuts down)
                future.cancel()


class BatchFailed(Exception):
    """The flush that carried this item failed as a whole; its cause is the flush's exception."""


def _failed(exc: Exception) -> BatchFailed:
    # One exception object per waiter, so that each raises it with its own traceback.
    failed = BatchFailed(f"{type(exc).__name__} in a batch")
    failed.__cause__ = exc
    return failed


def _settle(future: asyncio.Future, outcome: object) -> None:
    """A waiter that went away (its request was cancelled) has nothing to settle."""
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
