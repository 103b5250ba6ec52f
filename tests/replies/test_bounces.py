"""A mail we sent that bounces later: the DSN comes back through the real IMAP server (Dovecot)
and the pipeline, the delivery it names fails with the remote server's reason, and the next
channel in the citizen's preferences is proposed, as for an SMTP 5xx during the session.

What is real: aiosmtpd receiving our acknowledgement, Dovecot holding the DSN, the poller,
the inbound job, the app and its database and queue (in process on SQLite, arq on PostgreSQL)."""
from __future__ import annotations

from contextlib import asynccontextmanager

import pytest
from sqlmodel import col, select

from app.jobs.email_poll import poll_mailboxes
from app.registry import PARSERS
from app.settings import MailboxSettings, Settings
from crm.models import Citizen, InboundEvent, Ticket
from replies.models import Delivery
from tests.imap_server import imap_server
from tests.replies.test_smtp_delivery import app_mailing_to
from tests.smtp_server import smtp_server

REPLY = "guichet@mairie.example"


def dsn(original: bytes, *, status: str = "5.1.1", action: str = "failed", whole: bool = False) -> bytes:
    """A delivery status notification as Postfix writes one (RFC 3464), about `original`: its
    headers (text/rfc822-headers) or the whole mail (message/rfc822)."""
    headers = original.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in original else original.split(b"\n\n", 1)[0]
    returned = original if whole else headers
    kind = "message/rfc822" if whole else "text/rfc822-headers"
    return (
        b"From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\n"
        b"To: " + REPLY.encode() + b"\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"Message-ID: <20261202.bounce." + status.encode() + b"@mx.example.org>\r\n"
        b"Auto-Submitted: auto-replied\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"\r\n\r\n'
        b"--B0UND\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        b"I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
        b"--B0UND\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.org\r\nArrival-Date: Wed, 2 Dec 2026 11:00:00 +0000\r\n\r\n"
        b"Final-Recipient: rfc822; nadia@example.org\r\nOriginal-Recipient: rfc822;nadia@example.org\r\n"
        b"Action: " + action.encode() + b"\r\nStatus: " + status.encode() + b"\r\n"
        b"Diagnostic-Code: smtp; 550 " + status.encode() + b" <nadia@example.org>: Recipient address "
        b"rejected: User unknown in virtual mailbox table\r\n\r\n"
        b"--B0UND\r\nContent-Type: " + kind.encode() + b"\r\n\r\n" + returned + b"\r\n\r\n--B0UND--\r\n"
    )


def without_message_id(raw: bytes) -> bytes:
    return b"\r\n".join(line for line in raw.split(b"\r\n") if not line.lower().startswith(b"message-id:"))


def reparsed(content: bytes) -> bytes:
    """What aiosmtpd received, with CRLF line ends as a mail on the wire has."""
    return content.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")


@asynccontextmanager
async def mailing(seeded: Settings):
    """The app sending through aiosmtpd and polling Dovecot; a web form request with an email
    and a phone, acknowledged by mail: (stack, smtp, imap, poll context, reference)."""
    with smtp_server() as (server, port), imap_server() as imap:
        box = MailboxSettings(**imap.mailbox_settings())
        async with app_mailing_to(seeded, port, reply_address=REPLY, imap_mailboxes=[box]) as stack:
            accepted = await stack.post_request(phone="06 12 34 56 78")
            await stack.drain()
            ctx = {"sessionmaker": stack.app.state.sessionmaker, "queue": stack.app.state.queue,
                   "settings": stack.settings, "parsers": PARSERS}
            yield stack, server, imap, ctx, accepted["reference"]


@pytest.mark.parametrize("found_by", ["message_id", "reply_token"])
async def test_a_bounce_fails_the_mail_and_proposes_the_next_channel(seeded: Settings, found_by: str) -> None:
    async with mailing(seeded) as (stack, server, imap, ctx, reference):
        [ack] = server.received
        async with stack.session() as session:
            [delivery] = (await session.exec(select(Delivery))).all()
        assert delivery.state == "sent" and ack.message["Message-ID"] == delivery.header_message_id
        # The remote server accepted it, then could not deliver: the DSN comes to our mailbox.
        # Some servers return only the headers, others the whole mail, Message-ID or not.
        original = reparsed(ack.content)
        bounce = dsn(original) if found_by == "message_id" else dsn(without_message_id(original), whole=True)
        imap.deliver(bounce)
        assert (await poll_mailboxes(ctx))["accueil"]["new"] == 1
        await stack.drain()

        async with stack.session() as session:
            failed = await session.get(Delivery, delivery.id)
            event = (await session.exec(select(InboundEvent).where(InboundEvent.channel == "email")
                                        .order_by(col(InboundEvent.id).desc()))).first()
            tickets = (await session.exec(select(Ticket))).all()
            citizens = (await session.exec(select(Citizen))).all()
        assert failed.state == "failed" and "5.1.1" in failed.last_error
        assert "User unknown" in failed.last_error
        # Handled as the bounce it is: no ticket, no citizen for the mailer daemon.
        assert event.status == "processed" and event.ticket_id == failed.ticket_id
        assert len(tickets) == 1 and len(citizens) == 1
        ticket = await stack.ticket(reference)
        [note] = [e for e in ticket["timeline"] if e["data"].get("fallback")]
        assert note["data"]["failed_channel"] == "email" and note["data"]["proposed_channel"] == "sms"
        assert "next channel in the citizen's preferences: sms (+33612345678)" in note["reason"]
        assert any(e["kind"] == "delivery" and e["data"]["state"] == "failed"
                   and e["reason"].startswith("email bounced: 5.1.1") for e in ticket["timeline"])
        headers = {"Authorization": f"Bearer {await stack.token()}"}
        fallback = (await stack.client.get(f"/api/v1/tickets/{reference}/replies/fallback",
                                           headers=headers)).json()
        assert fallback["proposed"]["channel"] == "sms"
        assert fallback["last_failure"]["delivery_id"] == delivery.id

        # The same DSN again (another copy, another Message-ID): nothing more.
        imap.deliver(bounce.replace(b"<20261202.bounce.", b"<20261202.again."))
        await poll_mailboxes(ctx)
        await stack.drain()
        ticket = await stack.ticket(reference)
        assert len([e for e in ticket["timeline"] if e["data"].get("fallback")]) == 1
        assert len(server.received) == 1


async def test_a_delay_notice_changes_nothing(seeded: Settings) -> None:
    """A 4.x.x "delayed" DSN: the remote server still tries; the mail is not failed."""
    async with mailing(seeded) as (stack, server, imap, ctx, reference):
        [ack] = server.received
        imap.deliver(dsn(reparsed(ack.content), status="4.4.1", action="delayed"))
        await poll_mailboxes(ctx)
        await stack.drain()
        async with stack.session() as session:
            [delivery] = (await session.exec(select(Delivery))).all()
        assert delivery.state == "sent"
        ticket = await stack.ticket(reference)
        assert not [e for e in ticket["timeline"] if e["data"].get("fallback")]
