"""The walking skeleton's inbound pipeline, end to end, against a same-run baseline.

Measured: POST /api/v1/requests (accept rate, p50/p99 latency), then the jobs
(process_inbound -> assign_ticket -> acknowledge_message -> send_delivery,
held in the outbox) until every ticket is assigned and acknowledged.
Baseline: storing the same raw payloads with plain SQLAlchemy Core inserts,
one transaction each, on the same database: the floor of "record raw first".
"""
from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from dataclasses import asdict, dataclass

import httpx
from arq.worker import Worker
from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, func, update
from sqlmodel import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app import migrations
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.seeds import seed_demo_agents, seed_reference_data
from app.settings import Settings
from app.worker import worker_options
from crm.models import Ticket
from replies.models import Delivery
from routing.models import Agent

CONCURRENCY = 8


@dataclass
class Result:
    backend: str
    n: int
    accept_per_s: float
    post_p50_ms: float
    post_p99_ms: float
    jobs_per_s: float  # requests fully processed per second once accepted
    end_to_end_per_s: float
    baseline_per_s: float

    @property
    def ratio(self) -> float:
        return self.end_to_end_per_s / self.baseline_per_s


def body(i: int) -> dict:
    return {"name": f"Citoyen {i}", "email": f"citoyen{i}@example.org",
            "category": ["etat_civil", "urbanisme", "voirie", "social", "autre"][i % 5],
            "subject": f"Demande {i}", "message": "Bonjour, je voudrais des informations. " * 3}


async def _prepare(database_url: str) -> None:
    await asyncio.to_thread(migrations.upgrade, database_url)
    engine = make_engine(database_url)
    async with make_sessionmaker(engine)() as session:
        await seed_reference_data(session)
        await seed_demo_agents(session)
        await session.exec(update(Agent).values(capacity=1_000_000))  # measure the pipeline, not queueing
        await session.commit()
    await engine.dispose()


async def _baseline(engine: AsyncEngine, n: int) -> float:
    table = Table(f"bench_raw_{uuid.uuid4().hex[:6]}", MetaData(),
                  Column("id", Integer, primary_key=True), Column("payload", LargeBinary))
    async with engine.begin() as connection:
        await connection.run_sync(table.create)
    payloads = [json.dumps(body(i)).encode() for i in range(n)]
    start = time.perf_counter()
    for payload in payloads:
        async with engine.begin() as connection:
            await connection.execute(table.insert().values(payload=payload))
    elapsed = time.perf_counter() - start
    async with engine.begin() as connection:
        await connection.run_sync(table.drop)
    return n / elapsed


async def _drain(app, settings: Settings) -> None:
    if settings.redis_url:
        worker = Worker(**{**worker_options(settings), "cron_jobs": []}, burst=True, poll_delay=0.005,
                        handle_signals=False)
        try:
            await worker.main()
        finally:
            await worker.close()
    else:
        await app.state.queue.join()


async def run(backend: str, database_url: str, redis_url: str | None, n: int) -> Result:
    await _prepare(database_url)
    settings = Settings(_env_file=None, database_url=database_url, redis_url=redis_url,
                        queue_name=f"guichet-bench:{uuid.uuid4().hex[:8]}", sweep_interval_seconds=3600,
                        log_level="WARNING")
    app = create_app(settings)
    started, stop = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    holder = asyncio.create_task(hold())
    await started.wait()
    latencies: list[float] = []
    limit = asyncio.Semaphore(CONCURRENCY)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        async def post(i: int) -> None:
            async with limit:
                t0 = time.perf_counter()
                response = await client.post("/api/v1/requests", json=body(i))
                latencies.append(time.perf_counter() - t0)
                if response.status_code != 201:
                    raise RuntimeError(f"POST failed: {response.status_code} {response.text}")

        start = time.perf_counter()
        await asyncio.gather(*(post(i) for i in range(n)))
        accepted = time.perf_counter()
        await _drain(app, settings)
        done = time.perf_counter()
    async with app.state.sessionmaker() as session:
        assigned = (await session.exec(select(func.count()).select_from(Ticket)
                                       .where(Ticket.assignee_id.is_not(None)))).one()
        deliveries = (await session.exec(select(func.count()).select_from(Delivery))).one()
    baseline = await _baseline(app.state.engine, n)
    stop.set()
    await holder
    if assigned != n or deliveries != n:
        raise RuntimeError(f"{backend}: {assigned} assigned and {deliveries} deliveries for {n} requests")
    latencies.sort()
    return Result(backend, n, n / (accepted - start), statistics.median(latencies) * 1000,
                  latencies[int(0.99 * (n - 1))] * 1000, n / (done - accepted), n / (done - start),
                  baseline)


def as_row(result: Result) -> dict:
    return {**asdict(result), "ratio_to_baseline": result.ratio}
