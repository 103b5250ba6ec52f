"""SMS (and MMS) as Twilio posts them: the raw form-encoded webhook body -> InboundMessage (pure).

The raw bytes are what Twilio signed and what we store; parsing happens in the worker.
Media URLs are kept for the worker to fetch from Twilio's media host only.
"""
from __future__ import annotations

from urllib.parse import parse_qsl

from channels.base import ParseError
from channels.sms.keywords import keyword_of
from crm.types import Channel, InboundMessage, Sender

channel = Channel.SMS
MAX_MEDIA = 10  # Twilio's own limit per message


def _fields(payload: bytes) -> dict[str, str]:
    try:
        return dict(parse_qsl(payload.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError as exc:
        raise ParseError("the webhook body is not UTF-8") from exc


def external_id(payload: bytes) -> str:
    sid = _fields(payload).get("MessageSid") or _fields(payload).get("SmsSid")
    if not sid:
        raise ParseError("no MessageSid")
    return sid


def parse(payload: bytes) -> InboundMessage:
    fields = _fields(payload)
    sender = fields.get("From", "").strip()
    if not sender:
        raise ParseError("no From number")
    try:
        count = min(int(fields.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        count = 0
    media = [{"url": fields[f"MediaUrl{i}"], "content_type": fields.get(f"MediaContentType{i}", "")}
             for i in range(count) if fields.get(f"MediaUrl{i}")]
    return InboundMessage(
        channel=Channel.SMS,
        external_id=external_id(payload),
        sender=Sender(phone=sender),
        text=fields.get("Body", ""),
        metadata={"to": fields.get("To"), "account_sid": fields.get("AccountSid"), "media": media,
                  "from_country": fields.get("FromCountry"), "keyword": keyword_of(fields.get("Body", ""))},
    )
