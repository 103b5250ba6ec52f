"""Twilio SMS webhook acknowledgement under load (issue 4's target: p99 <= 50 ms on PostgreSQL).

A real `guichet serve` process (uvicorn, as shipped) runs on 127.0.0.1 against PostgreSQL and
Redis with GUICHET_TWILIO_AUTH_TOKEN set. Every post is a signed `POST /webhooks/twilio/sms`
with its own MessageSid, signed by the twilio SDK's RequestValidator as Twilio signs them.
Latency is from the request's due time to the 200 with empty TwiML read: verify, record the
raw event, commit, enqueue. No worker runs: what is measured is the answer Twilio waits for.

Two loads:
- closed loop: `senders` clients each post, wait for the answer, post again. This measures the
  saturation throughput; its latency is senders / throughput by Little's law, whatever the code.
- open loop: posts arrive at Poisson times at a fixed aggregate rate (Twilio calls us when SMS
  arrive; it does not wait for our answer to one citizen before sending the next one's). The
  latency of a post counts from its scheduled time, so a client that falls behind counts
  against us (no coordinated omission).

The same loads run against a bare litestar route on the same uvicorn answering empty TwiML
(the floor this machine, this client and this HTTP stack allow): the ratio is ours / floor.
"""
from __future__ import annotations

import asyncio
import gc
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import asyncpg
import httpx
from twilio.request_validator import RequestValidator

from app import migrations
from benchmarks.processes import stop

TOKEN = "bench-auth-token-0123456789abcdef"
PUBLIC = "https://guichet.ville.example"
PATH = "/webhooks/twilio/sms"
WARM_UP = 100
HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Run:
    server: str  # "guichet" or "bare" (the floor)
    load: str  # "closed" or "open"
    rate: float | None  # open loop: the aggregate arrival rate asked for, per second
    n: int
    senders: int
    seconds: float
    per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    server_cpu_ms: float  # the server's CPU time (all its processes) per post: what load hides less


@dataclass
class Result:
    workers: int
    runs: list[Run]
    stored: int  # events in the database after the guichet runs (warm-ups included)
    posted: int  # signed posts answered 200 by guichet (warm-ups included)
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (uvicorn's workers), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(_cpu_seconds(int(child)) for child in children)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _signed_posts(count: int) -> list[tuple[str, dict[str, str]]]:
    validator = RequestValidator(TOKEN)
    posts = []
    for i in range(count):
        sid = "SM" + uuid.uuid4().hex
        params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32,
                  "From": f"+336{10_000_000 + i % 5000:08d}", "To": "+33198765432",
                  "Body": f"Bonjour, où en est ma demande ? ({i})", "NumMedia": "0", "FromCountry": "FR"}
        posts.append((urlencode(params), {**HEADERS, "X-Twilio-Signature":
                                          validator.compute_signature(PUBLIC + PATH, params)}))
    return posts


async def _wait_ready(base: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode}")
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not start")


class Poster:
    """One keep-alive client (aiohttp: it costs the shared cores a few times less CPU per
    request than httpx, and the client's CPU is taken from the server's)."""

    def __init__(self, base: str, connections: int, server_pid: int) -> None:
        self.server_pid = server_pid
        self.url = base + PATH
        self.client = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections),
                                            timeout=aiohttp.ClientTimeout(total=30))

    async def post(self, body: str, headers: dict[str, str]) -> bool:
        try:
            async with self.client.post(self.url, data=body.encode(), headers=headers) as response:
                await response.read()
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):  # counted; Twilio would retry it
            return False

    async def warm_up(self, posts: list[tuple[str, dict[str, str]]], senders: int) -> None:
        """Connections, pools, statement caches: opened, not counted."""
        await self._closed(posts, senders)

    async def _closed(self, posts: list[tuple[str, dict[str, str]]], senders: int) -> tuple[list[float], int]:
        latencies: list[float] = []
        errors = 0
        pending = list(reversed(posts))

        async def sender() -> None:
            nonlocal errors
            while pending:
                body, headers = pending.pop()
                start = time.perf_counter()
                if await self.post(body, headers):
                    latencies.append((time.perf_counter() - start) * 1000)
                else:
                    errors += 1

        await asyncio.gather(*(sender() for _ in range(senders)))
        return latencies, errors

    async def closed(self, server: str, posts: list[tuple[str, dict[str, str]]], senders: int) -> Run:
        started, cpu = time.perf_counter(), _cpu_seconds(self.server_pid)
        latencies, errors = await self._closed(posts, senders)
        return _run(server, "closed", None, senders, time.perf_counter() - started, latencies, errors,
                    _cpu_seconds(self.server_pid) - cpu)

    async def open(self, server: str, posts: list[tuple[str, dict[str, str]]], rate: float, senders: int,
                   seed: int) -> Run:
        """Poisson arrivals at `rate` per second, spread over `senders` citizens' phones; each post
        is sent at its time whether or not earlier ones were answered."""
        draw = random.Random(seed)
        latencies: list[float] = []
        errors = 0

        async def one(due: float, body: str, headers: dict[str, str]) -> None:
            nonlocal errors
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if await self.post(body, headers):
                latencies.append((time.perf_counter() - due) * 1000)
            else:
                errors += 1

        started, cpu = time.perf_counter(), _cpu_seconds(self.server_pid)
        due = started
        tasks = []
        for body, headers in posts:
            due += draw.expovariate(rate)
            tasks.append(asyncio.create_task(one(due, body, headers)))
        await asyncio.gather(*tasks)
        return _run(server, "open", rate, senders, time.perf_counter() - started, latencies, errors,
                    _cpu_seconds(self.server_pid) - cpu)

    async def aclose(self) -> None:
        await self.client.close()


