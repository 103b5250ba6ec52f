"""Agents, their skills and their API tokens."""
from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.columns import utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.models import AccessRecord
from routing.calendar import BusinessCalendar
from routing.models import Agent, AgentSkill, ApiToken, Role, Skill

TOKEN_PREFIX = "gch_"
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # argon2 takes any length; a megabyte "password" is an attack
_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters


def parse_skill_levels(text: str) -> dict[str, int]:
    """`etat_civil:5,urbanisme` -> {"etat_civil": 5, "urbanisme": 3}."""
    levels: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        slug, _, level = item.partition(":")
        try:
            value = int(level) if level else 3
        except ValueError:
            raise InvalidInput(f"skill level must be a number 1-5: {item!r}") from None
        if not 1 <= value <= 5:
            raise InvalidInput(f"skill level must be 1-5: {item!r}")
        levels[slug.strip()] = value
    return levels


async def create_agent(
    session: AsyncSession, *, email: str, name: str, role: str, skills: dict[str, int],
    capacity: int = 20, languages: list[str] | tuple[str, ...] = (),
) -> Agent:
    if role not in {r.value for r in Role}:
        raise InvalidInput(f"unknown role {role!r}; one of: {', '.join(r.value for r in Role)}")
    known = {s.slug: s for s in (await session.exec(select(Skill).where(col(Skill.slug).in_(skills)))).all()}
    missing = sorted(set(skills) - set(known))
    if missing:
        all_slugs = (await session.exec(select(Skill.slug).order_by(Skill.slug))).all()
        raise InvalidInput(f"unknown skill(s): {', '.join(missing)}; known: {', '.join(all_slugs) or 'none'}")
    if capacity < 1:
        raise InvalidInput("capacity must be at least 1")
    agent = Agent(email=email.strip().lower(), name=name.strip(), role=role, capacity=capacity,
                  languages=sorted({code.strip().lower() for code in languages if code.strip()}))
    try:
        async with session.begin_nested():
            session.add(agent)
    except IntegrityError:
        raise Conflict(f"an agent with email {email} exists") from None
    for slug, level in skills.items():
        session.add(AgentSkill(agent_id=agent.id, skill_id=known[slug].id, level=level))
    await session.flush()
    return agent


async def find_agent_by_email(session: AsyncSession, email: str) -> Agent | None:
    return (await session.exec(select(Agent).where(Agent.email == email.strip().lower()))).first()


async def agents_by_email(session: AsyncSession) -> dict[str, Agent]:
    """Every agent by email: what find_agent_by_email answers, for many senders at once."""
    return {agent.email: agent for agent in (await session.exec(select(Agent))).all()}


