"""Twilio's StatusCallback for an SMS we sent: the raw form body -> what happened (pure)."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from channels.base import ParseError


@dataclass(frozen=True)
class StatusReport:
    provider_id: str  # our delivery's MessageSid
    status: str  # queued, sending, sent, delivered, undelivered, failed...
    error_code: str | None  # 30003 (unreachable handset), 30007 (carrier filtering)...


def parse_status(payload: bytes) -> StatusReport:
    try:
        fields = dict(parse_qsl(payload.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError as exc:
        raise ParseError("the callback body is not UTF-8") from exc
    sid = fields.get("MessageSid") or fields.get("SmsSid")
    status = fields.get("MessageStatus") or fields.get("SmsStatus")
    if not sid or not status:
        raise ParseError("no MessageSid or MessageStatus")
    return StatusReport(sid, status.strip().lower(), fields.get("ErrorCode") or None)