def _run(server: str, load: str, rate: float | None, senders: int, seconds: float, latencies: list[float],
         errors: int, cpu_seconds: float) -> Run:
    n = len(latencies) + errors
    return Run(server=server, load=load, rate=rate, n=n, senders=senders, seconds=seconds, per_s=n / seconds,
               p50_ms=statistics.median(latencies), p95_ms=_pct(latencies, 0.95), p99_ms=_pct(latencies, 0.99),
               max_ms=max(latencies), errors=errors, server_cpu_ms=cpu_seconds * 1000 / n)


async def _measure(server: str, pid: int, base: str, n: int, senders: int, rates: list[float],
                   seconds: float) -> list[Run]:
    # Open loop: at most `senders` posts in flight on keep-alive connections would make the client
    # queue them (closed loop again); Twilio opens what it needs, so the client may too.
    poster = Poster(base, connections=max(senders, 200), server_pid=pid)
    # The client is the measuring instrument: a full pass of its own garbage collector over the
    # thousands of pending posts would stall it and be counted as the server's latency.
    gc.collect()
    gc.disable()
    try:
        await poster.warm_up(_signed_posts(WARM_UP), senders)
        runs = [await poster.closed(server, _signed_posts(n), senders)]
        for i, rate in enumerate(rates):
            runs.append(await poster.open(server, _signed_posts(int(rate * seconds)), rate, senders, seed=i))
        return runs
    finally:
        gc.enable()
        await poster.aclose()


def _server(command: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen:
    Path("var/bench").mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(f"var/bench/{log_name}.log", "w"))


async def run(database_url: str, redis_url: str, n: int, senders: int, rates: list[float], seconds: float,
              workers: int = 1) -> Result:
    await asyncio.to_thread(migrations.upgrade, database_url)
    load_before = os.getloadavg()
    runs: list[Run] = []
    bin_dir = Path(sys.executable).parent
    # The floor: the same uvicorn (httptools, uvloop), litestar, one route, no work.
    port = _free_port()
    bare = _server([str(bin_dir / "uvicorn"), "benchmarks.bare_twiml:app", "--host", "127.0.0.1", "--port",
                    str(port), "--no-access-log", "--workers", str(workers)], dict(os.environ), "webhook-bare")
    try:
        await _wait_ready(f"http://127.0.0.1:{port}", bare)
        runs += await _measure("bare", bare.pid, f"http://127.0.0.1:{port}", n, senders, rates, seconds)
    finally:
        stop(bare)
    port = _free_port()
    env = {**os.environ, "GUICHET_DATABASE_URL": database_url, "GUICHET_REDIS_URL": redis_url,
           "GUICHET_QUEUE_NAME": f"guichet-bench-webhook:{uuid.uuid4().hex[:8]}",
           "GUICHET_TWILIO_AUTH_TOKEN": TOKEN, "GUICHET_PUBLIC_URL": PUBLIC, "GUICHET_LOG_LEVEL": "WARNING",
           "GUICHET_IMAP_MAILBOXES": "[]", "GUICHET_SMTP_URL": ""}
    extra = ["--workers", str(workers)] if workers != 1 else []
    server = _server([str(bin_dir / "guichet"), "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
                     env, "webhook-server")
    try:
        await _wait_ready(f"http://127.0.0.1:{port}", server)
        guichet = await _measure("guichet", server.pid, f"http://127.0.0.1:{port}", n, senders, rates, seconds)
    finally:
        stop(server)
    runs += guichet
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        stored = await connection.fetchval("SELECT count(*) FROM inbound_event WHERE channel = 'sms'")
    finally:
        await connection.close()
    posted = WARM_UP + sum(r.n - r.errors for r in guichet)
    return Result(workers=workers, runs=runs, stored=stored, posted=posted, load_before=load_before,
                  load_after=os.getloadavg())


def as_json(result: Result) -> dict:
    return asdict(result)


def report(result: Result, machine: str) -> None:
    print(f"twilio webhook ({machine}), guichet serve --workers {result.workers}; load average "
          f"{result.load_before[0]:.2f} before, {result.load_after[0]:.2f} after; target p99 <= 50 ms")
    floor = {(r.load, r.rate): r for r in result.runs if r.server == "bare"}
    for r in result.runs:
        if r.server != "guichet":
            continue
        base = floor.get((r.load, r.rate))
        load = f"closed loop, {r.senders} senders" if r.load == "closed" else f"open loop, {r.rate:.0f}/s Poisson"
        versus = (f"; bare route p50 {base.p50_ms:.1f} / p99 {base.p99_ms:.1f} ms at {base.per_s:.0f}/s, "
                  f"CPU {base.server_cpu_ms:.2f} ms/post; p99 ratio {r.p99_ms / base.p99_ms:.1f}") if base else ""
        print(f"  {load}: {r.n} posts in {r.seconds:.1f} s ({r.per_s:.0f}/s); p50 {r.p50_ms:.1f} ms, "
              f"p95 {r.p95_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, max {r.max_ms:.1f} ms; {r.errors} errors; "
              f"server CPU {r.server_cpu_ms:.2f} ms/post{versus}")
    print(f"  {result.stored} events stored for {result.posted} signed posts answered 200")
