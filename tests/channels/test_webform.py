"""The web form channel's pure parser."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels import webform
from channels.base import ParseError
from crm.types import Channel

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_round_trip() -> None:
    payload = webform.encode({"name": "Nadia", "email": "n@example.org", "phone": None,
                              "category": "voirie", "subject": None, "message": "Trou"},
                             submission_id="key:abc", language="fr", submitted_at=NOW)
    assert webform.external_id(payload) == "key:abc"
    message = webform.parse(payload)
    assert message.channel is Channel.WEBFORM and message.new_ticket
    assert message.sender.email == "n@example.org" and message.sender.name == "Nadia"
    assert message.reply_channel is Channel.EMAIL
    assert message.category == "voirie" and message.text == "Trou" and message.subject is None
    assert message.received_at == NOW and message.metadata == {"language": "fr"}


def test_phone_only_replies_by_sms() -> None:
    payload = webform.encode({"name": "A", "phone": "0612345678", "message": "x", "category": "c"},
                             submission_id="s", language="fr", submitted_at=NOW)
    assert webform.parse(payload).reply_channel is Channel.SMS


@pytest.mark.parametrize("payload", [b"", b"\xff\xfe", b"[]", b"{}", b'{"submission_id": "s"}',
                                     b'{"submission_id": "s", "message": "x"}',
                                     b'{"submission_id": "s", "message": "x", "email": "a@b.fr", '
                                     b'"submitted_at": "yesterday"}'])
def test_bad_payloads_raise_parse_error(payload: bytes) -> None:
    with pytest.raises(ParseError):
        webform.parse(payload)
