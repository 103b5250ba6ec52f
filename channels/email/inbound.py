"""Email as an inbound channel: raw RFC 5322 bytes -> InboundMessage (pure)."""
from __future__ import annotations

import hashlib
from dataclasses import replace
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from channels.email.dsn import Bounce
from channels.email.forwarded import original_of
from channels.email.parse import parse_email
from crm.types import AttachmentData, Channel, InboundMessage, Sender

channel = Channel.EMAIL


def external_id(payload: bytes) -> str:
    """The Message-ID when there is one, else a hash of the content: a re-fetch is the same mail."""
    try:
        message_id = parse_email(payload).message_id
    except Exception:
        message_id = None
    return message_id or "sha256:" + hashlib.sha256(payload).hexdigest()


def parse(payload: bytes) -> InboundMessage:
    mail = parse_email(payload)
    return InboundMessage(
        channel=Channel.EMAIL,
        external_id=mail.message_id or "sha256:" + hashlib.sha256(payload).hexdigest(),
        sender=Sender(name=mail.from_name, email=mail.from_address),
        text=mail.reply_text or mail.text,
        subject=mail.subject or None,
        metadata={
            "message_id": mail.message_id,
            "in_reply_to": mail.in_reply_to,
            "references": mail.references,
            "auto_reply": mail.auto_reply,
            "recipients": recipients(payload),
            "full_text": mail.text if mail.reply_text != mail.text else None,
            **({"bounce": bounce_metadata(mail.bounce)} if mail.bounce else {}),
        },
        attachments=tuple(AttachmentData(a.filename, a.content_type, a.data, a.inline)
                          for a in mail.attachments),
    )


def bounce_metadata(bounce: Bounce) -> dict:
    return {"action": bounce.action, "status": bounce.status, "recipient": bounce.recipient,
            "diagnostic": bounce.diagnostic, "permanent": bounce.permanent, "reason": bounce.reason(),
            "original_message_id": bounce.original_message_id,
            "original_addresses": bounce.original_addresses}


RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")


def recipients(payload: bytes) -> list[str]:
    """Every address the mail was sent or delivered to, lowercased: where a reply token hides
    (Delivered-To keeps it when the visible To was rewritten or the citizen was in Bcc)."""
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(payload, headersonly=True)
        values = [str(v) for name in RECIPIENT_HEADERS for v in headers.get_all(name) or []]
        return list(dict.fromkeys(a.lower() for _, a in getaddresses(values) if "@" in a))
    except Exception:  # a recipient list is a hint for threading, never a reason to fail
        return []


def forwarded_original(payload: bytes, message: InboundMessage) -> InboundMessage | None:
    """The same message re-attributed to the author of the mail it forwards, or None.

    The caller decides whether the forwarder may speak for someone else (an agent
    forwarding from their mailbox may; a stranger may not).
    """
    try:
        mail = parse_email(payload)
        original = original_of(payload, mail.text, mail.subject)
    except Exception:
        return None
    if original is None or original.from_address == (message.sender.email or "").lower():
        return None
    return replace(
        message,
        sender=Sender(name=original.from_name, email=original.from_address),
        subject=original.subject or message.subject,
        text=original.text or message.text,
        metadata={**message.metadata, "in_reply_to": original.in_reply_to,
                  "references": original.references, "full_text": None,
                  "forwarded_by": (message.sender.email or "").lower(),
                  "original_date": original.date},
    )
