"""`make bench`: run every benchmark on SQLite, and on PostgreSQL + Redis when they answer."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import tempfile
from pathlib import Path

import asyncpg
import redis.asyncio as redis
from rich.console import Console
from rich.table import Table

from benchmarks import (
    citizen_search,
    email_ingest,
    email_parse,
    identity_perf,
    identity_quality,
    pipeline,
    reply_suggest,
    routing,
    template_render,
    twilio_webhook,
)

PG = os.environ.get("GUICHET_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("GUICHET_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
OUT = Path("var/bench")


async def _answers_pg() -> bool:
    try:
        await (await asyncpg.connect(PG.replace("+asyncpg", ""), timeout=3)).close()
        return True
    except Exception:
        return False


async def _answers_redis() -> bool:
    client = redis.Redis.from_url(REDIS, socket_connect_timeout=3)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0")
    return (f"{os.cpu_count()} cores, {cpu}, {int(memory) // 1024 // 1024} GiB, "
            f"Python {platform.python_version()}")


@contextlib.asynccontextmanager
async def scratch_database(label: str):
    """A PostgreSQL database of its own for one benchmark, dropped afterwards."""
    name = f"guichet_bench_{label}_{os.getpid()}"
    admin = await asyncpg.connect(PG.replace("+asyncpg", ""))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main(n: int, ingest_n: int, only: str | None, ingest_known: float = 0.0,
               ingest_replies: float = 0.0) -> tuple[list[pipeline.Result], email_ingest.Result | None]:
    results, ingest = [], None
    services = await _answers_pg() and await _answers_redis()
    if not services:
        print("PostgreSQL or Redis does not answer: PostgreSQL figures skipped")
    if only in (None, "pipeline"):
        with tempfile.TemporaryDirectory() as folder:
            results.append(await pipeline.run("sqlite, jobs in process",
                                              f"sqlite+aiosqlite:///{folder}/bench.db", None, n))
        if services:
            async with scratch_database("pipeline") as url:
                results.append(await pipeline.run("postgresql, arq worker", url, REDIS, n))
    if only in (None, "ingest") and services:
        async with scratch_database("ingest") as url:
            ingest = await email_ingest.run(url, REDIS, ingest_n, ingest_known, ingest_replies)
    return results, ingest


async def routing_benchmarks() -> dict:
    """Issue 6: the pure parts always, the transactional assignment when PostgreSQL answers."""
    if not await _answers_pg():
        print("PostgreSQL does not answer: the transactional assignment benchmark is skipped")
        return await routing.run(None)
    async with scratch_database("routing") as url:
        return await routing.run(url)


async def search_benchmarks(n: int, sqlite_n: int, per_kind: int) -> list[citizen_search.Result]:
    """Issue 4: citizen search at n citizens on PostgreSQL, and at sqlite_n on SQLite."""
    results = []
    if await _answers_pg():
        async with scratch_database("search") as url:
            results.append(await citizen_search.run_postgres(url, n, per_kind))
    else:
        print("PostgreSQL does not answer: the PostgreSQL search figures are skipped")
    if sqlite_n:
        with tempfile.TemporaryDirectory() as folder:
            results.append(await citizen_search.run_sqlite(f"sqlite+aiosqlite:///{folder}/search.db",
                                                           sqlite_n, per_kind))
    return results


async def webhook_benchmark(n: int, senders: int, rates: list[float], seconds: float,
                            workers: int) -> twilio_webhook.Result | None:
    """Issue 4: Twilio SMS webhook acknowledgement latency, real server, PostgreSQL + Redis."""
    if not (await _answers_pg() and await _answers_redis()):
        print("PostgreSQL or Redis does not answer: the webhook benchmark is skipped")
        return None
    async with scratch_database("webhook") as url:
        return await twilio_webhook.run(url, REDIS, n, senders, rates, seconds, workers)


async def identity_quality_benchmarks(people: int, postgres: bool) -> list[dict]:
    """Issue 5: precision and recall of `guichet citizens resolve` on SQLite, and PostgreSQL if asked."""
    results = []
    with tempfile.TemporaryDirectory() as folder:
        results.append(await asyncio.to_thread(identity_quality.run, "sqlite", f"sqlite+aiosqlite:///{folder}/id.db",
                                               Path(folder), people))
        if postgres and await _answers_pg():
            async with scratch_database("identity") as url:
                results.append(await asyncio.to_thread(identity_quality.run, "postgresql", url, Path(folder),
                                                       people))
        elif postgres:
            print("PostgreSQL does not answer: the PostgreSQL quality figures are skipped")
    return results


async def identity_perf_benchmark(citizens: int, queries: int, naive_queries: int) -> dict:
    """Issue 5: import rate and resolution latency at `citizens`, SQLite and PostgreSQL, naive scan beside."""
    with tempfile.TemporaryDirectory() as folder:
        backends = [("sqlite", f"sqlite+aiosqlite:///{folder}/id.db")]
        if not await _answers_pg():
            print("PostgreSQL does not answer: the PostgreSQL identity figures are skipped")
            return await identity_perf.run(backends, Path(folder), citizens, queries, naive_queries)
        async with scratch_database("identity_perf") as url:
            return await identity_perf.run(backends + [("postgresql", url)], Path(folder), citizens, queries,
                                           naive_queries)


def _print_pipeline(results: list[pipeline.Result]) -> None:
    table = Table("backend", "n", "accept/s", "POST p50 ms", "POST p99 ms", "jobs/s", "end-to-end/s",
                  "baseline/s", "ratio", title=f"inbound pipeline — {machine()}")
    for r in results:
        table.add_row(r.backend, str(r.n), f"{r.accept_per_s:.0f}", f"{r.post_p50_ms:.1f}",
                      f"{r.post_p99_ms:.1f}", f"{r.jobs_per_s:.0f}", f"{r.end_to_end_per_s:.0f}",
                      f"{r.baseline_per_s:.0f}", f"{r.ratio:.2f}")
    Console(width=140).print(table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=300, help="requests per backend (pipeline)")
    parser.add_argument("--ingest-n", type=int, default=2000, help="emails for the ingest benchmark")
    parser.add_argument("--ingest-known", type=float, default=0.0,
                        help="share of the ingest benchmark's emails from senders already known (0: all new)")
    parser.add_argument("--ingest-replies", type=float, default=0.0,
                        help="share of the ingest benchmark's emails that reply to an earlier ticket (In-Reply-To)")
    parser.add_argument("--only", choices=["pipeline", "ingest", "parse", "routing", "search", "webhook", "templates",
                                           "suggest", "identity-quality", "identity-perf"], help="run one benchmark")
    parser.add_argument("--search-n", type=int, default=1_000_000, help="citizens (search, PostgreSQL)")
    parser.add_argument("--search-sqlite-n", type=int, default=1_000_000, help="citizens (search, SQLite; 0: skip)")
    parser.add_argument("--search-queries", type=int, default=200, help="queries of each kind (search)")
    parser.add_argument("--webhook-n", type=int, default=5000, help="signed SMS webhooks to post")
    parser.add_argument("--templates-n", type=int, default=50_000, help="messages rendered per channel (templates)")
    parser.add_argument("--webhook-senders", type=int, default=50, help="concurrent senders (webhook)")
    parser.add_argument("--webhook-rates", default="50,100,200",
                        help="open-loop Poisson arrival rates per second, comma-separated (webhook)")
    parser.add_argument("--webhook-seconds", type=float, default=15, help="seconds per open-loop rate (webhook)")
    parser.add_argument("--webhook-workers", type=int, default=1, help="guichet serve --workers (webhook)")
    parser.add_argument("--identity-people", type=int, default=20_000, help="reference people (identity quality)")
    parser.add_argument("--identity-postgres", action="store_true", help="identity quality on PostgreSQL too")
    parser.add_argument("--identity-citizens", type=int, default=1_000_000, help="citizens (identity perf)")
    parser.add_argument("--identity-queries", type=int, default=2000, help="resolutions timed (identity perf)")
    parser.add_argument("--identity-naive-queries", type=int, default=50,
                        help="names looked up by the naive rapidfuzz scan (identity perf)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for name in ("guichet", "arq", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    results, ingest = ([], None) if args.only in ("parse", "routing", "search", "webhook", "templates", "suggest",
                                                  "identity-quality", "identity-perf") else asyncio.run(
        main(args.n, args.ingest_n, args.only, args.ingest_known, args.ingest_replies))
    OUT.mkdir(parents=True, exist_ok=True)
    if ingest is not None:
        print(f"email ingest (PostgreSQL, one worker process): {ingest.per_s:.0f} msg/s for {ingest.n} "
              f"emails ({args.ingest_known:.0%} from known senders, {args.ingest_replies:.0%} replies), worker CPU "
              f"{ingest.worker_cpu_ms_per_message:.1f} ms/msg; raw-insert baseline "
              f"{ingest.baseline_per_s:.0f}/s (ratio {ingest.ratio:.2f}); target >= 200/s")
        (OUT / "email_ingest.json").write_text(json.dumps({"machine": machine(),
                                                           **email_ingest.as_row(ingest)}, indent=2))
    if results:
        _print_pipeline(results)
        (OUT / "pipeline.json").write_text(json.dumps({"machine": machine(),
                                                       "results": [pipeline.as_row(r) for r in results]},
                                                      indent=2))
    if args.only in (None, "parse"):
        parsing = email_parse.run()
        print(f"email parse: {parsing.ours_per_s:.0f} msg/s vs stdlib baseline {parsing.baseline_per_s:.0f} "
              f"msg/s (ratio {parsing.ratio:.2f}) on {parsing.messages} fixture messages")
        (OUT / "email_parse.json").write_text(json.dumps(
            {"machine": machine(), "messages": parsing.messages, "ours_per_s": parsing.ours_per_s,
             "baseline_per_s": parsing.baseline_per_s, "ratio": parsing.ratio}, indent=2))
    if args.only in (None, "routing"):
        routed = asyncio.run(routing_benchmarks())
        routing.print_report(routed, machine())
        (OUT / "routing.json").write_text(json.dumps({"machine": machine(), **routed}, indent=2))
    if args.only in (None, "search"):
        found = asyncio.run(search_benchmarks(args.search_n, args.search_sqlite_n, args.search_queries))
        citizen_search.report(found, machine())
        (OUT / "citizen_search.json").write_text(json.dumps(
            {"machine": machine(), "results": [vars(r) for r in found]}, indent=2))
    if args.only in (None, "webhook"):
        rates = [float(rate) for rate in args.webhook_rates.split(",") if rate.strip()]
        acknowledged = asyncio.run(webhook_benchmark(args.webhook_n, args.webhook_senders, rates,
                                                     args.webhook_seconds, args.webhook_workers))
        if acknowledged is not None:
            twilio_webhook.report(acknowledged, machine())
            (OUT / "twilio_webhook.json").write_text(json.dumps(
                {"machine": machine(), **twilio_webhook.as_json(acknowledged)}, indent=2))
    if args.only in (None, "templates"):
        rendered = template_render.run(args.templates_n)
        template_render.report(rendered, machine())
        (OUT / "template_render.json").write_text(json.dumps(
            {"machine": machine(), "results": [template_render.as_row(r) for r in rendered]}, indent=2))
    if args.only in (None, "identity-quality"):
        quality = asyncio.run(identity_quality_benchmarks(args.identity_people, args.identity_postgres))
        (OUT / "identity_quality.json").write_text(json.dumps({"machine": machine(), "results": quality}, indent=2))
    if args.only in (None, "identity-perf"):
        scale = asyncio.run(identity_perf_benchmark(args.identity_citizens, args.identity_queries,
                                                    args.identity_naive_queries))
        identity_perf.report(scale, machine())
        (OUT / "identity_perf.json").write_text(json.dumps({"machine": machine(), **scale}, indent=2))
    if args.only in (None, "suggest"):
        suggested = reply_suggest.run()
        reply_suggest.report(suggested, machine())
        (OUT / "reply_suggest.json").write_text(json.dumps({"machine": machine(), **vars(suggested)}, indent=2))
