"""The acknowledgements' send jobs in this process, without arq: CPU and statements per delivery.

`python -m benchmarks.send_profile [N] [one|batch]`: N emails from new citizens taken in by
process_inbound_batch on a scratch PostgreSQL database, then their acknowledgements sent by a
send_delivery job each (`one`) or a send_deliveries job per SEND_BATCH (`batch`). As in the
ingest benchmark there is no SMTP: each acknowledgement is held in the outbox, so this measures
the jobs' own cost (claim, opt-out check, outcome, timeline), not a mail server's.
"""
from __future__ import annotations

import asyncio
import collections
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from app.db import make_engine
from app.jobs import FUNCTIONS
from app.jobs.context import build_job_context
from app.jobs.send import SEND_BATCH
from app.settings import Settings
from benchmarks.__main__ import scratch_database
from benchmarks.email_ingest import raw_email
from benchmarks.ingest_profile import _run as take_in
from benchmarks.pipeline import _prepare
from crm.inbound import record_inbound

WARM_UP = 20


class _Sends:
    """The send jobs asked for, collected and not run."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    async def enqueue(self, function: str, *args, job_id=None, defer_seconds=None) -> None:
        if function == "send_delivery":
            self.ids.append(args[0])
        elif function == "send_deliveries":
            self.ids += args[0]


async def _send(ctx: dict, mode: str, ids: list[int]) -> None:
    size = 1 if mode == "one" else SEND_BATCH
    for chunk in (ids[start:start + size] for start in range(0, len(ids), size)):
        await (FUNCTIONS["send_delivery"](ctx, chunk[0]) if mode == "one"
               else FUNCTIONS["send_deliveries"](ctx, chunk))


async def main(n: int, mode: str) -> None:
    async with scratch_database("send_profile") as url:
        await _prepare(url)
        engine = make_engine(url)
        sends = _Sends()
        ctx = build_job_context(Settings(database_url=url, redis_url=None, imap_mailboxes=[], smtp_url=""),
                                engine, sends)
        async with ctx["sessionmaker"]() as session:
            events = [(await record_inbound(session, channel="email", external_id=f"send:{i}:{uuid.uuid4()}",
                                            payload=raw_email(i))).event.id for i in range(n + WARM_UP)]
            await session.commit()
        await take_in(ctx, "batch", events)
        await _send(ctx, mode, sends.ids[:WARM_UP])
        ids = sends.ids[WARM_UP:]
        with _measured(engine) as measured:
            await _send(ctx, mode, ids)
        await engine.dispose()
    cpu, counts = measured
    print(f"{mode}: {len(ids)} acknowledgements, CPU {cpu / len(ids) * 1000:.2f} ms per delivery, "
          f"{sum(counts.values()) / len(ids):.2f} statements per delivery")
    for statement, times in counts.most_common(10):
        print(f"{times / len(ids):6.2f}  {statement}")


@contextmanager
def _measured(engine) -> Iterator[list]:
    """[CPU seconds of this process, statements by text] over the block."""
    counts: collections.Counter[str] = collections.Counter()
    listener = lambda _conn, _cursor, statement, *_: counts.update([" ".join(statement.split())[:90]])  # noqa: E731
    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    result: list = []
    start = time.process_time()
    try:
        yield result
    finally:
        result += [time.process_time() - start, counts]
        event.remove(engine.sync_engine, "before_cursor_execute", listener)

if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300, sys.argv[2] if len(sys.argv) > 2 else "batch"))
