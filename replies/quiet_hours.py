"""SMS quiet hours (pure): when an automatic SMS may leave, in the administration's time zone.

Quiet from `start` in the evening to `end` the next morning, and (with `rest_days`) all day on
Sundays and on the public holidays the caller passes in. What is quiet waits for the first
moment that is not: `end` on the next working morning.
"""
from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SUNDAY = 6


def parse_clock(value: str) -> time:
    """"20:00" -> time(20, 0)."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class QuietHours:
    start: time  # quiet from this local time...
    end: time  # ...until this one (the next morning when start > end)
    timezone: ZoneInfo
    holidays: Container[date] = field(default_factory=frozenset)
    rest_days: bool = True  # Sundays and `holidays` are quiet all day

    def _rest_day(self, day: date) -> bool:
        return self.rest_days and (day.weekday() == SUNDAY or day in self.holidays)

    def _quiet_clock(self, clock: time) -> bool:
        if self.start == self.end:
            return False  # no quiet hours
        if self.start > self.end:  # across midnight: 20:00 -> 08:30
            return clock >= self.start or clock < self.end
        return self.start <= clock < self.end

    def is_quiet(self, moment: datetime) -> bool:
        local = moment.astimezone(self.timezone)
        return self._rest_day(local.date()) or self._quiet_clock(local.time())

    def not_before(self, moment: datetime) -> datetime | None:
        """None when an SMS may leave at `moment` (aware); else the first moment it may, in UTC."""
        if not self.is_quiet(moment):
            return None
        day = moment.astimezone(self.timezone).date()
        for _ in range(400):  # a year of holidays at most; a calendar that is all rest is a bug
            if not self._rest_day(day):
                candidate = datetime.combine(day, self.end, self.timezone)
                if candidate > moment and not self.is_quiet(candidate):
                    return candidate.astimezone(UTC)
            day += timedelta(days=1)
        raise ValueError("no moment outside quiet hours within a year")


def quiet_hours_of(start: str, end: str, timezone: str, *, rest_days: bool,
                   holidays: Container[date] = frozenset()) -> QuietHours:
    """QuietHours from the settings' text values."""
    return QuietHours(parse_clock(start), parse_clock(end), ZoneInfo(timezone), holidays, rest_days)
