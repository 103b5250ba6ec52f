"""Supervisors' statistics over a date range: pure aggregation of ticket facts (volume, first
response and resolution times, SLA adherence, backlog age, per-agent throughput), and the one
query that gathers those facts."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.models import OPEN_STATUSES, EventKind, Ticket, TicketEvent
from routing.models import Agent, Category, TicketRouting

BACKLOG_BUCKETS = ((1, "under 1 day"), (3, "1 to 3 days"), (7, "3 to 7 days"), (None, "over 7 days"))


@dataclass(frozen=True)
class TicketFacts:
    channel: str
    category: str | None
    created_at: datetime
    first_response_at: datetime | None = None
    first_response_due_at: datetime | None = None
    resolved_at: datetime | None = None
    assignee: str | None = None
    is_open: bool = False


@dataclass
class Stats:
    tickets: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_day: dict[date, int] = field(default_factory=dict)
    first_response_median: float | None = None  # minutes
    first_response_p90: float | None = None
    resolution_median: float | None = None
    resolution_p90: float | None = None
    sla_met: int = 0
    sla_missed: int = 0
    backlog: dict[str, int] = field(default_factory=dict)  # open tickets by age
    throughput: dict[str, int] = field(default_factory=dict)  # resolved in the range, per agent

    @property
    def sla_adherence(self) -> float | None:
        judged = self.sla_met + self.sla_missed
        return self.sla_met / judged if judged else None


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _minutes(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


def summarise(facts: list[TicketFacts], start: datetime, end: datetime, now: datetime) -> Stats:
    """Tickets created in [start, end) for volume, times and SLA; open tickets (any age) for the
    backlog; tickets resolved in [start, end) for throughput. An unanswered ticket counts against
    the SLA once its due time has passed, not before. Days are those of `start`'s time zone."""
    stats = Stats()
    created = [f for f in facts if start <= f.created_at < end]
    stats.tickets = len(created)
    stats.by_channel = dict(Counter(f.channel for f in created).most_common())
    stats.by_category = dict(Counter(f.category or "—" for f in created).most_common())
    # Days of the range's own time zone (the administration's), not UTC dates: a request at
    # 00:30 in Paris belongs to that day, though it is still the day before in UTC.
    days = Counter(f.created_at.astimezone(start.tzinfo).date() for f in created)
    day = start.date()
    while day < end.date() or (day == end.date() and end.time() != datetime.min.time()):
        stats.by_day[day] = days.get(day, 0)
        day += timedelta(days=1)
    first = [_minutes(f.created_at, f.first_response_at) for f in created if f.first_response_at]
    resolution = [_minutes(f.created_at, f.resolved_at) for f in created if f.resolved_at]
    stats.first_response_median, stats.first_response_p90 = percentile(first, .5), percentile(first, .9)
    stats.resolution_median, stats.resolution_p90 = percentile(resolution, .5), percentile(resolution, .9)
    for f in created:
        if f.first_response_due_at is None:
            continue
        if f.first_response_at is not None:
            if f.first_response_at <= f.first_response_due_at:
                stats.sla_met += 1
            else:
                stats.sla_missed += 1
        elif f.first_response_due_at < now:
            stats.sla_missed += 1
    stats.backlog = {label: 0 for _, label in BACKLOG_BUCKETS}
    for f in facts:
        if f.is_open:
            age_days = (now - f.created_at).total_seconds() / 86400
            label = next(label for limit, label in BACKLOG_BUCKETS if limit is None or age_days < limit)
            stats.backlog[label] += 1
    stats.throughput = dict(Counter(f.assignee or "—" for f in facts
                                    if f.resolved_at and start <= f.resolved_at < end).most_common())
    return stats


async def ticket_facts(session: AsyncSession, start: datetime, end: datetime) -> list[TicketFacts]:
    """Tickets created or resolved in the range, and every open one. The first response is the
    first message or status change by an agent (the automatic acknowledgement is not one)."""
    open_values = [s.value for s in OPEN_STATUSES]
    rows = (await session.exec(
        select(Ticket, TicketRouting.first_response_due_at, Category.slug, Agent.name)
        .join(TicketRouting, TicketRouting.ticket_id == Ticket.id, isouter=True)
        .join(Category, Category.id == Ticket.category_id, isouter=True)
        .join(Agent, Agent.id == Ticket.assignee_id, isouter=True)
        .where((col(Ticket.created_at) >= start) & (col(Ticket.created_at) < end)
               | (col(Ticket.closed_at) >= start) & (col(Ticket.closed_at) < end)
               | col(Ticket.status).in_(open_values)))).all()
    ids = [t.id for t, *_ in rows]
    firsts: dict[int, datetime] = {}
    for chunk in range(0, len(ids), 500):
        for ticket_id, moment in (await session.exec(
                select(TicketEvent.ticket_id, TicketEvent.created_at)
                .where(col(TicketEvent.ticket_id).in_(ids[chunk:chunk + 500]), TicketEvent.actor_type == "agent",
                       col(TicketEvent.kind).in_([EventKind.MESSAGE_OUT.value, EventKind.STATUS_CHANGED.value])))).all():
            if ticket_id not in firsts or moment < firsts[ticket_id]:
                firsts[ticket_id] = moment
    return [TicketFacts(t.origin_channel, slug, t.created_at, firsts.get(t.id), due, t.closed_at, name,
                        t.status in open_values) for t, due, slug, name in rows]
