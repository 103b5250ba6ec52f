"""Reading delivery status notifications (RFC 3464) with the email parser (pure)."""
from __future__ import annotations

from channels.email.parse import parse_email
from tests.replies.test_bounces import dsn

ORIGINAL = (b"From: Mairie <noreply@ville.example>\r\nTo: nadia@example.org\r\n"
            b"Reply-To: guichet+abcdef0123456789@mairie.example\r\nSubject: Votre demande\r\n"
            b"Message-ID: <ours.1@ville.example>\r\n\r\nBonjour,\r\n")


def test_a_failed_delivery_names_the_mail_the_recipient_and_the_reason() -> None:
    bounce = parse_email(dsn(ORIGINAL)).bounce
    assert bounce is not None and bounce.permanent
    assert (bounce.action, bounce.status, bounce.recipient) == ("failed", "5.1.1", "nadia@example.org")
    assert bounce.original_message_id == "<ours.1@ville.example>"
    assert "User unknown" in bounce.diagnostic and bounce.reason().startswith("bounced: 5.1.1 (550 5.1.1")
    assert "guichet+abcdef0123456789@mairie.example" in bounce.original_addresses
    whole = parse_email(dsn(ORIGINAL, whole=True)).bounce
    assert whole is not None and whole.original_message_id == "<ours.1@ville.example>"
    assert parse_email(dsn(ORIGINAL)).auto_reply  # still never answered


def test_a_delay_is_not_permanent_and_other_mail_is_no_bounce() -> None:
    delayed = parse_email(dsn(ORIGINAL, status="4.4.1", action="delayed")).bounce
    assert delayed is not None and not delayed.permanent
    assert parse_email(ORIGINAL).bounce is None
    # A report of another kind (a read receipt) or a report without its status part: none.
    receipt = dsn(ORIGINAL).replace(b"report-type=delivery-status", b"report-type=disposition-notification")
    assert parse_email(receipt).bounce is None
    broken = dsn(ORIGINAL).replace(b"Content-Type: message/delivery-status", b"Content-Type: text/plain")
    assert parse_email(broken).bounce is None
