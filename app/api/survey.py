"""The satisfaction barometer for supervisors: answers grouped by category, channel, team or
month, with their count, mean and distribution."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from litestar import get
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import provide_agent
from app.settings import Settings
from crm.errors import InvalidInput
from crm.models import Ticket
from replies.models import SatisfactionAnswer
from replies.survey import aggregate
from routing.models import Agent, Category, Team, TicketRouting
from routing.supervision import require_supervisor

Group = Literal["category", "channel", "team", "month"]


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
    query = (select(SatisfactionAnswer.score, SatisfactionAnswer.answered_at, Ticket.origin_channel,
                    Category.slug, Team.slug)
             .join(Ticket, Ticket.id == SatisfactionAnswer.ticket_id)
             .outerjoin(Category, Category.id == Ticket.category_id)
             .outerjoin(TicketRouting, TicketRouting.ticket_id == Ticket.id)
             .outerjoin(Team, Team.id == func.coalesce(TicketRouting.team_id, Category.team_id)))
    if first:
        query = query.where(SatisfactionAnswer.answered_at >= datetime.combine(first, time(), zone))
    if last:
        query = query.where(SatisfactionAnswer.answered_at < datetime.combine(last + timedelta(days=1), time(), zone))
    rows = (await db_session.exec(query.order_by(col(SatisfactionAnswer.answered_at)))).all()

    def key(row: Any) -> str:
        score, answered_at, channel, category, team = row
        return {"category": category or "none", "channel": channel, "team": team or "none",
                "month": answered_at.astimezone(zone).strftime("%Y-%m")}[group]

    groups = aggregate((key(row), row[0]) for row in rows)
    overall = aggregate(("all", row[0]) for row in rows)
    return {
        "group": group, "from": first.isoformat() if first else None, "to": last.isoformat() if last else None,
        "total": {"count": overall[0].count, "mean": overall[0].mean,
                  "distribution": {str(k): v for k, v in overall[0].distribution.items()}}
        if overall else {"count": 0, "mean": None, "distribution": {str(s): 0 for s in range(1, 6)}},
        "groups": [{"key": g.group, "count": g.count, "mean": g.mean,
                    "distribution": {str(k): v for k, v in g.distribution.items()}}
                   for g in sorted(groups, key=lambda g: str(g.group))],
    }
