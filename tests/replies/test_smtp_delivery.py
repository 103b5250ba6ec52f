"""Acknowledgements leave through a real SMTP server.

What is real here: the SMTP server (aiosmtpd on 127.0.0.1, tests/smtp_server.py),
the SMTP client (aiosmtplib, used by the app's SmtpSender), the app, its
database and its job queue (in process on SQLite, arq on Redis with PostgreSQL).
The server is told to answer RCPT or DATA with 4xx / 5xx replies, and the tests
check what the citizen would get, what the ticket's timeline says and that no
mail is sent twice.
"""
from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.utils import parseaddr
from typing import Any

import pytest
from sqlmodel import select

from app.db import make_engine
from app.jobs.context import build_job_context
from app.jobs.send import send_deliveries, send_delivery
from app.settings import Settings
from replies.models import Delivery
from tests.conftest import Stack, running
from tests.smtp_server import free_port, smtp_server

TRY_LATER = "451 4.3.0 Try again later"
NO_MAILBOX = "550 5.1.1 Mailbox unavailable"


@asynccontextmanager
async def app_mailing_to(settings: Settings, port: int, **overrides: Any) -> AsyncIterator[Stack]:
    """The app with GUICHET_SMTP_URL pointing at 127.0.0.1:port, start-up sweep done."""
    async with running(settings.model_copy(
            update={"smtp_url": f"smtp://127.0.0.1:{port}", **overrides})) as stack:
        await stack.drain()
        yield stack


async def delivery_events(stack: Stack, reference: str) -> list[dict]:
    ticket = await stack.ticket(reference)
    return [e for e in ticket["timeline"] if e["kind"] == "delivery"]


async def _deliveries(stack: Stack, reference: str) -> list[dict]:
    """The data of each delivery event on the ticket's timeline."""
    return [e["data"] for e in await delivery_events(stack, reference)]


class NoQueue:
    """A job queue for calling a job by hand: records what it would enqueue."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple]] = []

    async def enqueue(self, function: str, *args: Any, **_: Any) -> None:
        self.jobs.append((function, args))


def job_context(stack: Stack, queue: NoQueue) -> dict[str, Any]:
    """What a worker hands send_delivery, with this stack's settings (and so its SMTP URL)."""
    return build_job_context(stack.settings, stack.app.state.engine, queue)


async def test_acknowledgement_is_mailed_once(seeded: Settings) -> None:
    with smtp_server() as (server, port):
        async with app_mailing_to(seeded, port, reply_address="guichet@mairie.example") as stack:
            accepted = await stack.post_request(name="Nadia Amrani", email="Nadia@Example.org")
            await stack.drain()

            assert len(server.data_commands) == 1 and len(server.received) == 1
            envelope = server.received[0]
            mail = envelope.message
            assert envelope.rcpt_tos == ["nadia@example.org"]
            assert envelope.mail_from == parseaddr(stack.settings.mail_from)[1]
            assert parseaddr(mail["To"])[1] == "nadia@example.org"
            assert parseaddr(mail["From"])[1] == parseaddr(stack.settings.mail_from)[1]
            assert accepted["reference"] in mail["Subject"]
            message_id = mail["Message-ID"]
            assert message_id.startswith("<") and message_id.endswith("@" + stack.settings.mail_domain + ">")
            assert mail["Auto-Submitted"] == "auto-replied"
            assert re.fullmatch(r"guichet\+[0-9a-f]{20}@mairie\.example", mail["Reply-To"])
            assert mail["Date"]
            # Non-ASCII headers (the French subject) are encoded: any SMTP server takes them.
            head = envelope.content.split(b"\r\n\r\n", 1)[0]
            assert head.isascii()
            # Text, with an HTML twin: the text part is what the brief asks for.
            plain = mail.get_body(preferencelist=("plain",))
            assert plain is not None and plain.get_content_type() == "text/plain"
            assert plain.get_content_charset() == "utf-8"
            assert "Nadia Amrani" in plain.get_content()
            assert accepted["reference"] in plain.get_content()

            ticket = await stack.ticket(accepted["reference"])
            last = ticket["timeline"][-1]
            assert last["kind"] == "delivery"
            assert last["data"]["state"] == "sent" and last["data"]["attempts"] == 1
            delivery_id = last["data"]["delivery_id"]
            async with stack.session() as session:
                delivery = await session.get(Delivery, delivery_id)
            assert delivery.header_message_id == message_id == delivery.provider_id

            # Nothing more, whatever asks again: another drain (its start-up sweep on arq),
            # a duplicate job through the queue, the job function called by hand.
            await stack.drain()
            await stack.app.state.queue.enqueue("send_delivery", delivery_id, job_id="again")
            await stack.drain()
            assert await send_delivery(job_context(stack, NoQueue()), delivery_id) == "nothing to send"
            assert len(server.data_commands) == 1
            events = await delivery_events(stack, accepted["reference"])
            assert [e["data"]["state"] for e in events] == ["sent"]


