"""IMAP in against a real Dovecot: poll, record, flag; a crash in between doubles nothing."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import select

from app.jobs.email_idle import MailWatchers
from app.jobs.email_poll import mailboxes, poll_mailboxes, record_fetched
from app.registry import PARSERS
from app.settings import MailboxSettings, Settings
from channels.email.imap import RECORDED, fetch_unrecorded
from crm.models import InboundEvent
from tests.conftest import Stack
from tests.imap_server import ImapServer, imap_server

GUICHET = str(Path(sys.executable).with_name("guichet"))


def raw_mail(n: int, sender: str = "citoyen@example.org") -> bytes:
    return (f"From: Citoyen {n} <{sender}>\r\nTo: accueil@ville.fr\r\nSubject: Demande {n}\r\n"
            f"Message-ID: <mail-{n}@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"Bonjour, voici ma demande numéro {n}.\r\n").encode()


@pytest.fixture
def imap():
    with imap_server() as server:
        yield server


def ctx_for(stack: Stack, settings: Settings) -> dict:
    return {"sessionmaker": stack.app.state.sessionmaker, "settings": settings,
            "queue": stack.app.state.queue, "parsers": PARSERS}


def with_mailbox(stack: Stack, imap: ImapServer, **overrides) -> Settings:
    box = MailboxSettings(**imap.mailbox_settings(**overrides))
    return stack.settings.model_copy(update={"imap_mailboxes": [box]})


async def test_poll_turns_each_mail_into_one_ticket_and_flags_it(stack: Stack, imap: ImapServer) -> None:
    for n in range(3):
        imap.deliver(raw_mail(n, sender=f"c{n}@example.org"))
    settings = with_mailbox(stack, imap, processed_folder="Traites")
    result = await poll_mailboxes(ctx_for(stack, settings))
    assert result == {"accueil": {"fetched": 3, "new": 3}}
    await stack.drain()
    assert imap.flags("INBOX") == {}  # moved
    assert all(RECORDED in flags for flags in imap.flags("Traites").values())
    assert len(imap.flags("Traites")) == 3
    again = await poll_mailboxes(ctx_for(stack, settings))
    assert again == {"accueil": {"fetched": 0, "new": 0}}


async def test_crash_between_recording_and_flagging_doubles_nothing(stack: Stack, imap: ImapServer) -> None:
    for n in range(3):
        imap.deliver(raw_mail(n, sender=f"c{n}@example.org"))
    settings = with_mailbox(stack, imap)
    ctx = ctx_for(stack, settings)
    [mailbox] = mailboxes(ctx)
    # The poller fetched and committed, then died before flagging anything on the server.
    fetched = fetch_unrecorded(mailbox)
    assert len(await record_fetched(ctx, mailbox, fetched)) == 3
    assert not any(RECORDED in flags for flags in imap.flags().values())
    # Started again: it fetches the same three, records none twice, flags them all.
    result = await poll_mailboxes(ctx)
    assert result == {"accueil": {"fetched": 3, "new": 0}}
    assert all(RECORDED in flags for flags in imap.flags().values())
    await stack.app.state.queue.enqueue("sweep", 0, job_id="after-crash")  # what a restart does
    await stack.drain()
    for n in range(3):
        ticket_refs = {m["text"] for m in (await stack.ticket(
            await _reference_of(stack, f"<mail-{n}@example.org>")))["messages"] if m["direction"] == "in"}
        assert ticket_refs == {f"Bonjour, voici ma demande numéro {n}."}


async def _reference_of(stack: Stack, message_id: str) -> str:
    from sqlmodel import select

    from crm.models import Message, Ticket

    async with stack.session() as session:
        rows = (await session.exec(select(Ticket.reference).join(Message, Message.ticket_id == Ticket.id)
                                   .where(Message.rfc_message_id == message_id))).all()
    assert len(rows) == 1, rows
    return rows[0]


async def test_oversized_mail_is_quarantined_with_its_headers(stack: Stack, imap: ImapServer) -> None:
    imap.deliver(raw_mail(1) + b"x" * 50_000)
    settings = with_mailbox(stack, imap, max_bytes=10_000)
    assert await poll_mailboxes(ctx_for(stack, settings)) == {"accueil": {"fetched": 1, "new": 0}}
    from sqlmodel import select

    from crm.models import InboundEvent

    async with stack.session() as session:
        event = (await session.exec(select(InboundEvent))).one()
    assert event.status == "quarantined" and "over the 10000-byte limit" in event.error
    assert b"Message-ID: <mail-1@example.org>" in event.payload and len(event.payload) < 10_000


async def test_wrong_password_is_reported_not_raised(stack: Stack, imap: ImapServer) -> None:
    settings = with_mailbox(stack, imap, password="wrong")
    result = await poll_mailboxes(ctx_for(stack, settings))
    assert "error" in result["accueil"]


def test_cli_poll_once(imap: ImapServer, tmp_path: Path) -> None:
    imap.deliver(raw_mail(7))
    database = f"sqlite+aiosqlite:///{tmp_path / 'poll.db'}"
    env = {**os.environ, "GUICHET_DATABASE_URL": database,
           "GUICHET_IMAP_MAILBOXES": json.dumps([imap.mailbox_settings()])}
    env.pop("GUICHET_REDIS_URL", None)
    subprocess.run([GUICHET, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60)
    result = subprocess.run([GUICHET, "email", "poll", "--once"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"accueil": {"fetched": 1, "new": 1}}
    ingested = subprocess.run([GUICHET, "outbox", "list", "--json"], env=env, capture_output=True,
                              text=True, timeout=60)
    assert ingested.returncode == 0


async def _wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_idle_records_a_mail_within_seconds_not_at_the_next_poll(stack: Stack, imap: ImapServer) -> None:
    settings = with_mailbox(stack, imap)
    watchers = MailWatchers(ctx_for(stack, settings))
    watchers.start()
    try:
        await asyncio.sleep(1.0)  # IDLE starts in a thread; a mail before it waits for the poll
        imap.deliver(raw_mail(7, sender="vite@example.org"))
        # The scheduled poll is 30 s away: only IDLE can record it this fast.
        assert await _wait_for(lambda: _recorded(stack, "<mail-7@example.org>"), 10)
        assert await _wait_for(lambda: _flagged(imap), 5)  # flagged after the commit
    finally:
        started = time.monotonic()
        await watchers.close()
        assert time.monotonic() - started < 5  # a worker stops promptly, IDLE or not
    await stack.drain()
    assert await _reference_of(stack, "<mail-7@example.org>")


async def test_no_idle_watcher_when_switched_off_and_a_bad_login_never_crashes(
        stack: Stack, imap: ImapServer) -> None:
    off = MailWatchers(ctx_for(stack, with_mailbox(stack, imap, idle=False)))
    off.start()
    assert off.tasks == []
    await off.close()
    broken = MailWatchers(ctx_for(stack, with_mailbox(stack, imap, password="wrong")))
    broken.start()
    await asyncio.sleep(1.5)
    assert not any(task.done() for task in broken.tasks)  # retrying, not dead
    await broken.close()


async def _flagged(imap: ImapServer) -> bool:
    return all(RECORDED in flags for flags in (await asyncio.to_thread(imap.flags, "INBOX")).values())


async def _recorded(stack: Stack, message_id: str) -> bool:
    async with stack.session() as session:
        rows = (await session.exec(select(InboundEvent.external_id))).all()
    return any(message_id in row for row in rows)
