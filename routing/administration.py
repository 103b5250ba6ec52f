"""What administrators and supervisors change in routing's reference data: categories (skill,
team, SLA targets, the steps the citizen hears about), skills, agents (created, edited,
deactivated, password reset) and team calendars. Every change leaves an AccessRecord (who,
what, when), like `edit_agent` does for the API."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.errors import Conflict, Forbidden, InvalidInput, NotFound
from crm.models import AccessRecord
from crm.types import Channel
from routing.agents import check_password_rules, create_agent, set_password, update_agent
from routing.assign import RoutingConfig
from routing.calendar import BusinessCalendar
from routing.categories import ESCALATIONS
from routing.models import (
    NOTIFIABLE_STEPS,
    Agent,
    AgentSkill,
    AgentTeam,
    Category,
    Presence,
    Role,
    Skill,
    Team,
)
from routing.policy import PRIORITY_RANK
from routing.supervision import require_supervisor, set_presence

SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
LANGUAGE = re.compile(r"[a-z]{2,3}")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INTERVAL = re.compile(r"(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})")
GENERATED_PASSWORD_BYTES = 12  # 16 URL-safe characters, above the minimum length


def require_admin(agent: Agent) -> None:
    if agent.role != Role.ADMIN.value:
        raise Forbidden("only administrators may do this")


def _audit(session: AsyncSession, by: Agent, action: str, subject_type: str, subject_id: int) -> None:
    session.add(AccessRecord(agent_id=by.id, action=action[:40], subject_type=subject_type, subject_id=subject_id))


def _slug(value: str, what: str) -> str:
    slug = value.strip().lower()
    if not SLUG.fullmatch(slug):
        raise InvalidInput(f"{what}: lower-case letters, digits, - and _ only (at most 64)",
                           fields={"slug": "lower-case letters, digits, - and _ only"})
    return slug


def _name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a name of 1 to 200 characters is required", fields={"name": "required"})
    return name


# --- categories --------------------------------------------------------------------------------

@dataclass(frozen=True)
class CategoryIn:
    slug: str
    name: str
    names: dict[str, str]
    skill_id: int | None
    min_level: int
    priority: str
    team_id: int | None
    sla_first_response_minutes: int | None
    sla_resolution_minutes: int | None
    escalation: list[str]
    notify_steps: list[str]


@dataclass(frozen=True)
class Reference:
    """What the category and agent forms offer to choose from."""

    skills: list[Skill]
    teams: list[Team]


async def reference_lists(session: AsyncSession) -> Reference:
    return Reference(list((await session.exec(select(Skill).order_by(Skill.slug))).all()),
                     list((await session.exec(select(Team).order_by(Team.slug))).all()))


async def all_categories(session: AsyncSession) -> list[Category]:
    """Active first, then by name (inactive ones can be edited back to life)."""
    return list((await session.exec(select(Category).order_by(col(Category.active).desc(), Category.name))).all())


async def get_category(session: AsyncSession, category_id: int) -> Category:
    category = await session.get(Category, category_id)
    if category is None:
        raise NotFound(f"no category {category_id}")
    return category


def _check_category(data: CategoryIn, reference: Reference) -> None:
    problems: dict[str, str] = {}
    if data.skill_id is not None and data.skill_id not in {s.id for s in reference.skills}:
        problems["skill_id"] = "unknown skill"
    if data.team_id is not None and data.team_id not in {t.id for t in reference.teams}:
        problems["team_id"] = "unknown team"
    if not 1 <= data.min_level <= 5:
        problems["min_level"] = "a level from 1 to 5"
    if data.priority not in PRIORITY_RANK:
        problems["priority"] = "unknown priority"
    for name in ("sla_first_response_minutes", "sla_resolution_minutes"):
        value = getattr(data, name)
        if value is not None and not 1 <= value <= 525_600:
            problems[name] = "minutes between 1 and 525600, or empty for no target"
    if (data.sla_first_response_minutes and data.sla_resolution_minutes
            and data.sla_resolution_minutes < data.sla_first_response_minutes):
        problems["sla_resolution_minutes"] = "the resolution target cannot come before the first response"
    if set(data.escalation) - ESCALATIONS:
        problems["escalation"] = "unknown escalation rule"
    if set(data.notify_steps) - set(NOTIFIABLE_STEPS):
        problems["notify_steps"] = "unknown step"
    if problems:
        raise InvalidInput("; ".join(f"{k}: {v}" for k, v in problems.items()), fields=problems)


async def save_category(session: AsyncSession, by: Agent, category_id: int | None, data: CategoryIn) -> Category:
    """Create (category_id None) or edit a category; refused with the fields in error."""
    require_supervisor(by)
    slug, name = _slug(data.slug, "slug"), _name(data.name)
    _check_category(data, await reference_lists(session))
    if category_id is None:
        category = Category(slug=slug, name=name)
    else:
        category = await get_category(session, category_id)
    category.slug, category.name, category.active = slug, name, True
    category.names = {k: v.strip() for k, v in data.names.items() if v.strip()}
    category.skill_id, category.min_level, category.priority = data.skill_id, data.min_level, data.priority
    category.team_id = data.team_id
    category.sla_first_response_minutes = data.sla_first_response_minutes
    category.sla_resolution_minutes = data.sla_resolution_minutes
    category.escalation = sorted(set(data.escalation))
    category.notify_steps = [step for step in NOTIFIABLE_STEPS if step in data.notify_steps]
    try:
        async with session.begin_nested():
            session.add(category)
    except IntegrityError:
        raise Conflict(f"another category has the slug {slug}", fields={"slug": "already taken"}) from None
    _audit(session, by, "category:create" if category_id is None else "category:update", "category", category.id)
    return category


# --- skills ------------------------------------------------------------------------------------

async def save_skill(session: AsyncSession, by: Agent, skill_id: int | None, slug: str, name: str) -> Skill:
    """A new skill, or a skill renamed (its slug stays: categories and scenarios name it)."""
    require_admin(by)
    name = _name(name)
    if skill_id is None:
        skill = Skill(slug=_slug(slug, "slug"), name=name)
        try:
            async with session.begin_nested():
                session.add(skill)
        except IntegrityError:
            raise Conflict(f"a skill {skill.slug} exists", fields={"slug": "already taken"}) from None
    else:
        skill = await session.get(Skill, skill_id)
        if skill is None:
            raise NotFound(f"no skill {skill_id}")
        skill.name = name
        await session.flush()
    _audit(session, by, "skill:create" if skill_id is None else "skill:update", "skill", skill.id)
    return skill


# --- agents ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgentRow:
    agent: Agent
    skills: dict[str, int]
    team_ids: list[int]


@dataclass(frozen=True)
class AgentIn:
    email: str = ""
    name: str = ""
    role: str = Role.AGENT.value
    team_id: int | None = None
    language: str | None = None  # of the pages
    capacity: int = 20
    languages: list[str] = field(default_factory=list)  # spoken with citizens
    skills: dict[str, int] = field(default_factory=dict)
    password: str = ""  # empty: one is generated and shown once
    channel_capacity: dict[str, int] = field(default_factory=dict)  # e.g. {"phone": 2}
    working_hours: dict[str, str] = field(default_factory=dict)  # day -> intervals; all empty: the team's


async def agent_rows(session: AsyncSession, agent_id: int | None = None) -> list[AgentRow]:
    query = select(Agent).order_by(col(Agent.active).desc(), Agent.name)
    if agent_id is not None:
        query = query.where(Agent.id == agent_id)
    agents = list((await session.exec(query)).all())
    ids = [a.id for a in agents]
    skills: dict[int, dict[str, int]] = {}
    for agent_skill, slug in (await session.exec(
            select(AgentSkill, Skill.slug).join(Skill, Skill.id == AgentSkill.skill_id)
            .where(col(AgentSkill.agent_id).in_(ids)).order_by(Skill.slug))).all():
        skills.setdefault(agent_skill.agent_id, {})[slug] = agent_skill.level
    teams: dict[int, list[int]] = {}
    for member in (await session.exec(select(AgentTeam).where(col(AgentTeam.agent_id).in_(ids)))).all():
        teams.setdefault(member.agent_id, []).append(member.team_id)
    return [AgentRow(a, skills.get(a.id, {}), sorted(teams.get(a.id, []))) for a in agents]


async def agent_row(session: AsyncSession, agent_id: int) -> AgentRow:
    rows = await agent_rows(session, agent_id)
    if not rows:
        raise NotFound(f"no agent {agent_id}")
    return rows[0]


def _check_agent(data: AgentIn, reference: Reference) -> None:
    problems: dict[str, str] = {}
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", data.email.strip()):
        problems["email"] = "an email address like name@example.org"
    if not data.name.strip():
        problems["name"] = "required"
    if data.role not in {r.value for r in Role}:
        problems["role"] = "unknown role"
    if data.team_id is not None and data.team_id not in {t.id for t in reference.teams}:
        problems["team_id"] = "unknown team"
    if not 1 <= data.capacity <= 10_000:
        problems["capacity"] = "a number from 1 to 10000"
    if any(not LANGUAGE.fullmatch(code) for code in data.languages) or len(data.languages) > 20:
        problems["languages"] = "language codes like fr, en, ar"
    if data.language is not None and not LANGUAGE.fullmatch(data.language):
        problems["language"] = "a language code like fr, en, ar"
    if set(data.channel_capacity) - {c.value for c in Channel} or any(
            not 0 <= n <= 10_000 for n in data.channel_capacity.values()):
        problems["channel_capacity"] = "channel:number pairs, e.g. phone:2 sms:10"
    known = {s.slug for s in reference.skills}
    if set(data.skills) - known:
        problems["skills"] = "unknown skill"
    if any(not 1 <= level <= 5 for level in data.skills.values()):
        problems["skills"] = "a level from 1 to 5"
    if problems:
        raise InvalidInput("; ".join(f"{k}: {v}" for k, v in problems.items()), fields=problems)


async def _set_team(session: AsyncSession, agent_id: int, team_id: int | None) -> None:
    for member in (await session.exec(select(AgentTeam).where(AgentTeam.agent_id == agent_id))).all():
        if member.team_id != team_id:
            await session.delete(member)
    if team_id is not None and not (await session.exec(
            select(AgentTeam).where(AgentTeam.agent_id == agent_id, AgentTeam.team_id == team_id))).first():
        session.add(AgentTeam(agent_id=agent_id, team_id=team_id))
    await session.flush()


def generated_password() -> str:
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


async def create_agent_account(session: AsyncSession, by: Agent, data: AgentIn) -> tuple[Agent, str | None]:
    """A new agent who can sign in; the password the admin typed, or a generated one returned
    here once (only its argon2 hash is stored)."""
    require_admin(by)
    _check_agent(data, await reference_lists(session))
    if data.password:
        try:
            check_password_rules(data.password)
        except InvalidInput as exc:
            raise InvalidInput(exc.message, fields={"password": exc.message}) from None
    try:
        agent = await create_agent(session, email=data.email, name=data.name, role=data.role, skills=data.skills,
                                   capacity=data.capacity, languages=data.languages)
    except Conflict:
        raise Conflict(f"an agent with email {data.email.strip().lower()} exists",
                       fields={"email": "already used by another agent"}) from None
    agent.language = data.language
    await _set_team(session, agent.id, data.team_id)
    await _routing_profile(session, agent, data, data.skills)
    password = data.password or generated_password()
    await set_password(session, agent, password)
    _audit(session, by, "agent:create", "agent", agent.id)
    return agent, None if data.password else password


async def _target(session: AsyncSession, agent_id: int) -> Agent:
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"no agent {agent_id}")
    return agent


async def _routing_profile(session: AsyncSession, agent: Agent, data: AgentIn, skills: dict[str, int]) -> list[str]:
    """What the router knows (capacity, per channel too, languages, skills, working hours), changed
    where the form differs; what changed."""
    hours = _spec(data.working_hours, "hours_") or None
    routing = {"capacity": (agent.capacity, data.capacity), "languages": (agent.languages, sorted(data.languages)),
               "skills": (skills, data.skills), "channel_capacity": (agent.channel_capacity, data.channel_capacity)}
    wanted: dict = {name: new for name, (old, new) in routing.items() if old != new}
    if hours != (_spec(day_intervals(agent.working_hours)) or None):
        wanted.update(working_hours=hours, clear_working_hours=hours is None)
    return await update_agent(session, agent, **wanted) if wanted else []


async def edit_agent_account(session: AsyncSession, by: Agent, agent_id: int, data: AgentIn) -> list[str]:
    """An administrator changes everything but the password; a supervisor what the routing API
    lets them change (skills, capacity, languages spoken): the other fields must stay as they are."""
    require_supervisor(by)
    agent = await _target(session, agent_id)
    _check_agent(data, await reference_lists(session))
    current = await agent_row(session, agent_id)
    team_id = current.team_ids[0] if current.team_ids else None
    identity = {"email": (agent.email, data.email.strip().lower()), "name": (agent.name, data.name.strip()),
                "role": (agent.role, data.role), "language": (agent.language, data.language),
                "team": (team_id, data.team_id)}
    changed = [name for name, (old, new) in identity.items() if old != new]
    if changed and by.role != Role.ADMIN.value:
        raise Forbidden("only administrators may change an agent's email, name, role, team or page language")
    if "role" in changed and agent.id == by.id:
        raise InvalidInput("you cannot change your own role", fields={"role": "you cannot change your own role"})
    agent.email, agent.name, agent.role, agent.language = (data.email.strip().lower(), data.name.strip(),
                                                           data.role, data.language)
    try:
        async with session.begin_nested():
            session.add(agent)
    except IntegrityError:
        raise Conflict("another agent has this email", fields={"email": "already used by another agent"}) from None
    if "team" in changed:
        await _set_team(session, agent.id, data.team_id)
    changed += await _routing_profile(session, agent, data, current.skills)
    if changed:
        _audit(session, by, f"update:{','.join(changed)}", "agent", agent.id)
    return changed


async def set_agent_active(session: AsyncSession, by: Agent, agent_id: int, active: bool,
                           config: RoutingConfig) -> Agent:
    """Deactivated: cannot sign in (sessions end at their next request), gets no tickets, and
    their unanswered ones go back to the router. Reactivated: offline until they say otherwise."""
    require_admin(by)
    if agent_id == by.id:
        raise InvalidInput("you cannot deactivate yourself")
    agent = await _target(session, agent_id)
    if not active and agent.active:
        await set_presence(session, agent_id, Presence.OFFLINE.value, by=by, why="account deactivated",
                           redistribute=True, config=config)
    agent.active = active
    session.add(agent)
    await session.flush()
    _audit(session, by, "agent:activate" if active else "agent:deactivate", "agent", agent.id)
    return agent


async def reset_password(session: AsyncSession, by: Agent, agent_id: int, password: str = "") -> str | None:
    """The admin's chosen password, or a generated one returned once (None when chosen). The
    agent's other sessions end: the session stamp follows the hash."""
    require_admin(by)
    if agent_id == by.id:  # the account page asks for the current password first
        raise InvalidInput("change your own password on your account page")
    agent = await _target(session, agent_id)
    chosen = password or generated_password()
    try:
        await set_password(session, agent, chosen)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, fields={"password": exc.message}) from None
    _audit(session, by, "password_reset", "agent", agent.id)
    return None if password else chosen


