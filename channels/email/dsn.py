"""Delivery status notifications (RFC 3464 bounces), read (pure): which of our mails did not
arrive, to whom, and whether for good.

A DSN is a multipart/report with report-type=delivery-status: a human text, a
message/delivery-status part (a block for the message, then a block per recipient with
Final-Recipient, Action, Status, Diagnostic-Code), and the original message or its headers
(message/rfc822 or text/rfc822-headers), whose Message-ID names the mail that bounced.
Bounces in free text only (no report) are not read here: they stay auto-replies on the ticket.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses

STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
MESSAGE_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class Bounce:
    action: str  # failed, delayed, delivered, relayed, expanded
    status: str  # the enhanced status code, 5.1.1
    recipient: str | None  # Final-Recipient (else Original-Recipient), lowercased
    diagnostic: str  # the remote server's words, or ""
    original_message_id: str | None  # the Message-ID of the mail that bounced
    # Addresses in the original's Reply-To / From: where our reply token travels.
    original_addresses: list[str] = field(default_factory=list)

    @property
    def permanent(self) -> bool:
        """A failed delivery with a 5.x.x status: no later attempt will get through."""
        return self.action == "failed" and self.status.startswith("5")

    def reason(self) -> str:
        what = f"bounced: {self.status}"
        return f"{what} ({self.diagnostic})" if self.diagnostic else what


def _text(value: object) -> str:
    return " ".join(str(value or "").split())


def _address(value: str) -> str | None:
    """`rfc822; user@example.org` -> `user@example.org`."""
    _, _, address = value.rpartition(";")
    address = address.strip().strip("<>").lower()
    return address if "@" in address else None


def _blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    # Some servers send it as text: blocks are separated by a blank line.
    text = part.get_payload(decode=True) or b""
    chunks = re.split(r"\r?\n\s*\r?\n", text.decode("utf-8", "replace"))
    return [HeaderParser(policy=policy.compat32).parsestr(chunk) for chunk in chunks if chunk.strip()]


def _original_headers(message: Message) -> Message | None:
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                return payload[0]
        elif content_type == "text/rfc822-headers":
            raw = part.get_payload(decode=True) or b""
            return HeaderParser(policy=policy.compat32).parsestr(raw.decode("utf-8", "replace"))
    return None


def parse_bounce(message: Message) -> Bounce | None:
    """The first recipient's outcome of a DSN (ours go to one recipient each); None when the
    message is not a delivery-status report or names no recipient."""
    try:
        if message.get_content_type() != "multipart/report" \
                or message.get_param("report-type", "").lower() != "delivery-status":
            return None
        status_part = next((p for p in message.walk() if p.get_content_type() == "message/delivery-status"), None)
        if status_part is None:
            return None
        blocks = _blocks(status_part)
        recipient_block = next((b for b in blocks[1:] + blocks[:1]
                                if b.get("Final-Recipient") or b.get("Original-Recipient")), None)
        if recipient_block is None:
            return None
        status = STATUS.search(_text(recipient_block.get("Status")))
        original = _original_headers(message)
        ids = MESSAGE_ID.findall(_text(original.get("Message-ID"))) if original is not None else []
        addresses = []
        if original is not None:
            values = [_text(original.get(name)) for name in ("Reply-To", "From") if original.get(name)]
            addresses = [a.lower() for _, a in getaddresses(values) if "@" in a]
        return Bounce(
            action=_text(recipient_block.get("Action")).lower(),
            status=status.group(0) if status else "",
            recipient=_address(_text(recipient_block.get("Final-Recipient")
                                     or recipient_block.get("Original-Recipient"))),
            diagnostic=_text(recipient_block.get("Diagnostic-Code")).partition(";")[2].strip()[:500],
            original_message_id=ids[0] if ids else None,
            original_addresses=addresses,
        )
    except Exception:  # a report we cannot read is a bounce we cannot use, never a crash
        return None
