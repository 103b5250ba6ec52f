"""Kill the process between "inbound recorded" and "ticket created": nothing lost, nothing doubled.

Real processes (`guichet serve`, `guichet worker`), real SIGKILL, real Redis and database.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import REDIS_URL, SUPERVISOR, seed

GUICHET = str(Path(sys.executable).with_name("guichet"))
BODY = {"name": "Rachid Alaoui", "email": "rachid@example.org", "category": "social",
        "subject": "Aide au logement", "message": "Je voudrais des informations."}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(database_url: str, redis_url: str | None, queue_name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
    env.update(GUICHET_DATABASE_URL=database_url, GUICHET_QUEUE_NAME=queue_name,
               GUICHET_SWEEP_INTERVAL_SECONDS="3600", GUICHET_LOG_LEVEL="WARNING")
    if redis_url:
        env["GUICHET_REDIS_URL"] = redis_url
    return env


@contextmanager
def serving(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, str]]:
    port = _free_port()
    process = subprocess.Popen([GUICHET, "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def _token(env: dict[str, str]) -> str:
    result = subprocess.run([GUICHET, "agents", "token", SUPERVISOR], env=env, capture_output=True,
                            text=True, timeout=60, check=True)
    return result.stdout.strip()


def _wait_for_ticket(base: str, reference: str, token: str, *, kinds: set[str]) -> dict:
    deadline = time.monotonic() + 30
    while True:
        response = httpx.get(f"{base}/api/v1/tickets/{reference}",
                             headers={"Authorization": f"Bearer {token}"}, timeout=5)
        if response.status_code == 200 and kinds <= {e["kind"] for e in response.json()["timeline"]}:
            return response.json()
        assert time.monotonic() < deadline, f"ticket {reference} not finished: {response.text}"
        time.sleep(0.1)


def _outbox(env: dict[str, str]) -> list[dict]:
    result = subprocess.run([GUICHET, "outbox", "list", "--json"], env=env, capture_output=True,
                            text=True, timeout=60, check=True)
    return [json.loads(line) for line in result.stdout.splitlines()]


def _assert_exactly_once(ticket: dict, outbox: list[dict], reference: str) -> None:
    assert [m["direction"] for m in ticket["messages"]] == ["in", "out"]
    kinds = [e["kind"] for e in ticket["timeline"]]
    assert kinds.count("created") == 1 and kinds.count("assigned") == 1
    assert kinds.count("message_out") == 1
    assert [row["ticket_reference"] for row in outbox].count(reference) == 1


@pytest.fixture
async def seeded(settings) -> str:
    await seed(settings.database_url)
    return settings.database_url


@pytest.mark.slow
def test_killed_after_recording_finishes_on_restart_once(seeded: str, settings) -> None:
    if not REDIS_URL:
        pytest.skip("needs Redis to hold the process between recording and processing")
    queue = settings.queue_name
    with_redis = _env(seeded, REDIS_URL, queue)
    embedded = _env(seeded, None, queue)
    token = _token(embedded)

    # 1. The web process records the request and enqueues its job in Redis; no worker runs,
    #    so the request stops exactly at "inbound recorded". Then the process is killed.
    with serving(with_redis) as (process, base):
        accepted = httpx.post(f"{base}/api/v1/requests", json=BODY, timeout=10)
        assert accepted.status_code == 201
        reference = accepted.json()["reference"]
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    # 2. The queued job is lost too (as if Redis had been flushed, or the enqueue never happened).
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(queue)
    client.close()

    # 3. Starting again (embedded mode here) finds the recorded request and finishes it.
    with serving(embedded) as (_, base):
        ticket = _wait_for_ticket(base, reference, token, kinds={"created", "assigned", "delivery"})
    _assert_exactly_once(ticket, _outbox(embedded), reference)

    # 4. And again: a restart does nothing twice.
    with serving(embedded) as (_, base):
        time.sleep(1.0)
        ticket = _wait_for_ticket(base, reference, token, kinds={"delivery"})
    _assert_exactly_once(ticket, _outbox(embedded), reference)


@pytest.mark.slow
def test_job_still_queued_and_swept_runs_once(seeded: str, settings) -> None:
    """The original job and the start-up sweep both ask for the same work: it is done once."""
    if not REDIS_URL:
        pytest.skip("needs Redis for the arq worker")
    env = _env(seeded, REDIS_URL, settings.queue_name)
    with serving(env) as (process, base):
        references = [httpx.post(f"{base}/api/v1/requests", json={**BODY, "message": f"n°{i}"},
                                 timeout=10).json()["reference"] for i in range(3)]
        process.send_signal(signal.SIGKILL)
    for _ in range(2):  # a worker, then another one (a redeploy)
        subprocess.run([GUICHET, "worker", "--burst"], env=env, capture_output=True, timeout=120,
                       check=True)
    embedded = _env(seeded, None, settings.queue_name)
    token = _token(embedded)
    outbox = _outbox(embedded)
    with serving(embedded) as (_, base):
        for reference in references:
            ticket = _wait_for_ticket(base, reference, token, kinds={"created", "delivery"})
            _assert_exactly_once(ticket, outbox, reference)


@pytest.mark.slow
def test_kill_right_after_answering_loses_nothing(seeded: str, settings) -> None:
    """Embedded mode: SIGKILL at once after each 201, wherever the in-process jobs were."""
    env = _env(seeded, None, settings.queue_name)
    references = []
    for i in range(4):
        with serving(env) as (process, base):
            response = httpx.post(f"{base}/api/v1/requests", json={**BODY, "message": f"crash {i}"},
                                  timeout=10)
            process.send_signal(signal.SIGKILL)
            references.append(response.json()["reference"])
    token = _token(env)
    with serving(env) as (_, base):
        tickets = [_wait_for_ticket(base, r, token, kinds={"created", "assigned", "delivery"})
                   for r in references]
    outbox = _outbox(env)
    for reference, ticket in zip(references, tickets, strict=True):
        _assert_exactly_once(ticket, outbox, reference)
    assert len(outbox) == len(references)

