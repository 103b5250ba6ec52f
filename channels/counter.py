"""The front desk: a phone call, a walk-in at the counter or a paper letter, typed in by an agent.

The payload is the JSON the HTTP handler validated and recorded (app/frontdesk.py); scanned
files ride along base64-encoded, so the raw event holds everything the contact brought.
"""
from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from channels.base import ParseError, json_payload, json_payload_id, json_payload_time
from crm.types import AttachmentData, Channel, InboundMessage, Sender

channel = Channel.COUNTER
# Where a contact can come from, and what the citizen may ask to be answered on.
CONTACT_CHANNELS = {c.value: c for c in (Channel.PHONE, Channel.COUNTER, Channel.LETTER)}
REPLY_CHANNELS = {"sms": Channel.SMS, "email": Channel.EMAIL, "letter": Channel.LETTER,
                  "call_back": Channel.PHONE}
ADDED_BY_US = frozenset({"contact_id", "logged_at"})


def encode(fields: dict[str, Any], *, contact_id: str, logged_at: datetime) -> bytes:
    """The raw payload recorded for a contact: canonical JSON, so repeats compare equal."""
    body = {**fields, "contact_id": contact_id, "logged_at": logged_at.isoformat()}
    return json.dumps(body, ensure_ascii=False, sort_keys=True).encode()


def contact_fields(payload: bytes) -> dict[str, Any]:
    """What the agent sent, without what we added (to compare a repeated submission)."""
    return {k: v for k, v in _load(payload).items() if k not in ADDED_BY_US}


def _load(payload: bytes) -> dict[str, Any]:
    return json_payload(payload, "front-desk")


def external_id(payload: bytes) -> str:
    return json_payload_id(payload, "contact_id", "front-desk")


def _attachments(items: Any) -> tuple[AttachmentData, ...]:
    files = []
    for item in items or ():
        try:
            files.append(AttachmentData(filename=str(item["filename"]), content_type=str(item["content_type"]),
                                        data=base64.b64decode(item["data"], validate=True)))
        except (KeyError, TypeError, binascii.Error) as exc:
            raise ParseError(f"front-desk attachment unreadable: {type(exc).__name__}") from exc
    return tuple(files)


def parse(payload: bytes) -> InboundMessage:
    data = _load(payload)
    note = (data.get("note") or "").strip()
    if not note:
        raise ParseError("front-desk payload has no note")
    if data.get("channel") not in CONTACT_CHANNELS:
        raise ParseError(f"front-desk payload has an unknown channel {data.get('channel')!r}")
    if data.get("reply_channel") not in REPLY_CHANNELS:
        raise ParseError(f"front-desk payload has an unknown reply channel {data.get('reply_channel')!r}")
    if not data.get("logged_by"):
        raise ParseError("front-desk payload does not say which agent logged it")
    return InboundMessage(
        channel=CONTACT_CHANNELS[data["channel"]],
        external_id=external_id(payload),
        sender=Sender(name=data.get("name"), email=data.get("email"), phone=data.get("phone"),
                      address=data.get("address"), national_id=data.get("national_id")),
        text=note,
        subject=(data.get("subject") or "").strip() or None,
        category=data.get("category"),
        received_at=json_payload_time(data, "logged_at"),
        reply_channel=REPLY_CHANNELS[data["reply_channel"]],
        new_ticket=not data.get("reference"),
        metadata={"language": data.get("language") or None, "logged_by": int(data["logged_by"]),
                  "resolved_on_the_spot": bool(data.get("resolved_on_the_spot"))},
        attachments=_attachments(data.get("attachments")),
        citizen_id=data.get("citizen_id"),
        reference=data.get("reference"),
    )
