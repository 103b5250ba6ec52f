"""Statistics for supervisors (/supervisor/stats, /supervisor/stats.csv): routing.stats and the
satisfaction barometer (app.barometer: survey answers given in the range) over a date range in the
administration's time zone; bar charts drawn as SVG on the server (templates/_charts.html: a
title, a description and the same figures as a table)."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dataclasses import dataclass

from litestar import Request, get
from litestar.response import Response, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.barometer import GROUPS, Group, satisfaction
from app.settings import Settings
from app.web.guard import require_role
from app.web.pages import render
from app.web.queue import CHANNEL_LABELS
from app.web.supervisor import SUPERVISING
from crm.columns import utcnow
from routing.models import Agent
from replies.survey import Barometer
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


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    stats: Stats
    satisfaction: Barometer | None  # every answer of the period; None: no answer
    barometer: dict[Group, list[Barometer]]


async def _stats(db_session: AsyncSession, settings: Settings, start: str, end: str) -> Period:
    zone = ZoneInfo(settings.timezone)
    now = utcnow()
    first, last = date_range(start, end, now.astimezone(zone).date())
    since = datetime.combine(first, time.min, zone)
    until = datetime.combine(last + timedelta(days=1), time.min, zone)
    facts = await ticket_facts(db_session, since, until)
    overall, barometer = await satisfaction(db_session, zone, since, until)
    return Period(first, last, summarise(facts, since, until, now), overall, barometer)


@get("/supervisor/stats", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def stats_page(request: Request, agent: Agent, db_session: AsyncSession, settings: Settings,
                     start: str = "", end: str = "") -> Template:
    period = await _stats(db_session, settings, start, end)
    return render(request, "supervisor_stats.html", {
        "stats": period.stats, "start": period.first.isoformat(), "end": period.last.isoformat(),
        "satisfaction": period.satisfaction, "barometer_figures": period.barometer, "groups": GROUPS,
        "channel_names": {channel: label for channel, (_, label) in CHANNEL_LABELS.items()}})


def stats_rows(stats: Stats, overall: Barometer | None = None,
               barometer: dict[Group, list[Barometer]] | None = None) -> list[tuple[str, str, str]]:
    """(section, key, value) rows: one CSV a spreadsheet opens as it is. The barometer adds, per
    grouping, `satisfaction_<group>` rows keyed `<group>/count`, `<group>/mean` and
    `<group>/score_<n>` (answers giving n)."""
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
    rows += _barometer_rows("satisfaction", [overall] if overall else [])
    for group, figures in (barometer or {}).items():
        rows += _barometer_rows(f"satisfaction_{group}", figures)
    return rows


def _barometer_rows(section: str, figures: list[Barometer]) -> list[tuple[str, str, str]]:
    rows = []
    for figure in figures:
        rows += [(section, f"{figure.group}/count", str(figure.count)),
                 (section, f"{figure.group}/mean", f"{figure.mean:.2f}")]
        rows += [(section, f"{figure.group}/score_{score}", str(n)) for score, n in figure.distribution.items()]
    return rows


@get("/supervisor/stats.csv", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def stats_csv(agent: Agent, db_session: AsyncSession, settings: Settings, start: str = "",
                    end: str = "") -> Response:
    period = await _stats(db_session, settings, start, end)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "key", "value"])
    writer.writerows(stats_rows(period.stats, period.satisfaction, period.barometer))
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="guichet-stats-{period.first}-{period.last}.csv"'})


ROUTES = [stats_page, stats_csv]
