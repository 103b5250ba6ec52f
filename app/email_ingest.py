"""`guichet email ingest`: run .eml files through the whole pipeline, in this process."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from channels.email import inbound as email_inbound
from crm.inbound import get_inbound, record_inbound, reopen_for_replay
from crm.models import Ticket
from crm.types import Channel

from app.db import make_engine
from app.email_report import MAX_FILE_BYTES
from app.jobs import FUNCTIONS
from app.jobs.email_poll import poll_mailboxes
from app.jobs.inbound import enqueue_inbound
from app.jobs.context import build_job_context
from app.queue import InProcessQueue
from app.settings import Settings


@asynccontextmanager
async def pipeline_in_process(settings: Settings) -> AsyncIterator[dict[str, Any]]:
    """A job context whose queue runs the jobs here; leaving it waits for them all."""
    engine = make_engine(settings.database_url)
    ctx = build_job_context(settings, engine)
    queue = InProcessQueue(FUNCTIONS, ctx)
    ctx["queue"] = queue
    queue.start()
    try:
        yield ctx
        await queue.join()
    finally:
        await queue.stop()
        await engine.dispose()


async def poll_once(settings: Settings) -> dict[str, Any]:
    async with pipeline_in_process(settings) as ctx:
        return await poll_mailboxes(ctx)


async def ingest_files(settings: Settings, paths: list[Path]) -> list[dict[str, Any]]:
    """Record each file raw, then process them all; one result per file, never an exception."""
    recorded: list[tuple[Path, int | None, str | None]] = []
    async with pipeline_in_process(settings) as ctx:
        queue = ctx["queue"]
        for path in paths:
            try:
                if path.stat().st_size > MAX_FILE_BYTES:
                    raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
                payload = path.read_bytes()
            except (OSError, ValueError) as exc:
                recorded.append((path, None, f"{type(exc).__name__}: {exc}"))
                continue
            async with ctx["sessionmaker"]() as session:
                result = await record_inbound(session, channel=Channel.EMAIL.value,
                                              external_id=email_inbound.external_id(payload)[:255],
                                              payload=payload)
                await session.commit()
            recorded.append((path, result.event.id, None))
        await enqueue_inbound(queue, [event_id for _, event_id, _ in recorded if event_id is not None])
        await queue.join()
        results = []
        async with ctx["sessionmaker"]() as session:
            for path, event_id, error in recorded:
                if event_id is None:
                    results.append({"file": str(path), "status": "unreadable", "reference": None,
                                    "error": error})
                    continue
                event = await get_inbound(session, event_id)
                ticket = await session.get(Ticket, event.ticket_id) if event.ticket_id else None
                results.append({"file": str(path), "status": event.status, "inbound_id": event.id,
                                "reference": ticket.reference if ticket else None,
                                "error": event.error})
        return results


async def replay_inbound(settings: Settings, event_id: int) -> dict[str, Any]:
    """Process a quarantined event again; what happened to it this time."""
    async with pipeline_in_process(settings) as ctx:
        async with ctx["sessionmaker"]() as session:
            await reopen_for_replay(session, event_id)
            await session.commit()
        await ctx["queue"].enqueue("process_inbound", event_id, job_id=f"replay:{event_id}")
        await ctx["queue"].join()
        async with ctx["sessionmaker"]() as session:
            event = await get_inbound(session, event_id)
            ticket = await session.get(Ticket, event.ticket_id) if event.ticket_id else None
        return {"inbound_id": event_id, "status": event.status, "error": event.error,
                "reference": ticket.reference if ticket else None}
