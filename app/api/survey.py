"""The satisfaction barometer for supervisors: answers grouped by category, channel, team or
month, with their count, mean and distribution."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import get
from litestar.di import Provide
from litestar.params import Parameter
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import provide_agent
from app.barometer import Group, satisfaction
from app.settings import Settings
from crm.errors import InvalidInput
from routing.models import Agent
from routing.supervision import require_supervisor


def _day(value: str | None, name: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2026-03-31", fields={name: "expected YYYY-MM-DD"}) from None


@get("/api/v1/stats/satisfaction", summary="The satisfaction barometer: count, mean and distribution per group",
      dependencies={"agent": Provide(provide_agent)}, security=[{"BearerToken": []}], tags=["stats"])
async def satisfaction_barometer(
    agent: Agent, db_session: AsyncSession, settings: Settings,
    group: Group = "category",
    from_: str | None = Parameter(None, query="from", description="first day (inclusive), YYYY-MM-DD, local time"),
    to: str | None = Parameter(None, query="to", description="last day (inclusive), YYYY-MM-DD, local time"),
) -> dict[str, Any]:
    """Channel: the one the citizen first wrote on (the ticket's origin). Team: the ticket's
    queue, else its category's. Month: of the answer, in the administration's time zone."""
    require_supervisor(agent)
    zone = ZoneInfo(settings.timezone)
    first, last = _day(from_, "from"), _day(to, "to")
    overall, groups = await satisfaction(
        db_session, zone, datetime.combine(first, time(), zone) if first else None,
        datetime.combine(last + timedelta(days=1), time(), zone) if last else None)
    return {
        "group": group, "from": first.isoformat() if first else None, "to": last.isoformat() if last else None,
        "total": {"count": overall.count, "mean": overall.mean,
                  "distribution": {str(k): v for k, v in overall.distribution.items()}}
        if overall else {"count": 0, "mean": None, "distribution": {str(s): 0 for s in range(1, 6)}},
        "groups": [{"key": g.group, "count": g.count, "mean": g.mean,
                    "distribution": {str(k): v for k, v in g.distribution.items()}}
                   for g in groups[group]],
    }
