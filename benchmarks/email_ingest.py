"""Email ingest end to end on PostgreSQL with ONE worker process (issue 3's target: >= 200/s).

N raw emails are recorded as inbound events (what the IMAP poller does) while a real
`guichet worker` process is already running; the clock starts when their jobs are
enqueued and stops when every message has a ticket, the ticket an agent, and its
acknowledgement a queued delivery. By default each message comes from a new citizen;
`known` makes a share of them come from citizens with an earlier ticket (a second request),
`replies` a share of them answer the acknowledgement of their sender's earlier ticket
(In-Reply-To: threaded onto it, no new ticket; the clock stops when they are processed too). Baseline in the same run: the same raw
payloads stored with plain SQLAlchemy Core inserts, one transaction each.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from arq.connections import ArqRedis
from sqlalchemy import func
from sqlmodel import select

from app.db import make_engine, make_sessionmaker
from app.jobs.inbound import enqueue_inbound
from app.queue import ArqQueue
from benchmarks.pipeline import _baseline, _prepare
from benchmarks.processes import stop
from crm.inbound import record_inbound
from crm.models import InboundEvent, InboundStatus, Message, Ticket
from replies.models import Delivery

SUBJECTS = ["Acte de naissance", "Permis de construire", "Nid de poule rue Hugo", "Inscription cantine",
            "Attestation de domicile", "Question sur ma taxe", "طلب شهادة السكنى", "Carte de stationnement"]


@dataclass
class Result:
    n: int
    per_s: float
    baseline_per_s: float
    worker_cpu_ms_per_message: float

    @property
    def ratio(self) -> float:
        return self.per_s / self.baseline_per_s


def raw_email(i: int) -> bytes:
    subject = SUBJECTS[i % len(SUBJECTS)]
    return (f"From: Citoyen {i} <citoyen.{i}@example.org>\r\nTo: accueil@ville.example\r\n"
            f"Subject: {subject}\r\nMessage-ID: <bench-{i}-{uuid.uuid4().hex}@example.org>\r\n"
            "Date: Mon, 2 Mar 2026 09:14:00 +0100\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            f"Bonjour,\r\n\r\nJe vous écris au sujet de : {subject}. Pouvez-vous m'indiquer les pièces "
            "à fournir et le délai ?\r\n\r\nCordialement,\r\nCitoyen\r\n\r\nEnvoyé de mon iPhone\r\n").encode()


async def _wait_ready(redis: ArqRedis, queue_name: str, worker: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode}")
        if await redis.exists(f"{queue_name}:health-check"):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the worker did not start")


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(database_url: str, redis_url: str, n: int, known: float = 0.0, replies: float = 0.0) -> Result:
    """`known`: the share of the n emails whose sender is already a citizen (with an earlier
    ticket of theirs, taken in before the clock starts); `replies`: the share that answer that
    earlier ticket's acknowledgement (their senders known too); the others come from new senders."""
    await _prepare(database_url)
    queue_name = f"guichet-bench-ingest:{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "GUICHET_DATABASE_URL": database_url, "GUICHET_REDIS_URL": redis_url,
           "GUICHET_QUEUE_NAME": queue_name, "GUICHET_LOG_LEVEL": "WARNING", "GUICHET_IMAP_MAILBOXES": "[]",
           "GUICHET_SMTP_URL": ""}
    worker = subprocess.Popen([str(Path(sys.executable).with_name("guichet")), "worker"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    redis = ArqRedis.from_url(redis_url)
    engine = make_engine(database_url)
    sessionmaker = make_sessionmaker(engine)
    try:
        await _wait_ready(redis, queue_name, worker)
        await asyncio.sleep(1)  # the start-up sweep finds nothing; let it finish
        queue = ArqQueue(redis, queue_name)
        replying = set(_every(n, replies, between=True))
        earlier = sorted(set(_every(n, known)) | replying)  # senders known before the clock
        earlier_ids = await _record(sessionmaker, earlier)
        await _take_in(sessionmaker, queue, worker, earlier_ids, 0)
        acknowledged = await _acknowledgements(sessionmaker, dict(zip(earlier, earlier_ids)))
        ids = await _record(sessionmaker, range(n), {i: acknowledged[i] for i in replying})
        cpu_before = _cpu_seconds(worker.pid)
        start = time.perf_counter()
        await _take_in(sessionmaker, queue, worker, ids, len(earlier), replies=len(replying))
        elapsed = time.perf_counter() - start
        cpu = _cpu_seconds(worker.pid) - cpu_before
        baseline = await _baseline(engine, n)
    finally:
        stop(worker)
        await redis.aclose()
        await engine.dispose()
    return Result(n, n / elapsed, baseline, cpu / n * 1000)


def _every(n: int, share: float, *, between: bool = False) -> list[int]:
    """`share` of range(n), spread evenly; `between`: halfway between those the same share
    without it takes (so that known senders and replies are different people)."""
    step = round(1 / share) if share > 0 else 0
    return [i for i in range(n) if i % step == (step // 2 if between else 0)] if step else []


async def _acknowledgements(sessionmaker, events: dict[int, int]) -> dict[int, str]:
    """The Message-ID of the acknowledgement each of these senders' earlier email got, by sender."""
    async with sessionmaker() as session:
        rows = (await session.exec(select(InboundEvent.id, Message.rfc_message_id)
                                   .join(Message, Message.ticket_id == InboundEvent.ticket_id)
                                   .where(InboundEvent.id.in_(list(events.values())),
                                          Message.direction == "out"))).all()
    by_event = dict(rows)
    return {sender: by_event[event_id] for sender, event_id in events.items()}


def raw_reply(i: int, in_reply_to: str) -> bytes:
    """Sender i answering our acknowledgement, as a mail client quotes it."""
    return (f"From: Citoyen {i} <citoyen.{i}@example.org>\r\nTo: accueil@ville.example\r\n"
            f"Subject: Re: Votre demande a bien été reçue\r\nMessage-ID: <bench-re-{i}-{uuid.uuid4().hex}@example.org>\r\n"
            f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n"
            "Date: Mon, 2 Mar 2026 10:02:00 +0100\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            "Bonjour,\r\n\r\nVoici le justificatif demandé.\r\n\r\nLe lun. 2 mars 2026 à 09:15, Mairie "
            "<accueil@ville.example> a écrit :\r\n> Votre demande a bien été reçue.\r\n").encode()


async def _record(sessionmaker, senders, replying: dict[int, str] | None = None) -> list[int]:
    """An inbound event for an email of each sender (a new Message-ID each time); those in
    `replying` answer the message whose Message-ID it gives."""
    ids, replying = [], replying or {}
    async with sessionmaker() as session:
        for i in senders:
            payload = raw_reply(i, replying[i]) if i in replying else raw_email(i)
            recorded = await record_inbound(session, channel="email", external_id=f"bench:{i}:{uuid.uuid4()}",
                                            payload=payload)
            ids.append(recorded.event.id)
        await session.commit()
    return ids


async def _take_in(sessionmaker, queue: ArqQueue, worker: subprocess.Popen, ids: list[int], before: int,
                   replies: int = 0) -> None:
    """Have the worker take in these inbound events, as the IMAP poller asks (a job per batch of
    events); back when every one of them is processed, each new request with its ticket assigned
    and its acknowledgement queued (`before`: the tickets there were already; `replies`: how many
    of them open no ticket)."""
    await enqueue_inbound(queue, ids)
    new = len(ids) - replies
    while True:
        async with sessionmaker() as session:
            assigned = (await session.exec(select(func.count()).select_from(Ticket)
                                           .where(Ticket.assignee_id.is_not(None)))).one()
            queued = (await session.exec(select(func.count()).select_from(Delivery))).one()
            pending = (await session.exec(select(func.count()).select_from(InboundEvent).where(
                InboundEvent.id.in_(ids), InboundEvent.status == InboundStatus.PENDING.value))).one()
        if assigned >= before + new and queued >= before + new and not pending:
            async with sessionmaker() as session:
                tickets = (await session.exec(select(func.count()).select_from(Ticket))).one()
            if tickets != before + new:  # a reply that opened a ticket measured the wrong path
                raise RuntimeError(f"{tickets - before - new} replies were not threaded onto their tickets")
            return
        if worker.poll() is not None:
            raise RuntimeError(f"the worker died: {worker.stderr.read().decode()[-2000:]}")
        await asyncio.sleep(0.05)


def as_row(result: Result) -> dict:
    return {**asdict(result), "ratio_to_baseline": result.ratio}