async def test_temporary_refusal_is_retried_then_sent(seeded: Settings) -> None:
    with smtp_server() as (server, port):
        server.answer_data(TRY_LATER, times=1)
        async with app_mailing_to(seeded, port) as stack:
            accepted = await stack.post_request()
            await stack.drain()  # waits for the retry, deferred by send_retry_base_seconds

            assert [d.reply for d in server.data_commands] == [TRY_LATER, server.ACCEPT]
            assert len(server.received) == 1
            # The retry is the same mail: a citizen's client would dedupe on the Message-ID.
            first, second = (d.message["Message-ID"] for d in server.data_commands)
            assert first == second
            events = await delivery_events(stack, accepted["reference"])
            assert [e["data"]["state"] for e in events] == ["sent"]
            assert events[-1]["data"]["attempts"] == 2

            await stack.drain()
            assert len(server.data_commands) == 2


@pytest.mark.parametrize("command", ["RCPT", "DATA"])
async def test_permanent_refusal_fails_without_retry(seeded: Settings, command: str) -> None:
    with smtp_server() as (server, port):
        refuse = server.answer_rcpt if command == "RCPT" else server.answer_data
        refuse(NO_MAILBOX, times=None)
        async with app_mailing_to(seeded, port) as stack:
            accepted = await stack.post_request()
            await stack.drain()
            await stack.drain()

            assert server.received == []
            assert len(server.rcpt_commands) == 1  # one attempt, never retried
            events = await delivery_events(stack, accepted["reference"])
            assert [e["data"]["state"] for e in events] == ["failed"]
            assert events[-1]["data"]["attempts"] == 1
            assert "550" in events[-1]["data"]["error"]


@pytest.mark.parametrize("command", ["RCPT", "DATA"])
async def test_too_many_temporary_refusals_end_as_a_dead_letter(seeded: Settings, command: str) -> None:
    with smtp_server() as (server, port):
        refuse = server.answer_rcpt if command == "RCPT" else server.answer_data
        refuse(TRY_LATER, times=None)
        async with app_mailing_to(seeded, port, send_max_attempts=2) as stack:
            accepted = await stack.post_request()
            await stack.drain()
            await stack.drain()

            assert server.received == []
            assert len(server.rcpt_commands) == 2  # the first attempt and one retry, no more
            events = await delivery_events(stack, accepted["reference"])
            assert [e["data"]["state"] for e in events] == ["failed"]
            dead = events[-1]
            assert dead["data"]["attempts"] == 2
            assert "gave up" in dead["data"]["error"] and "451" in dead["data"]["error"]
            assert "dead letter" in dead["reason"]


async def test_unreachable_server_is_retried_and_never_fails_the_request(seeded: Settings) -> None:
    async with app_mailing_to(seeded, free_port(), send_max_attempts=2) as stack:
        response = await stack.client.post("/api/v1/requests", json={
            "name": "Nadia Amrani", "email": "nadia@example.org", "category": "etat_civil",
            "message": "Bonjour, il me faut une copie."})
        assert response.status_code == 201, response.text  # whatever the mail server does
        reference = response.json()["reference"]
        await stack.drain()

        events = await delivery_events(stack, reference)
        assert [e["data"]["state"] for e in events] == ["failed"]
        assert events[-1]["data"]["attempts"] == 2
        assert "gave up" in events[-1]["data"]["error"]
        assert "unreachable" in events[-1]["data"]["error"]


async def test_concurrent_runs_of_one_delivery_send_one_mail(seeded: Settings) -> None:
    """Two runs of send_delivery for one queued delivery (its own job and a sweep's, or a
    retry's) may overlap on arq: the claim must let only one of them send. (On PostgreSQL
    this needs the row locked by the claim to be read fresh, not from the session's cache.)"""
    with smtp_server() as (server, port):
        # Without a transport the acknowledgement is kept in the outbox...
        async with running(seeded) as stack:
            await stack.drain()
            accepted = await stack.post_request()
            await stack.drain()
            events = await delivery_events(stack, accepted["reference"])
            assert [e["data"]["state"] for e in events] == ["held"]
            delivery_id = events[-1]["data"]["delivery_id"]
            async with stack.session() as session:
                delivery = await session.get(Delivery, delivery_id)
                delivery.state = "queued"  # ...and put back in the queue, never sent
                session.add(delivery)
                await session.commit()
        # ...then three workers with SMTP configured pick it up at the same time.
        engine = make_engine(seeded.database_url)
        try:
            ctx = build_job_context(seeded.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"}),
                                    engine, NoQueue())
            results = await asyncio.gather(*(send_delivery(ctx, delivery_id) for _ in range(3)))
            async with ctx["sessionmaker"]() as session:
                states = (await session.exec(select(Delivery.state, Delivery.attempts))).all()
        finally:
            await engine.dispose()

        assert len(server.data_commands) == 1, results
        assert sorted(results) == ["nothing to send", "nothing to send", "sent"]
        assert [tuple(s) for s in states] == [("sent", 1)]


