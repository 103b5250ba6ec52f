"""Poll the configured IMAP mailboxes: record each message raw, commit, then flag it on the server."""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Any

from app.jobs.inbound import enqueue_inbound
from channels.email import inbound as email_inbound
from channels.email.imap import Fetched, Mailbox, fetch_unrecorded, mark_recorded
from crm.inbound import mark_quarantined, record_inbound
from crm.types import Channel

log = logging.getLogger("guichet.jobs.email_poll")
_local_locks: dict[str, asyncio.Lock] = {}


def mailboxes(ctx: dict[str, Any]) -> list[Mailbox]:
    return [Mailbox(**box.model_dump()) for box in ctx["settings"].imap_mailboxes]


@asynccontextmanager
async def _only_poller(ctx: dict[str, Any], name: str):
    """One poller per mailbox: a Redis lock across workers, an asyncio lock in process."""
    redis = ctx.get("redis")
    if redis is not None:
        lock = redis.lock(f"guichet:imap-poll:{ctx['settings'].queue_name}:{name}", timeout=600,
                          blocking_timeout=0)
        if not await lock.acquire():
            yield False
            return
        try:
            yield True
        finally:
            try:
                await lock.release()
            except Exception:  # expired: another poller may have taken over, harmless
                pass
        return
    lock = _local_locks.setdefault(name, asyncio.Lock())
    if lock.locked():
        yield False
        return
    async with lock:
        yield True


async def record_fetched(ctx: dict[str, Any], mailbox: Mailbox, fetched: list[Fetched]) -> list[int]:
    """Store each message raw (once per mailbox + Message-ID) and commit; the new events' ids."""
    created = []
    async with ctx["sessionmaker"]() as session:
        for item in fetched:
            external_id = f"{mailbox.name}:{email_inbound.external_id(item.raw)}"[:255]
            recorded = await record_inbound(session, channel=Channel.EMAIL.value,
                                            external_id=external_id, payload=item.raw)
            if recorded.created and item.truncated:
                mark_quarantined(recorded.event, f"message of {item.size} bytes is over the "
                                 f"{mailbox.max_bytes}-byte limit: headers kept here, the whole "
                                 f"message stays in the mailbox {mailbox.name}")
            elif recorded.created:
                created.append(recorded.event.id)
        await session.commit()
    return created


async def poll_mailbox(ctx: dict[str, Any], mailbox: Mailbox) -> dict[str, int]:
    async with _only_poller(ctx, mailbox.name) as mine:
        if not mine:
            return {"skipped": 1}
        fetched = await asyncio.to_thread(fetch_unrecorded, mailbox)
        created = await record_fetched(ctx, mailbox, fetched)
        await asyncio.to_thread(mark_recorded, mailbox, [f.uid for f in fetched])
    await enqueue_inbound(ctx["queue"], created)  # a poll's messages are taken in by batches
    return {"fetched": len(fetched), "new": len(created)}


async def poll_mailboxes(ctx: dict[str, Any]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for mailbox in mailboxes(ctx):
        try:
            results[mailbox.name] = await poll_mailbox(ctx, mailbox)
        except Exception as exc:  # one broken mailbox must not stop the others
            log.warning("polling mailbox %s failed: %s", mailbox.name, type(exc).__name__)
            results[mailbox.name] = {"error": f"{type(exc).__name__}: {exc}"}
    return results
