"""What every channel implements, and the two ways a send can fail."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

from crm.types import Channel, InboundMessage, OutboundMessage


class RetryLater(Exception):
    """A transient failure: the same send may succeed later."""

    def __init__(self, reason: str, *, delay_seconds: float | None = None) -> None:
        super().__init__(reason)
        self.delay_seconds = delay_seconds


class ChannelError(Exception):
    """A permanent failure: sending again will not help (bad address, refused).
    `code`: the provider's error code when it gave one (Twilio's 21610)."""

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.code = code


class ParseError(Exception):
    """The raw payload cannot be understood; the event is quarantined with it."""


def json_payload(payload: bytes, source: str) -> dict[str, Any]:
    """A payload our own handler recorded as a JSON object (web form, front desk)."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"{source} payload is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ParseError(f"{source} payload is not a JSON object")
    return data


def json_payload_id(payload: bytes, key: str, source: str) -> str:
    """The external id such a payload carries under `key`."""
    data = json_payload(payload, source)
    if not data.get(key):
        raise ParseError(f"{source} payload has no {key}")
    return str(data[key])


def json_payload_time(data: dict[str, Any], key: str) -> datetime | None:
    """An ISO timestamp we wrote into such a payload; None when absent."""
    try:
        return datetime.fromisoformat(data[key]) if data.get(key) else None
    except (TypeError, ValueError) as exc:
        raise ParseError(f"bad {key}: {exc}") from exc


class InboundParser(Protocol):
    channel: Channel

    def external_id(self, payload: bytes) -> str: ...

    def parse(self, payload: bytes) -> InboundMessage: ...

    # Optional: `forwarded_original(payload, message) -> InboundMessage | None`, the message
    # re-attributed to the author of what it forwards (email implements it).


class OutboundSender(Protocol):
    channel: Channel

    async def send(self, message: OutboundMessage) -> str:
        """Send; return the provider's id. Raise RetryLater or ChannelError."""
        ...
