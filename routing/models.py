"""Tables owned by routing."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.columns import UTCDateTime, utcnow


class Role(str, enum.Enum):
    FRONTDESK = "frontdesk"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Presence(str, enum.Enum):
    AVAILABLE = "available"
    BUSY = "busy"
    AWAY = "away"
    OFFLINE = "offline"


class Agent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    name: str = Field(max_length=200)
    role: str = Field(default=Role.AGENT.value, max_length=20)
    presence: str = Field(default=Presence.AVAILABLE.value, max_length=20)
    capacity: int = 20  # open tickets assigned at once
    # Optional tighter limit per channel, e.g. {"phone": 2}: open tickets of that origin.
    channel_capacity: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    languages: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Opening-hours spec (routing.calendar.BusinessCalendar.from_spec); None: the team's hours.
    working_hours: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # argon2id (routing.agents.set_password); None: this agent cannot sign in to the pages.
    password_hash: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=8)  # of the pages; None: the default


class Skill(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)


class AgentSkill(SQLModel, table=True):
    __tablename__ = "agent_skill"
    __table_args__ = (UniqueConstraint("agent_id", "skill_id"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    skill_id: int = Field(foreign_key="skill.id", index=True)
    level: int = 3  # proficiency 1-5


class Team(SQLModel, table=True):
    """A group of agents with one queue and one calendar (opening hours, public holidays)."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    opening_hours: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    holiday_country: str | None = Field(default=None, max_length=8)  # e.g. FR, MA
    extra_holidays: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class AgentTeam(SQLModel, table=True):
    __tablename__ = "agent_team"
    __table_args__ = (UniqueConstraint("agent_id", "team_id"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    team_id: int = Field(foreign_key="team.id", index=True)


# Spelled out (routing does not import replies): replies.models.Step's values.
NOTIFIABLE_STEPS = ("acknowledgement", "more_information_needed", "status_changed", "resolved",
                    "satisfaction_survey")
DEFAULT_NOTIFY_STEPS = ("acknowledgement", "more_information_needed", "resolved", "satisfaction_survey")


class Category(SQLModel, table=True):
    """A kind of request citizens can make; it says which skill handles it."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)  # French, the administration's language
    names: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    skill_id: int | None = Field(default=None, foreign_key="skill.id")
    min_level: int = 1
    priority: str = Field(default="normal", max_length=20)
    team_id: int | None = Field(default=None, foreign_key="team.id")
    # SLA targets in business minutes of the team's calendar; None: no target.
    sla_first_response_minutes: int | None = None
    sla_resolution_minutes: int | None = None
    # What a breach does: any of "raise_priority", "supervisor_queue".
    escalation: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The steps of a request the citizen is told about (replies.models.Step values): the
    # acknowledgement, a status change's step, the survey after resolution.
    notify_steps: list[str] = Field(default_factory=lambda: list(DEFAULT_NOTIFY_STEPS),
                                    sa_column=Column(JSON, nullable=False))
    active: bool = True


class ApiToken(SQLModel, table=True):
    """An agent's bearer token; only its SHA-256 is kept."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TicketRouting(SQLModel, table=True):
    """Routing's own state of a ticket: its team queue, relaxation stage and SLA clock."""

    __tablename__ = "ticket_routing"

    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    waiting_since: datetime | None = Field(default=None, sa_type=UTCDateTime)  # None: assigned
    stage: str = Field(default="strict", max_length=10)
    first_response_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    resolution_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sla_state: str = Field(default="ok", max_length=10, index=True)  # ok, at_risk, breached
    escalated: bool = False  # in the supervisors' queue


class Notification(SQLModel, table=True):
    """Something an agent should see: an SLA at risk or breached, a ticket moved to them."""

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    kind: str = Field(max_length=30)
    text: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
