"""Acknowledgements leave through a real SMTP server (aiosmtpd): headers, retries, failures."""
from __future__ import annotations

from email.utils import parseaddr

import pytest

from app.settings import Settings
from tests.conftest import Stack, running, seed
from tests.smtp_server import free_port, smtp_server


async def _deliveries(stack: Stack, reference: str) -> list[dict]:
    ticket = await stack.ticket(reference)
    return [e["data"] for e in ticket["timeline"] if e["kind"] == "delivery"]


@pytest.fixture
async def seeded(settings: Settings) -> Settings:
    await seed(settings.database_url)
    return settings


async def test_acknowledgement_is_mailed_once_with_threading_headers(seeded: Settings) -> None:
    with smtp_server() as (server, port):
        settings = seeded.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
        async with running(settings) as stack:
            await stack.drain()
            accepted = await stack.post_request(name="Nadia Amrani", email="Nadia@Example.org")
            await stack.drain()
            assert len(server.received) == 1
            mail = server.received[0]
            assert server.rcpt_tos == [["nadia@example.org"]]
            assert parseaddr(mail["To"])[1] == "nadia@example.org"
            assert accepted["reference"] in mail["Subject"]
            assert mail["Message-ID"].strip("<>").endswith("@" + settings.mail_domain)
            assert mail["Auto-Submitted"] == "auto-replied"
            assert mail.get_content_type() == "multipart/alternative"
            body = mail.get_body(preferencelist=("plain",))
            assert body.get_content_charset() == "utf-8" and "Nadia Amrani" in body.get_content()
            html = mail.get_body(preferencelist=("html",)).get_content()
            assert "<p>" in html and "Nadia Amrani" in html
            deliveries = await _deliveries(stack, accepted["reference"])
            assert deliveries[-1]["state"] == "sent" and deliveries[-1]["attempts"] == 1

            # Asked again (a duplicate job, a sweep): nothing is sent twice.
            await stack.app.state.queue.enqueue("send_delivery", deliveries[-1]["delivery_id"],
                                                job_id="send-again")
            await stack.drain()
            assert len(server.received) == 1


async def test_temporary_refusal_is_retried_then_sent(seeded: Settings) -> None:
    with smtp_server() as (server, port):
        server.data_replies = ["451 4.3.0 Try again later"]
        settings = seeded.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
        async with running(settings) as stack:
            await stack.drain()
            accepted = await stack.post_request()
            await stack.drain()
            assert server.data_attempts == 2 and len(server.received) == 1
            deliveries = await _deliveries(stack, accepted["reference"])
            assert deliveries[-1]["state"] == "sent" and deliveries[-1]["attempts"] == 2


async def test_permanent_refusal_fails_without_retry(seeded: Settings) -> None:
    with smtp_server() as (server, port):
        server.rcpt_replies = ["550 5.1.1 Mailbox unavailable"] * 5
        settings = seeded.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
        async with running(settings) as stack:
            await stack.drain()
            accepted = await stack.post_request()
            await stack.drain()
            await stack.drain()
            assert server.received == [] and len(server.rcpt_replies) == 4  # one attempt only
            deliveries = await _deliveries(stack, accepted["reference"])
            assert [d["state"] for d in deliveries] == ["failed"]
            assert "550" in deliveries[-1]["error"]


async def test_too_many_temporary_failures_end_as_a_dead_letter(seeded: Settings) -> None:
    with smtp_server() as (server, port):
        server.always_refuse_data = "451 4.3.0 Try again later"
        settings = seeded.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}",
                                             "send_max_attempts": 2})
        async with running(settings) as stack:
            await stack.drain()
            accepted = await stack.post_request()
            await stack.drain()
            assert server.data_attempts == 2 and server.received == []
            deliveries = await _deliveries(stack, accepted["reference"])
            assert deliveries[-1]["state"] == "failed" and deliveries[-1]["attempts"] == 2
            assert "gave up" in deliveries[-1]["error"]


async def test_unreachable_server_never_fails_the_request(seeded: Settings) -> None:
    settings = seeded.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}",
                                         "send_max_attempts": 2})
    async with running(settings) as stack:
        await stack.drain()
        accepted = await stack.post_request()  # 201 whatever the mail server does
        await stack.drain()
        deliveries = await _deliveries(stack, accepted["reference"])
        assert deliveries[-1]["state"] == "failed" and deliveries[-1]["attempts"] == 2
        assert "unreachable" in deliveries[-1]["error"]
