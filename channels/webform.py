"""The public web form: its payload is the JSON the HTTP handler validated and recorded."""
from __future__ import annotations

import json
from datetime import datetime

from channels.base import ParseError, json_payload, json_payload_id, json_payload_time
from crm.types import Channel, InboundMessage, Sender

channel = Channel.WEBFORM


def encode(fields: dict[str, str | None], *, submission_id: str, language: str | None,
           submitted_at: datetime) -> bytes:
    """The raw payload recorded for a submission: canonical JSON, so repeats compare equal."""
    body = {**fields, "submission_id": submission_id, "language": language,
            "submitted_at": submitted_at.isoformat()}
    return json.dumps(body, ensure_ascii=False, sort_keys=True).encode()


def request_fields(payload: bytes) -> dict[str, str | None]:
    """The citizen's own fields, without what we added (to compare a repeated submission)."""
    data = _load(payload)
    return {k: v for k, v in data.items() if k not in {"submission_id", "submitted_at"}}


def _load(payload: bytes) -> dict:
    return json_payload(payload, "web form")


def external_id(payload: bytes) -> str:
    return json_payload_id(payload, "submission_id", "web form")


def parse(payload: bytes) -> InboundMessage:
    data = _load(payload)
    message = (data.get("message") or "").strip()
    if not message:
        raise ParseError("web form payload has no message")
    email, phone = data.get("email") or None, data.get("phone") or None
    if not (email or phone):
        raise ParseError("web form payload has neither email nor phone")
    return InboundMessage(
        channel=Channel.WEBFORM,
        external_id=external_id(payload),
        sender=Sender(name=data.get("name"), email=email, phone=phone),
        text=message,
        subject=(data.get("subject") or "").strip() or None,
        category=data.get("category"),
        received_at=json_payload_time(data, "submitted_at"),
        reply_channel=Channel.EMAIL if email else Channel.SMS,
        new_ticket=True,
        metadata={"language": data.get("language") or None},
    )
