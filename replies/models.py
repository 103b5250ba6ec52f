"""Tables owned by replies."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.columns import UTCDateTime, utcnow


class Step(str, enum.Enum):
    """The moment of a request a template speaks for."""

    ACKNOWLEDGEMENT = "acknowledgement"
    MORE_INFORMATION_NEEDED = "more_information_needed"
    STATUS_CHANGED = "status_changed"
    AGENT_REPLY = "agent_reply"  # what an agent's answer starts from, edited before sending
    RESOLVED = "resolved"
    SATISFACTION_SURVEY = "satisfaction_survey"
    OPT_OUT_CONFIRMATION = "opt_out_confirmation"
    HELP = "help"  # the answer to an SMS "HELP" / "AIDE"


class DeliveryState(str, enum.Enum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"  # handed to the transport (SMTP accepted it, Twilio queued it)
    DELIVERED = "delivered"  # the carrier confirmed it reached the handset (Twilio status callback)
    UNDELIVERED = "undelivered"  # the carrier could not deliver it (Twilio status callback)
    HELD = "held"  # no transport configured for the channel: kept in the outbox, not sent
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"


class Template(SQLModel, table=True):
    """One text for a step, in one language, on one channel; a new version never overwrites.

    The versions of one slot (step, category, language, channel) form a linear history; exactly
    one is active, which the database holds to: `active_key` is the slot's key on the active
    version and NULL on the others, under a unique constraint."""

    __table_args__ = (UniqueConstraint("step", "category_id", "language", "channel", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    step: str = Field(max_length=40)
    category_id: int | None = Field(default=None, foreign_key="category.id")  # None: every category
    language: str = Field(max_length=8)
    channel: str = Field(max_length=20)
    subject: str = Field(default="", max_length=300)
    body: str
    html: str | None = None  # email and letter: an HTML body, autoescaped; None: derived from the text
    version: int = 1
    active: bool = True
    active_key: str | None = Field(default=None, max_length=120, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by: int | None = Field(default=None, foreign_key="agent.id")  # None: seeded
    change_note: str = Field(default="", max_length=500)
    copied_from_id: int | None = Field(default=None, foreign_key="template.id")  # a rollback's source


class Delivery(SQLModel, table=True):
    """One outbound message on its way out: the outbox.

    Without a ticket (and its message) for a service answer about no request: the answer
    to an SMS HELP goes to a number that may have no ticket at all."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    dedupe_key: str = Field(max_length=200, unique=True)  # one delivery per purpose, however often asked
    channel: str = Field(max_length=20)
    to: str = Field(max_length=320)
    subject: str | None = Field(default=None, max_length=300)
    body: str
    html: str | None = None  # email: the template's own HTML body; None: derived from the text
    header_message_id: str | None = Field(default=None, max_length=255)  # email Message-ID
    # Extra headers for the channel: In-Reply-To and References, so mail clients thread.
    headers: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default=DeliveryState.QUEUED.value, max_length=20, index=True)
    attempts: int = 0
    last_error: str | None = None
    provider_id: str | None = Field(default=None, max_length=255, index=True)
    # The provider's own status (Twilio: queued, sending, sent, delivered, undelivered, failed)
    # and error code (Twilio's 21610, 30003...), as its answers and callbacks said.
    provider_status: str | None = Field(default=None, max_length=20)
    error_code: str | None = Field(default=None, max_length=20)
    # SMS: what it costs, counted before sending (channels.sms.segments).
    encoding: str | None = Field(default=None, max_length=10)
    segments: int | None = None
    # Not sent before: a retry's backoff, or the end of SMS quiet hours (replies.quiet_hours).
    not_before: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class KnowledgeAnswer(SQLModel, table=True):
    """A ready answer to a question citizens often ask, in one language: what suggestions offer
    beside the agent_reply templates. Its text is a template body (validated like one), set into
    the channel's agent_reply frame when an agent picks it."""

    __tablename__ = "knowledge_answer"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    language: str = Field(max_length=8, index=True)
    category_id: int | None = Field(default=None, foreign_key="category.id")  # None: every category
    # What citizens write when this is the answer: words, and whole example messages.
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    examples: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    body: str
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by: int | None = Field(default=None, foreign_key="agent.id")  # None: seeded
    # Last edit or retirement: the suggestions' index rebuilds when it moves.
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ReplyChoice(SQLModel, table=True):
    """What an agent started a reply from, for the message it answered: suggestions learn from it.
    `choice` names a template slot ("template:agent_reply|3|fr|email") or an answer ("answer:12"),
    so a new version of a template keeps what was learnt on the old one."""

    __tablename__ = "reply_choice"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    message_id: int = Field(foreign_key="message.id", unique=True)  # the reply
    inbound_message_id: int | None = Field(default=None, foreign_key="message.id")  # what it answered
    language: str = Field(max_length=8)
    choice: str = Field(max_length=160, index=True)
    inbound_text: str = Field(default="", max_length=1000)  # what it answered, folded (replies.suggest.fold)
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class SatisfactionAnswer(SQLModel, table=True):
    """The citizen's score for a resolved request: one per ticket, a second answer replaces it."""

    __tablename__ = "satisfaction_answer"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", unique=True)
    score: int  # 1 (not at all satisfied) to 5 (very satisfied)
    channel: str = Field(max_length=20)  # how the answer came: sms, email (the link)
    comment: str | None = Field(default=None, max_length=2000)
    answered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
