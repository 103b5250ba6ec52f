"""The statistics' aggregation, pure: percentiles, medians, SLA adherence, backlog age, throughput."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.web.supervisor_stats import date_range, stats_rows
from routing.stats import TicketFacts, percentile, summarise

START = datetime(2026, 3, 2, tzinfo=UTC)
END = START + timedelta(days=3)
NOW = END + timedelta(hours=1)


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], .5) is None
    assert percentile([7], .9) == 7
    assert percentile([1, 2, 3, 4], .5) == 2.5
    assert percentile(list(range(1, 11)), .9) == 9.1


def test_summarise_counts_times_sla_backlog_and_throughput() -> None:
    facts = [
        TicketFacts("email", "etat_civil", at(1), at(2), at(3), at(5), "Amina"),            # 60 min, met
        TicketFacts("sms", "etat_civil", at(2), at(5), at(4), None, "Amina", True),          # 180 min, missed
        TicketFacts("email", "voirie", at(30), None, at(31), None, None, True),              # due passed: missed
        TicketFacts("email", "voirie", at(71), None, NOW + timedelta(hours=1), None, None, True),  # not due yet
        TicketFacts("counter", None, at(-100), at(-99), None, at(10), "Karim"),              # before the range
    ]
    stats = summarise(facts, START, END, NOW)
    assert stats.tickets == 4
    assert stats.by_channel == {"email": 3, "sms": 1}
    assert stats.by_category == {"etat_civil": 2, "voirie": 2}
    assert stats.by_day == {date(2026, 3, 2): 2, date(2026, 3, 3): 1, date(2026, 3, 4): 1}
    assert (stats.first_response_median, stats.first_response_p90) == (120, 168)
    assert stats.resolution_median == 240 and stats.resolution_p90 == 240
    assert (stats.sla_met, stats.sla_missed) == (1, 2) and round(stats.sla_adherence, 3) == .333
    assert stats.backlog == {"under 1 day": 1, "1 to 3 days": 2, "3 to 7 days": 0, "over 7 days": 0}
    assert stats.throughput == {"Amina": 1, "Karim": 1}
    rows = stats_rows(stats)
    assert ("summary", "first_response_median_minutes", "120.0") in rows and ("channel", "sms", "1") in rows


def test_no_ticket_no_figure() -> None:
    stats = summarise([], START, END, NOW)
    assert stats.tickets == 0 and stats.sla_adherence is None and stats.first_response_median is None
    assert list(stats.by_day.values()) == [0, 0, 0]


def test_the_date_range_defaults_to_30_days_and_is_never_reversed() -> None:
    today = date(2026, 3, 31)
    assert date_range("", "", today) == (date(2026, 3, 2), today)
    assert date_range("2026-03-10", "2026-03-01", today) == (date(2026, 3, 1), date(2026, 3, 10))
    assert date_range("nonsense", "2026-02-01", today) == (date(2026, 1, 3), date(2026, 2, 1))
    assert date_range("2020-01-01", "2026-03-31", today)[0] == date(2025, 3, 31)  # 366 days, both ends included
