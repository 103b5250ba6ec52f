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
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


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


class Category(SQLModel, table=True):
    """A kind of request citizens can make; it says which skill handles it."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)  # French, the administration's language
    names: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    skill_id: int | None = Field(default=None, foreign_key="skill.id")
    min_level: int = 1
    priority: str = Field(default="normal", max_length=20)
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
