"""Jobs enqueued by Guichet's one-round-trip script, read back by arq's own API (what its
worker reads): same keys, same body, same "once per job id"."""
from __future__ import annotations

import time
import uuid

import pytest
from arq.connections import ArqRedis

from app.queue import ArqQueue
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs GUICHET_TEST_REDIS_URL")


async def test_a_job_is_queued_once_per_id_as_arq_would_queue_it() -> None:
    redis = ArqRedis.from_url(REDIS_URL)
    name = f"guichet-test:{uuid.uuid4().hex[:8]}"
    try:
        queue = ArqQueue(redis, name)
        before_ms = time.time() * 1000
        await queue.enqueue("process_inbound", 7, job_id="process_inbound:7")
        await queue.enqueue("process_inbound", 7, job_id="process_inbound:7")  # a retried webhook
        await queue.enqueue("send_delivery", 3, job_id="send_delivery:3", defer_seconds=30)
        jobs = sorted(await redis.queued_jobs(queue_name=name), key=lambda job: job.function)
        assert [(job.function, job.args, job.job_id) for job in jobs] == [
            ("process_inbound", (7,), f"{name}:process_inbound:7"),
            ("send_delivery", (3,), f"{name}:send_delivery:3")]
        scores = dict(await redis.zrange(name, 0, -1, withscores=True))
        deferred = scores[f"{name}:send_delivery:3".encode()]
        assert before_ms + 29_000 < deferred < time.time() * 1000 + 31_000
        # Like arq: the job key expires a day after it is due, and a job that left a result
        # (it ran) is not queued again under the same id.
        assert 86_000 < await redis.ttl(f"arq:job:{name}:send_delivery:3") <= 86_430
        await redis.set(f"arq:result:{name}:done:1", b"x")
        await queue.enqueue("process_inbound", 1, job_id="done:1")
        assert await redis.zcard(name) == 2
    finally:
        keys = [key async for key in redis.scan_iter(f"arq:*:{name}:*")]
        await redis.delete(name, *keys)
        await redis.aclose()


async def test_many_jobs_are_queued_in_one_call_each_once() -> None:
    """The SMS webhook asks for a batch's jobs in one round trip: each job as enqueue would
    queue it, the ones already queued or already run (a result left) skipped, the rest kept."""
    redis = ArqRedis.from_url(REDIS_URL)
    name = f"guichet-test:{uuid.uuid4().hex[:8]}"
    try:
        queue = ArqQueue(redis, name)
        await queue.enqueue("process_inbound", 2, job_id="process_inbound:2")
        await redis.set(f"arq:result:{name}:process_inbound:4", b"x")
        await queue.enqueue_many("process_inbound", [((i,), f"process_inbound:{i}") for i in range(1, 6)])
        jobs = sorted(await redis.queued_jobs(queue_name=name), key=lambda job: job.args)
        assert [(job.function, job.args, job.job_id) for job in jobs] == [
            ("process_inbound", (i,), f"{name}:process_inbound:{i}") for i in (1, 2, 3, 5)]
    finally:
        keys = [key async for key in redis.scan_iter(f"arq:*:{name}:*")]
        await redis.delete(name, *keys)
        await redis.aclose()
