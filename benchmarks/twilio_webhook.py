"""Twilio SMS webhook acknowledgement under load (issue 4's target: p99 <= 50 ms on PostgreSQL).

A real `guichet serve` process (uvicorn, one process, as shipped) runs on 127.0.0.1 against
PostgreSQL and Redis with GUICHET_TWILIO_AUTH_TOKEN set. `senders` concurrent clients
(httpx.AsyncClient, keep-alive) post N signed `POST /webhooks/twilio/sms`, each with its own
MessageSid, signed by the twilio SDK's RequestValidator as Twilio signs them. Latency is
from the request sent to the 200 with empty TwiML read: verify, record the raw event, commit,
enqueue. No worker runs: what is measured is the answer Twilio waits for, alone on the cores.
"""
from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import asyncpg
import httpx
from twilio.request_validator import RequestValidator

from app import migrations
from benchmarks.processes import stop

TOKEN = "bench-auth-token-0123456789abcdef"
PATH = "/webhooks/twilio/sms"
WARM_UP = 100


@dataclass
class Result:
    n: int
    senders: int
    seconds: float
    per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    stored: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _params(i: int) -> dict[str, str]:
    sid = "SM" + uuid.uuid4().hex
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32,
            "From": f"+336{10_000_000 + i % 5000:08d}", "To": "+33198765432",
            "Body": f"Bonjour, où en est ma demande ? ({i})", "NumMedia": "0", "FromCountry": "FR"}


async def _wait_ready(base: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"guichet serve exited with {server.returncode}")
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("guichet serve did not start")


async def run(database_url: str, redis_url: str, n: int, senders: int) -> Result:
    await asyncio.to_thread(migrations.upgrade, database_url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    public = "https://guichet.ville.example"
    env = {**os.environ, "GUICHET_DATABASE_URL": database_url, "GUICHET_REDIS_URL": redis_url,
           "GUICHET_QUEUE_NAME": f"guichet-bench-webhook:{uuid.uuid4().hex[:8]}",
           "GUICHET_TWILIO_AUTH_TOKEN": TOKEN, "GUICHET_PUBLIC_URL": public, "GUICHET_LOG_LEVEL": "WARNING",
           "GUICHET_IMAP_MAILBOXES": "[]", "GUICHET_SMTP_URL": ""}
    server = subprocess.Popen([str(Path(sys.executable).with_name("guichet")), "serve", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=open("var/bench/webhook-server.log", "w"))  # noqa: SIM115
    try:
        await _wait_ready(base, server)
        validator = RequestValidator(TOKEN)
        bodies = []
        for i in range(n + WARM_UP):
            params = _params(i)
            bodies.append((urlencode(params), validator.compute_signature(public + PATH, params)))
        latencies: list[float] = []
        errors = 0
        queue: asyncio.Queue = asyncio.Queue()
        warm_up, bodies = bodies[:WARM_UP], bodies[WARM_UP:]
        for item in bodies:
            queue.put_nowait(item)

        async def sender(client: httpx.AsyncClient) -> None:
            nonlocal errors
            while not queue.empty():
                body, signature = queue.get_nowait()
                start = time.perf_counter()
                try:
                    response = await client.post(PATH, content=body, headers={
                        "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})
                except httpx.TransportError:  # counted; Twilio would retry it
                    errors += 1
                    continue
                latencies.append((time.perf_counter() - start) * 1000)
                errors += response.status_code != 200

        limits = httpx.Limits(max_connections=senders, max_keepalive_connections=senders)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
            for body, signature in warm_up:  # connections, pools, statement caches: not counted
                await client.post(PATH, content=body, headers={
                    "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})
            started = time.perf_counter()
            await asyncio.gather(*(sender(client) for _ in range(senders)))
            seconds = time.perf_counter() - started
    finally:
        stop(server)
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        stored = await connection.fetchval("SELECT count(*) FROM inbound_event WHERE channel = 'sms'")
    finally:
        await connection.close()
    return Result(n=n, senders=senders, seconds=seconds, per_s=n / seconds, p50_ms=statistics.median(latencies),
                  p95_ms=_pct(latencies, 0.95), p99_ms=_pct(latencies, 0.99), max_ms=max(latencies),
                  errors=errors, stored=stored - WARM_UP)


def report(result: Result, machine: str) -> None:
    print(f"twilio webhook ({machine}): {result.n} signed SMS from {result.senders} concurrent senders in "
          f"{result.seconds:.1f} s ({result.per_s:.0f}/s); acknowledgement p50 {result.p50_ms:.1f} ms, "
          f"p95 {result.p95_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, max {result.max_ms:.1f} ms; "
          f"{result.errors} errors, {result.stored} events stored; target p99 <= 50 ms")