async def test_a_send_interrupted_after_the_server_may_have_accepted_is_never_repeated(
        seeded: Settings) -> None:
    """The worker died between the SMTP server's 250 and our commit: the delivery stays
    `sending`. The sweep must not send it again (the citizen may have it already)."""
    from datetime import timedelta

    from crm.columns import utcnow

    with smtp_server() as (server, port):
        settings = seeded.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
        async with running(settings) as stack:
            await stack.drain()
            accepted = await stack.post_request()
            await stack.drain()
            assert len(server.received) == 1
            async with stack.session() as session:
                from sqlmodel import select

                from replies.models import Delivery

                delivery = (await session.exec(select(Delivery))).one()
                delivery.state, delivery.updated_at = "sending", utcnow() - timedelta(minutes=10)
                await session.commit()
            await stack.app.state.queue.enqueue("sweep", 0, job_id="after-crash")
            await stack.drain()
            assert len(server.received) == 1
            deliveries = await _deliveries(stack, accepted["reference"])
            assert deliveries[-1]["state"] == "failed"
            assert deliveries[-1]["error"] == "interrupted during the send"


async def _held_put_back_in_the_queue(stack: Stack, emails: list[str]) -> list[int]:
    """One acknowledgement per address, kept in the outbox (no transport) and put back in the
    queue, never sent: their ids, in the order of `emails`."""
    for email in emails:
        await stack.post_request(email=email)
    await stack.drain()
    async with stack.session() as session:
        deliveries = (await session.exec(select(Delivery).order_by(Delivery.id))).all()
        assert [d.state for d in deliveries] == ["held"] * len(emails)
        by_address = {delivery.to: delivery.id for delivery in deliveries}
        for delivery in deliveries:
            delivery.state = "queued"
        await session.commit()
        return [by_address[email] for email in emails]


async def test_one_job_sends_a_batch_each_once(seeded: Settings) -> None:
    """send_deliveries (a batch's acknowledgements in one job): each delivery mailed once, one
    opted out blocked, an unknown id and a repeated one harmless; a second run, or two at
    the same time, send nothing more."""
    from crm.opt_outs import record_opt_out

    with smtp_server() as (server, port):
        async with running(seeded) as stack:
            await stack.drain()
            first, second, stopped = await _held_put_back_in_the_queue(
                stack, ["a@example.org", "b@example.org", "stop@example.org"])
            async with stack.session() as session:
                await record_opt_out(session, "email", "stop@example.org", source="test")
                await session.commit()
        engine = make_engine(seeded.database_url)
        try:
            ctx = build_job_context(seeded.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"}),
                                    engine, NoQueue())
            batch = [first, second, stopped, second, 999_999]
            outcome = await send_deliveries(ctx, batch)
            again = await asyncio.gather(send_deliveries(ctx, batch), send_deliveries(ctx, batch))
            async with ctx["sessionmaker"]() as session:
                states = {delivery_id: (state, attempts) for delivery_id, state, attempts in (
                    await session.exec(select(Delivery.id, Delivery.state, Delivery.attempts))).all()}
        finally:
            await engine.dispose()

        assert outcome == {"sent": 2, "nothing to send": 1, "no such delivery": 1}
        assert again == [{"nothing to send": 3, "no such delivery": 1}] * 2
        assert sorted(rcpt for envelope in server.received for rcpt in envelope.rcpt_tos) == [
            "a@example.org", "b@example.org"]
        assert states == {first: ("sent", 1), second: ("sent", 1), stopped: ("blocked", 0)}


async def test_one_job_holds_a_batch_with_no_transport_in_one_go(seeded: Settings) -> None:
    """No SMTP configured: the batch's acknowledgements are kept in the outbox, each with its
    one timeline event, by one transaction (not a claim each)."""
    from sqlalchemy import event

    async with running(seeded) as stack:
        await stack.drain()
        ids = await _held_put_back_in_the_queue(stack, [f"c{i}@example.org" for i in range(4)])
        engine = make_engine(seeded.database_url)
        statements: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute",
                     lambda _conn, _cursor, statement, *_: statements.append(statement))
        try:
            outcome = await send_deliveries(build_job_context(seeded, engine, NoQueue()), ids)
        finally:
            await engine.dispose()
        async with stack.session() as session:
            states = (await session.exec(select(Delivery.state))).all()
        assert outcome == {"nothing to send": 4}
        assert states == ["held"] * 4
        for reference in await _references(stack):
            assert [e["state"] for e in await _deliveries(stack, reference)] == ["held", "held"]
        # One lock and one opt-out read for all, and the rows updated by one executemany: not a
        # claim each. (The timeline events' INSERT is one statement on PostgreSQL only.)
        kinds = [s.split(None, 1)[0].upper() for s in statements]
        assert kinds.count("SELECT") == 2 and kinds.count("UPDATE") == 1


async def _references(stack: Stack) -> list[str]:
    from crm.models import Ticket

    async with stack.session() as session:
        return list((await session.exec(select(Ticket.reference))).all())
