"""The public web form: its payload is the JSON the HTTP handler validated and recorded."""
from __future__ import annotations

import json
from datetime import datetime

from channels.base import ParseError
from crm.types import Channel, InboundMessage, Sender

channel = Channel.WEBFORM


def encode(fields: dict[str, str | None], *, submission_id: str, language: str, submitted_at: datetime) -> bytes:
    """The raw payload recorded for a submission: canonical JSON, so repeats compare equal."""
    body = {**fields, "submission_id": submission_id, "language": language,
            "submitted_at": submitted_at.isoformat()}
    return json.dumps(body, ensure_ascii=False, sort_keys=True).encode()


def request_fields(payload: bytes) -> dict[str, str | None]:
    """The citizen's own fields, without what we added (to compare a repeated submission)."""
    data = _load(payload)
    return {k: v for k, v in data.items() if k not in {"submission_id", "submitted_at"}}


def _load(payload: bytes) -> dict:
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"web form payload is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ParseError("web form payload is not a JSON object")
    return data


def external_id(payload: bytes) -> str:
    data = _load(payload)
    if not data.get("submission_id"):
        raise ParseError("web form payload has no submission_id")
    return str(data["submission_id"])


def parse(payload: bytes) -> InboundMessage:
    data = _load(payload)
    message = (data.get("message") or "").strip()
    if not message:
        raise ParseError("web form payload has no message")
    email, phone = data.get("email") or None, data.get("phone") or None
    if not (email or phone):
        raise ParseError("web form payload has neither email nor phone")
    try:
        received = datetime.fromisoformat(data["submitted_at"]) if data.get("submitted_at") else None
    except ValueError as exc:
        raise ParseError(f"bad submitted_at: {exc}") from exc
    return InboundMessage(
        channel=Channel.WEBFORM,
        external_id=external_id(payload),
        sender=Sender(name=data.get("name"), email=email, phone=phone),
        text=message,
        subject=(data.get("subject") or "").strip() or None,
        category=data.get("category"),
        received_at=received,
        reply_channel=Channel.EMAIL if email else Channel.SMS,
        new_ticket=True,
        metadata={"language": data.get("language") or None},
    )
