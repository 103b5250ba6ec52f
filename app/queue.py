"""Where jobs go: arq on Redis, or an in-process runner for the embedded default.

Both take the same call, `enqueue(function_name, *ids, job_id=...)`, and run
the same job functions. Jobs are idempotent, so the durable state is the
database: what an in-process queue loses in a crash, the sweep finds again.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from arq.connections import ArqRedis

log = logging.getLogger("guichet.queue")

JobFunction = Callable[..., Awaitable[Any]]


@runtime_checkable
class JobQueue(Protocol):
    async def enqueue(self, function: str, *args: Any, job_id: str | None = None,
                      defer_seconds: float | None = None) -> None: ...


async def enqueue_after_commit(queue: JobQueue, function: str, record_id: int, *, job_id: str | None = None) -> None:
    """Ask for the job that finishes a committed record; if the queue is unreachable, the
    record is safe and the sweep will ask again, so the caller's answer does not fail."""
    try:
        await queue.enqueue(function, record_id, job_id=job_id or f"{function}:{record_id}")
    except Exception as exc:
        log.warning("could not enqueue %s %s (%s); the sweep will pick it up",
                    function, record_id, type(exc).__name__)


class ArqQueue:
    def __init__(self, redis: ArqRedis, queue_name: str) -> None:
        self.redis = redis
        self.queue_name = queue_name

    async def enqueue(self, function: str, *args: Any, job_id: str | None = None,
                      defer_seconds: float | None = None) -> None:
        # None back from arq means a job with this id exists: the work is already asked for.
        # arq's job keys are global to the Redis database: scope ids by queue, so that two
        # installations (or a re-created database) sharing a Redis never skip each other's jobs.
        scoped = f"{self.queue_name}:{job_id}" if job_id else None
        await self.redis.enqueue_job(function, *args, _job_id=scoped, _queue_name=self.queue_name,
                                     _defer_by=defer_seconds)


class InProcessQueue:
    """Runs jobs as asyncio tasks in this process, one at a time, deduplicated by job id."""

    def __init__(self, functions: dict[str, JobFunction], ctx: dict[str, Any]) -> None:
        self.functions = functions
        self.ctx = ctx
        self._queue: asyncio.Queue[tuple[str, tuple[Any, ...], str | None]] = asyncio.Queue()
        self._pending: set[str] = set()
        self._timers: set[asyncio.Task] = set()
        self._runner: asyncio.Task | None = None

    async def enqueue(self, function: str, *args: Any, job_id: str | None = None,
                      defer_seconds: float | None = None) -> None:
        if function not in self.functions:
            raise KeyError(f"unknown job {function}")
        if job_id is not None:
            if job_id in self._pending:
                return
            self._pending.add(job_id)
        if defer_seconds:
            timer = asyncio.create_task(self._later(defer_seconds, (function, args, job_id)))
            self._timers.add(timer)
            timer.add_done_callback(self._timers.discard)
        else:
            self._queue.put_nowait((function, args, job_id))

    async def _later(self, delay: float, item: tuple[str, tuple[Any, ...], str | None]) -> None:
        await asyncio.sleep(delay)
        self._queue.put_nowait(item)

    async def _run(self) -> None:
        while True:
            function, args, job_id = await self._queue.get()
            if job_id is not None:
                self._pending.discard(job_id)
            try:
                await self.functions[function](self.ctx, *args)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The job's own state stays in the database; the sweep will try again.
                log.exception("job %s failed", function)
            finally:
                self._queue.task_done()

    def start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="guichet-inprocess-jobs")

    async def join(self) -> None:
        """Wait until every job enqueued so far, and every job they enqueued (deferred ones
        included), has run."""
        while True:
            await self._queue.join()
            if not self._timers:
                return
            await asyncio.gather(*self._timers, return_exceptions=True)

    async def stop(self) -> None:
        for task in [*self._timers, *([self._runner] if self._runner else [])]:
            task.cancel()
        for task in [*self._timers, *([self._runner] if self._runner else [])]:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._runner = None
