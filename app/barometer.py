"""The satisfaction barometer's figures, read once for the JSON API (/api/v1/stats/satisfaction)
and the supervisors' statistics page: it joins survey answers (replies) to the ticket (crm) and
its queue (routing), so it lives here where all three may be imported."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.models import Ticket
from replies.models import SatisfactionAnswer
from replies.survey import Barometer, aggregate
from routing.models import Category, Team, TicketRouting

Group = Literal["category", "channel", "team", "month"]
GROUPS: tuple[Group, ...] = ("category", "channel", "team", "month")


async def satisfaction(session: AsyncSession, zone: ZoneInfo, since: datetime | None,
                       until: datetime | None) -> tuple[Barometer | None, dict[Group, list[Barometer]]]:
    """Answers given in [since, until): the overall figure (None without answers) and each
    grouping, groups sorted by key. Channel: the one the citizen first wrote on (the ticket's
    origin). Team: the ticket's queue, else its category's. Month: of the answer, in `zone`."""
    query = (select(SatisfactionAnswer.score, SatisfactionAnswer.answered_at, Ticket.origin_channel,
                    Category.slug, Team.slug)
             .join(Ticket, Ticket.id == SatisfactionAnswer.ticket_id)
             .outerjoin(Category, Category.id == Ticket.category_id)
             .outerjoin(TicketRouting, TicketRouting.ticket_id == Ticket.id)
             .outerjoin(Team, Team.id == func.coalesce(TicketRouting.team_id, Category.team_id)))
    if since:
        query = query.where(SatisfactionAnswer.answered_at >= since)
    if until:
        query = query.where(SatisfactionAnswer.answered_at < until)
    rows = (await session.exec(query.order_by(col(SatisfactionAnswer.answered_at)))).all()

    def keys(row: Any) -> dict[Group, str]:
        _, answered_at, channel, category, team = row
        return {"category": category or "none", "channel": channel, "team": team or "none",
                "month": answered_at.astimezone(zone).strftime("%Y-%m")}

    keyed = [(keys(row), row[0]) for row in rows]
    overall = aggregate(("all", score) for _, score in keyed)
    return (overall[0] if overall else None,
            {group: sorted(aggregate((k[group], score) for k, score in keyed), key=lambda b: str(b.group))
             for group in GROUPS})
