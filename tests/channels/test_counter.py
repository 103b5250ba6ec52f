"""The front desk's pure parser: what an agent logged becomes an InboundMessage."""
from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from channels import counter
from channels.base import ParseError
from crm.types import Channel

NOW = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)
FIELDS = {"channel": "phone", "citizen_id": 7, "name": None, "email": None, "phone": "+33611223344",
          "address": None, "national_id": None, "language": "ar", "reference": None, "category": "voirie",
          "subject": "Trottoir", "note": "Un trottoir effondré.", "reply_channel": "call_back",
          "resolved_on_the_spot": False, "logged_by": 3,
          "attachments": [{"filename": "plan.png", "content_type": "image/png",
                           "data": base64.b64encode(b"\x89PNG").decode()}]}


def test_round_trip() -> None:
    payload = counter.encode(FIELDS, contact_id="key:3:abc", logged_at=NOW)
    assert counter.external_id(payload) == "key:3:abc"
    assert counter.contact_fields(payload) == FIELDS
    message = counter.parse(payload)
    assert (message.channel, message.reply_channel) == (Channel.PHONE, Channel.PHONE)  # call back
    assert message.citizen_id == 7 and message.reference is None and message.new_ticket
    assert message.sender.phone == "+33611223344" and message.text == "Un trottoir effondré."
    assert message.metadata == {"language": "ar", "logged_by": 3, "resolved_on_the_spot": False}
    assert message.received_at == NOW
    assert [(a.filename, a.data) for a in message.attachments] == [("plan.png", b"\x89PNG")]


def test_a_named_ticket_is_not_a_new_one() -> None:
    message = counter.parse(counter.encode({**FIELDS, "reference": "GRU-2026-000004"}, contact_id="c",
                                           logged_at=NOW))
    assert message.reference == "GRU-2026-000004" and not message.new_ticket


@pytest.mark.parametrize("change", [{"note": " "}, {"channel": "fax"}, {"reply_channel": "pigeon"},
                                    {"logged_by": None}, {"attachments": [{"filename": "x"}]}])
def test_what_cannot_be_understood_is_a_parse_error(change: dict) -> None:
    with pytest.raises(ParseError):
        counter.parse(counter.encode({**FIELDS, **change}, contact_id="c", logged_at=NOW))


@pytest.mark.parametrize("payload", [b"{not json", b"[]", b'{"note": "x"}'])
def test_broken_payloads_are_parse_errors(payload: bytes) -> None:
    with pytest.raises(ParseError):
        counter.parse(payload)