# --- team calendars ----------------------------------------------------------------------------

@dataclass(frozen=True)
class CalendarIn:
    name: str
    hours: dict[str, str]  # day -> "08:30-12:00 13:30-17:00"; empty: closed
    always_open: bool
    holiday_country: str | None
    extra_holidays: list[str]


def day_intervals(spec: dict | None) -> dict[str, str]:
    """A stored opening-hours spec as the calendar form shows it, one line per day."""
    if not spec:
        return {day: "" for day in DAYS}
    if "days" in spec:
        interval = f"{spec.get('start', '00:00')}-{spec.get('end', '24:00')}"
        return {day: interval if day in spec["days"] else "" for day in DAYS}
    return {day: " ".join(f"{a}-{b}" for a, b in spec.get(day, [])) for day in DAYS}


def _spec(hours: dict[str, str], prefix: str = "hours_") -> dict[str, list[list[str]]]:
    """One line per day ("08:30-12:00 13:30-17:00") -> routing.calendar's per-day spec; a
    refusal names the day's field (`prefix` + day)."""
    spec: dict[str, list[list[str]]] = {}
    for day in DAYS:
        text = hours.get(day, "").strip()
        pairs = _INTERVAL.findall(text)
        if _INTERVAL.sub("", text).replace(",", "").strip():
            raise InvalidInput(f"{day}: write intervals like 08:30-12:00 13:30-17:00",
                               fields={f"{prefix}{day}": "write intervals like 08:30-12:00 13:30-17:00"})
        if pairs:
            spec[day] = [[a.zfill(5), b.zfill(5)] for a, b in pairs]
    return spec


