"""Where jobs go: arq on Redis, or an in-process runner for the embedded default.

Both take the same call, `enqueue(function_name, *ids, job_id=...)`, and run
the same job functions. Jobs are idempotent, so the durable state is the
database: what an in-process queue loses in a crash, the sweep finds again.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, runtime_checkable
from uuid import uuid4

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_ms

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


async def enqueue_all_after_commit(queue: JobQueue, function: str, record_ids: Sequence[int]) -> None:
    """enqueue_after_commit for many records: on Redis in one round trip."""
    jobs = [((record_id,), f"{function}:{record_id}") for record_id in record_ids]
    try:
        if isinstance(queue, ArqQueue):
            await queue.enqueue_many(function, jobs)
        else:
            for args, job_id in jobs:
                await queue.enqueue(function, *args, job_id=job_id)
    except Exception as exc:
        log.warning("could not enqueue %s for %d records (%s); the sweep will pick them up",
                    function, len(jobs), type(exc).__name__)


# arq's enqueue_job in one Redis round trip instead of three (WATCH + EXISTS, then MULTI…EXEC),
# for any number of jobs: the same keys, the same "skip when the job or its result exists"
# check, atomic in Redis. KEYS: the queue, then each job's key and result key; ARGV: four per
# job (expiry, arq's own serialisation of the job, score, id), so arq's worker runs them as if
# arq had enqueued them.
_ENQUEUE_SCRIPT = """
local queued = 0
for i = 0, (#KEYS - 1) / 2 - 1 do
  if redis.call('exists', KEYS[2 + 2 * i], KEYS[3 + 2 * i]) == 0 then
    redis.call('psetex', KEYS[2 + 2 * i], ARGV[1 + 4 * i], ARGV[2 + 4 * i])
    redis.call('zadd', KEYS[1], ARGV[3 + 4 * i], ARGV[4 + 4 * i])
    queued = queued + 1
  end
end
return queued
"""


class ArqQueue:
    def __init__(self, redis: ArqRedis, queue_name: str) -> None:
        self.redis = redis
        self.queue_name = queue_name
        self._enqueue_script = redis.register_script(_ENQUEUE_SCRIPT)

    async def enqueue(self, function: str, *args: Any, job_id: str | None = None,
                      defer_seconds: float | None = None) -> None:
        await self.enqueue_many(function, [(args, job_id)], defer_seconds=defer_seconds)

    async def enqueue_many(self, function: str, jobs: Sequence[tuple[tuple[Any, ...], str | None]], *,
                           defer_seconds: float | None = None) -> None:
        """Each job (its arguments, its id) once: a job whose id exists is already asked for."""
        keys, argv = [self.queue_name], []
        enqueued_ms = timestamp_ms()
        defer_ms = to_ms(defer_seconds) or 0
        for args, job_id in jobs:
            # arq's job keys are global to the Redis database: scope ids by queue, so that two
            # installations (or a re-created database) sharing a Redis never skip each other's jobs.
            scoped = f"{self.queue_name}:{job_id}" if job_id else uuid4().hex
            keys += [job_key_prefix + scoped, result_key_prefix + scoped]
            argv += [defer_ms + self.redis.expires_extra_ms,
                     serialize_job(function, args, {}, None, enqueued_ms, serializer=self.redis.job_serializer),
                     enqueued_ms + defer_ms, scoped]
        await self._enqueue_script(keys=keys, args=argv)


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
