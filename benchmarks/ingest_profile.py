"""Email ingest in this process, without arq: statements and CPU per email (PostgreSQL).

`python -m benchmarks.ingest_profile [N] [single|batch] [KNOWN]`: N emails, each through
process_inbound (one job per event) or process_inbound_batch (BATCH_SIZE per job), on a
scratch database; KNOWN (default 0): the share of them whose sender is a citizen already, with
an earlier ticket (taken in before the measure, as benchmarks/email_ingest.py does); prints emails/s, CPU ms per email (this process) and the statements
per email by kind (SQLAlchemy's before_cursor_execute). What the worker benchmark
(benchmarks/email_ingest.py) cannot tell apart: the pipeline's own cost and its statements.
"""
from __future__ import annotations

import asyncio
import collections
import sys
import time
import uuid

from sqlalchemy import event

from app.db import make_engine
from app.jobs import FUNCTIONS
from app.jobs.context import build_job_context
from app.settings import Settings
from benchmarks.__main__ import scratch_database
from benchmarks.email_ingest import raw_email
from benchmarks.pipeline import _prepare
from crm.inbound import record_inbound

WARM_UP = 20


class _Jobs:
    """The next jobs, counted and not run: this measures the intake alone."""

    def __init__(self) -> None:
        self.asked: collections.Counter[str] = collections.Counter()

    async def enqueue(self, function: str, *args, job_id=None, defer_seconds=None) -> None:
        self.asked[function] += 1


async def _run(ctx: dict, mode: str, ids: list[int]) -> None:
    if mode == "single":
        for event_id in ids:
            await FUNCTIONS["process_inbound"](ctx, event_id)
    else:
        from app.jobs.inbound import BATCH_SIZE  # here: the single mode runs on older trees too

        for start in range(0, len(ids), BATCH_SIZE):
            await FUNCTIONS["process_inbound_batch"](ctx, ids[start:start + BATCH_SIZE])


async def main(n: int, mode: str, known: float = 0.0) -> None:
    async with scratch_database("ingest_profile") as url:
        await _prepare(url)
        engine = make_engine(url)
        ctx = build_job_context(Settings(database_url=url, redis_url=None, imap_mailboxes=[], smtp_url=""),
                                engine, _Jobs())
        step = round(1 / known) if known > 0 else 0
        earlier = [i for i in range(WARM_UP, n + WARM_UP) if step and (i - WARM_UP) % step == 0]
        async with ctx["sessionmaker"]() as session:
            ids = [(await record_inbound(session, channel="email", external_id=f"profile:{i}:{uuid.uuid4()}",
                                         payload=raw_email(i))).event.id for i in [*earlier, *range(n + WARM_UP)]]
            await session.commit()
        await _run(ctx, "batch", ids[:len(earlier)])  # their senders become citizens, with a ticket
        ids = ids[len(earlier):]
        await _run(ctx, mode, ids[:WARM_UP])
        counts: collections.Counter[str] = collections.Counter()

        def count(_conn, _cursor, statement, *_args) -> None:
            counts[" ".join(statement.split())[:90]] += 1

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        wall, cpu = time.perf_counter(), time.process_time()
        await _run(ctx, mode, ids[WARM_UP:])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        await engine.dispose()
    print(f"{mode}: {n} emails ({known:.0%} from known senders), {n / wall:.0f}/s in this process, CPU {cpu / n * 1000:.1f} ms per email, "
          f"{sum(counts.values()) / n:.1f} statements per email")
    for statement, times in counts.most_common(30):
        print(f"{times / n:6.2f}  {statement}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300, sys.argv[2] if len(sys.argv) > 2 else "batch",
                     float(sys.argv[3]) if len(sys.argv) > 3 else 0.0))
