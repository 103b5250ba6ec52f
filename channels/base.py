"""What every channel implements, and the two ways a send can fail."""
from __future__ import annotations

from typing import Protocol

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