async def get_agent_by_email(session: AsyncSession, email: str) -> Agent:
    agent = await find_agent_by_email(session, email)
    if agent is None:
        raise NotFound(f"no agent with email {email}")
    return agent


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(session: AsyncSession, agent: Agent) -> str:
    """A new bearer token; the plain text exists only in this return value."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(agent_id=agent.id, token_hash=_hash(token)))
    await session.flush()
    return token


async def agent_for_token(session: AsyncSession, token: str) -> Agent | None:
    row = (
        await session.exec(
            select(ApiToken, Agent)
            .join(Agent, Agent.id == ApiToken.agent_id)
            .where(ApiToken.token_hash == _hash(token), col(ApiToken.revoked_at).is_(None), Agent.active)
        )
    ).first()
    if row is None:
        return None
    api_token, agent = row
    api_token.last_used_at = utcnow()
    return agent


async def update_agent(
    session: AsyncSession, agent: Agent, *, skills: dict[str, int] | None = None, capacity: int | None = None,
    channel_capacity: dict[str, int] | None = None, languages: list[str] | None = None,
    working_hours: dict | None = None, clear_working_hours: bool = False,
) -> list[str]:
    """Change what the router knows of an agent; returns what changed, for the audit trail."""
    changed = []
    if capacity is not None:
        if capacity < 1:
            raise InvalidInput("capacity must be at least 1")
        agent.capacity = capacity
        changed.append("capacity")
    if channel_capacity is not None:
        if any(not isinstance(v, int) or v < 0 for v in channel_capacity.values()):
            raise InvalidInput("channel capacities must be whole numbers ≥ 0")
        agent.channel_capacity = dict(channel_capacity)
        changed.append("channel_capacity")
    if languages is not None:
        agent.languages = sorted({code.strip().lower() for code in languages if code.strip()})
        changed.append("languages")
    if working_hours is not None or clear_working_hours:
        if working_hours is not None:
            try:
                BusinessCalendar.from_spec(working_hours)
            except (ValueError, TypeError) as exc:
                raise InvalidInput(f"working hours: {exc}") from None
        agent.working_hours = None if clear_working_hours else working_hours
        changed.append("working_hours")
    if skills is not None:
        for slug, level in skills.items():
            if not isinstance(level, int) or not 1 <= level <= 5:
                raise InvalidInput(f"skill level must be 1-5: {slug}={level!r}")
        known = {s.slug: s for s in (await session.exec(select(Skill).where(col(Skill.slug).in_(skills)))).all()}
        missing = sorted(set(skills) - set(known))
        if missing:
            raise InvalidInput(f"unknown skill(s): {', '.join(missing)}")
        for row in (await session.exec(select(AgentSkill).where(AgentSkill.agent_id == agent.id))).all():
            await session.delete(row)
        await session.flush()
        for slug, level in skills.items():
            session.add(AgentSkill(agent_id=agent.id, skill_id=known[slug].id, level=level))
        changed.append("skills")
    await session.flush()
    return changed


# --- passwords (the pages); the API keeps its bearer tokens ------------------------------------

def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
                           fields={"password": "too short"})
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"a password has at most {MAX_PASSWORD_LENGTH} characters",
                           fields={"password": "too long"})


@lru_cache(maxsize=8)
def _hash_once(password: str) -> str:
    return _HASHER.hash(password)


def hash_password(password: str, *, reuse: bool = False) -> str:
    """An argon2id hash. `reuse`: the same hash for the same password in this process (demo
    seeds: every demo agent shares one published password, so nothing is lost, and hashing
    stays out of every test's setup)."""
    check_password_rules(password)
    return _hash_once(password) if reuse else _HASHER.hash(password)


async def set_password(session: AsyncSession, agent: Agent, password: str, *, reuse_hash: bool = False) -> None:
    agent.password_hash = hash_password(password, reuse=reuse_hash)
    session.add(agent)
    await session.flush()


def password_stamp(agent: Agent) -> str:
    """Changes whenever the password does: a session remembers it, so a new password signs
    out every other session of the agent."""
    return hashlib.sha256((agent.password_hash or "").encode()).hexdigest()[:16]


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash("not a real password, only spends the same time")


async def authenticate(session: AsyncSession, email: str, password: str) -> Agent | None:
    """The active agent with this email and password, else None (unknown email, no password
    set, wrong password and inactive agent cost the same time and say the same)."""
    agent = await find_agent_by_email(session, email) if email.strip() else None
    stored = agent.password_hash if agent is not None and agent.active else None
    try:
        _HASHER.verify(stored or _dummy_hash(), password[:MAX_PASSWORD_LENGTH])
    except (VerificationError, InvalidHashError):
        return None
    if stored is None or agent is None:
        return None
    if _HASHER.check_needs_rehash(stored):
        agent.password_hash = _HASHER.hash(password)
        session.add(agent)
    return agent


def record_sign(session: AsyncSession, agent_id: int, action: str) -> None:
    """`sign_in`, `sign_out`, `password_change` on the access trail (who and when; nothing else)."""
    session.add(AccessRecord(agent_id=agent_id, action=action, subject_type="agent", subject_id=agent_id))


async def set_page_language(session: AsyncSession, agent: Agent, language: str | None) -> None:
    """The language of the agent's pages (None: the administration's default)."""
    agent.language = language
    session.add(agent)
    await session.flush()
