"""Statistics for supervisors (/supervisor/stats, /supervisor/stats.csv): routing.stats over a
date range in the administration's time zone; bar charts drawn as SVG on the server
(templates/_charts.html: a title, a description and the same figures as a table)."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from litestar import Request, get
from litestar.response import Response, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.settings import Settings
from app.web.guard import require_role
from app.web.pages import render
from app.web.supervisor import SUPERVISING
from crm.columns import utcnow
from routing.models import Agent
from routing.stats import Stats, summarise, ticket_facts

DEFAULT_DAYS = 30
MAX_DAYS = 366


def date_range(start: str, end: str, today: date) -> tuple[date, date]:
    """The days asked for (end included), else the last 30 days; at most a year, never reversed."""
    def parse(text: str, default: date) -> date:
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            return default
    last = parse(end, today)
    first = parse(start, last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        first, last = last, first
    return max(first, last - timedelta(days=MAX_DAYS - 1)), last


async def _stats(db_session: AsyncSession, settings: Settings, start: str, end: str) -> tuple[Stats, date, date]:
    zone = ZoneInfo(settings.timezone)
    now = utcnow()
    first, last = date_range(start, end, now.astimezone(zone).date())
    since = datetime.combine(first, time.min, zone)
    until = datetime.combine(last + timedelta(days=1), time.min, zone)
    facts = await ticket_facts(db_session, since, until)
    return summarise(facts, since, until, now), first, last


@get("/supervisor/stats", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def stats_page(request: Request, agent: Agent, db_session: AsyncSession, settings: Settings,
                     start: str = "", end: str = "") -> Template:
    stats, first, last = await _stats(db_session, settings, start, end)
    return render(request, "supervisor_stats.html", {"stats": stats, "start": first.isoformat(),
                                                      "end": last.isoformat()})


def stats_rows(stats: Stats) -> list[tuple[str, str, str]]:
    """(section, key, value) rows: one CSV a spreadsheet opens as it is."""
    def number(value: float | None) -> str:
        return "" if value is None else f"{value:.1f}"
    rows = [("summary", "tickets", str(stats.tickets)),
            ("summary", "first_response_median_minutes", number(stats.first_response_median)),
            ("summary", "first_response_p90_minutes", number(stats.first_response_p90)),
            ("summary", "resolution_median_minutes", number(stats.resolution_median)),
            ("summary", "resolution_p90_minutes", number(stats.resolution_p90)),
            ("summary", "sla_met", str(stats.sla_met)), ("summary", "sla_missed", str(stats.sla_missed)),
            ("summary", "sla_adherence", "" if stats.sla_adherence is None else f"{stats.sla_adherence:.3f}")]
    rows += [("day", d.isoformat(), str(n)) for d, n in stats.by_day.items()]
    for section, values in (("channel", stats.by_channel), ("category", stats.by_category),
                            ("backlog_age", stats.backlog), ("agent_resolved", stats.throughput)):
        rows += [(section, key, str(n)) for key, n in values.items()]
    return rows


@get("/supervisor/stats.csv", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def stats_csv(agent: Agent, db_session: AsyncSession, settings: Settings, start: str = "",
                    end: str = "") -> Response:
    stats, first, last = await _stats(db_session, settings, start, end)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "key", "value"])
    writer.writerows(stats_rows(stats))
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="guichet-stats-{first}-{last}.csv"'})


ROUTES = [stats_page, stats_csv]
