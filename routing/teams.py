"""Teams, who is in them, and the business calendar each one keeps."""
from __future__ import annotations

import json
from datetime import date
from functools import lru_cache

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.errors import InvalidInput, NotFound
from routing.calendar import BusinessCalendar
from routing.models import AgentTeam, Team


@lru_cache(maxsize=256)
def _calendar(spec_json: str, country: str | None, holidays_json: str, tz: str) -> BusinessCalendar:
    extra = [date.fromisoformat(day) for day in json.loads(holidays_json)]
    return BusinessCalendar.from_spec(json.loads(spec_json), tz=tz, country=country, extra_holidays=extra)


def team_calendar(team: Team | None, tz: str) -> BusinessCalendar:
    """The team's opening hours and holidays in the administration's zone; no team: always open."""
    if team is None:
        return _calendar("null", None, "[]", tz)
    return _calendar(json.dumps(team.opening_hours, sort_keys=True), team.holiday_country,
                     json.dumps(sorted(team.extra_holidays)), tz)


def working_calendar(spec: dict | None, tz: str) -> BusinessCalendar:
    return _calendar(json.dumps(spec, sort_keys=True), None, "[]", tz)


async def upsert_team(session: AsyncSession, *, slug: str, name: str, opening_hours: dict | None = None,
                      holiday_country: str | None = None, extra_holidays: list[str] | None = None,
                      tz: str = "UTC") -> Team:
    try:  # refuse a calendar that cannot be built now, not at the first due time
        BusinessCalendar.from_spec(opening_hours, tz=tz, country=holiday_country,
                                   extra_holidays=[date.fromisoformat(d) for d in extra_holidays or []])
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"team {slug}: {exc}") from None
    team = (await session.exec(select(Team).where(Team.slug == slug))).first()
    if team is None:
        team = Team(slug=slug, name=name)
        session.add(team)
    team.name, team.opening_hours, team.holiday_country = name, opening_hours, holiday_country
    team.extra_holidays = list(extra_holidays or [])
    await session.flush()
    return team


async def get_team(session: AsyncSession, slug: str) -> Team:
    team = (await session.exec(select(Team).where(Team.slug == slug))).first()
    if team is None:
        known = (await session.exec(select(Team.slug).order_by(Team.slug))).all()
        raise NotFound(f"no team {slug!r}; known: {', '.join(known) or 'none'}")
    return team


async def add_member(session: AsyncSession, team: Team, agent_id: int) -> None:
    exists = (await session.exec(select(AgentTeam).where(AgentTeam.team_id == team.id,
                                                         AgentTeam.agent_id == agent_id))).first()
    if exists is None:
        session.add(AgentTeam(agent_id=agent_id, team_id=team.id))
        await session.flush()


async def teams_of(session: AsyncSession, agent_ids: list[int]) -> dict[int, frozenset[str]]:
    rows = (await session.exec(
        select(AgentTeam.agent_id, Team.slug).join(Team, Team.id == AgentTeam.team_id)
        .where(col(AgentTeam.agent_id).in_(agent_ids)))).all()
    teams: dict[int, set[str]] = {}
    for agent_id, slug in rows:
        teams.setdefault(agent_id, set()).add(slug)
    return {agent_id: frozenset(slugs) for agent_id, slugs in teams.items()}
