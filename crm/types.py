"""The language every channel speaks: what came in, what goes out."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Channel(str, enum.Enum):
    EMAIL = "email"
    SMS = "sms"
    WEBFORM = "webform"
    # The front desk: contacts an agent logs (channels/counter.py). PHONE is also the reply
    # channel "call back", LETTER the reply channel "printed letter".
    PHONE = "phone"
    COUNTER = "counter"  # a walk-in at the counter
    LETTER = "letter"


class Direction(str, enum.Enum):
    IN = "in"
    OUT = "out"


@dataclass(frozen=True)
class Sender:
    """Who wrote, as the channel saw it (not yet normalised nor identified)."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None  # postal, one line (letters, the front desk)
    national_id: str | None = None  # an identity document number an agent saw (the front desk)


@dataclass(frozen=True)
class AttachmentData:
    """A file that came with a message; stored outside the message row."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)
    inline: bool = False


@dataclass(frozen=True)
class InboundMessage:
    """One message from a citizen, parsed from a channel's raw payload."""

    channel: Channel
    external_id: str
    sender: Sender
    text: str
    subject: str | None = None
    category: str | None = None  # a category slug when the channel says it (web form)
    received_at: datetime | None = None
    reply_channel: Channel | None = None  # where the citizen wants answers, when not the same
    new_ticket: bool = False  # the channel knows this is a new request (web form)
    metadata: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[AttachmentData, ...] = ()
    # The front desk knows more than a channel usually does: the citizen an agent picked, the
    # ticket the agent named. Both checked when recorded; None: identify and thread as usual.
    citizen_id: int | None = None
    reference: str | None = None


@dataclass(frozen=True)
class OutboundMessage:
    """One message for a citizen, ready for a channel's sender."""

    channel: Channel
    to: str
    text: str
    subject: str | None = None
    html: str | None = None
    message_id: str | None = None  # our id, stable across retries (email Message-ID)
    headers: dict[str, str] = field(default_factory=dict)