async def save_team_calendar(session: AsyncSession, by: Agent, team_id: int, data: CalendarIn, tz: str) -> Team:
    """A team's opening hours and holidays; SLA due times count in them from the next computation."""
    require_supervisor(by)
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound(f"no team {team_id}")
    spec = None if data.always_open else _spec(data.hours)
    if spec == {}:
        raise InvalidInput("give opening hours for at least one day, or tick always open",
                           fields={"hours_mon": "give opening hours for at least one day, or tick always open"})
    extra = []
    for day in data.extra_holidays:
        try:
            extra.append(date.fromisoformat(day.strip()).isoformat())
        except ValueError:
            raise InvalidInput(f"{day!r} is not a date like 2026-12-24",
                               fields={"extra_holidays": "dates like 2026-12-24, one per line"}) from None
    country = (data.holiday_country or "").strip().upper() or None
    try:
        BusinessCalendar.from_spec(spec, tz=tz, country=country, extra_holidays=[date.fromisoformat(d) for d in extra])
    except (ValueError, TypeError) as exc:
        field_name = "holiday_country" if country and "countr" in str(exc).lower() else "hours_mon"
        raise InvalidInput(str(exc), fields={field_name: str(exc)}) from None
    team.name, team.opening_hours, team.holiday_country = _name(data.name), spec, country
    team.extra_holidays = sorted(set(extra))
    session.add(team)
    await session.flush()
    _audit(session, by, "team:calendar", "team", team.id)
    return team
