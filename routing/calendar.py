"""Business hours: when an administration is open, and due times counted in open minutes.

A pure calendar: weekly opening hours in the administration's zone, closed dates
(explicit, and a country's public holidays from the `holidays` package), and the
arithmetic SLA due times and the routing simulator need. Instants in and out are
timezone-aware; results are in UTC. Local intervals are placed on the UTC line day
by day with the zone's own offset, so a 08:30-16:30 day is 8 h on DST-change days too.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

__all__ = ["BusinessCalendar"]

WEEKDAYS: Mapping[str, int] = MappingProxyType({
    **{name: i for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{name: i for i, name in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))},
})
MIDNIGHT = time(0)  # as the end of an interval it means 24:00, the end of the day
MAX_CLOSED_DAYS = 3 * 366  # how far to look for an open minute before calling a calendar shut

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_WEEK_US = 7 * 86_400_000_000
_US_PER_MINUTE = 60_000_000

Hours = Mapping[int, tuple[tuple[time, time], ...]]
_Intervals = tuple[tuple[int, int], ...]  # UTC microseconds since the epoch, [start, end)


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekly open intervals in a zone, minus closed dates; answers in UTC."""

    tz: ZoneInfo
    hours: Hours  # weekday 0=Mon -> open intervals in local time, sorted; a day absent = closed
    holidays: frozenset[date] = frozenset()  # local dates closed all day
    country: str | None = None  # its public holidays close the office too, any year (lazily)
    _always: bool = field(init=False, repr=False, compare=False)
    _days: dict[int, _Intervals] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict)
    _weeks: dict[int, int] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.tz, ZoneInfo):
            raise TypeError(f"tz must be a zoneinfo.ZoneInfo, got {self.tz!r}")
        object.__setattr__(self, "hours", MappingProxyType(_normalise_hours(self.hours)))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        if self.country is not None:
            object.__setattr__(self, "country", _check_country(self.country))
        full_day = ((MIDNIGHT, MIDNIGHT),)
        always = (not self.holidays and self.country is None
                  and all(self.hours.get(d) == full_day for d in range(7)))
        object.__setattr__(self, "_always", always)

    def __hash__(self) -> int:  # hours is a mapping: hash what is hashable, eq stays complete
        return hash((self.tz, self.holidays, self.country, tuple(sorted(self.hours.items()))))

    def __reduce__(self) -> tuple[type[BusinessCalendar], tuple[Any, ...]]:
        # a mappingproxy does not pickle; the caches are rebuilt on use
        return (type(self), (self.tz, dict(self.hours), self.holidays, self.country))

    @classmethod
    def always_open(cls, tz: ZoneInfo | str = "UTC") -> BusinessCalendar:
        """Open every minute of every day: due times are plain arithmetic."""
        return cls(_zone(tz), {d: ((MIDNIGHT, MIDNIGHT),) for d in range(7)})

    @classmethod
    def from_spec(
        cls,
        spec: Mapping[str, Any] | None,
        *,
        tz: str | ZoneInfo = "UTC",
        country: str | None = None,
        years: Iterable[int] = (),
        extra_holidays: Iterable[date] = (),
    ) -> BusinessCalendar:
        """Build from a scenario/admin spec; None is open around the clock; bad spec -> ValueError.

        `{"days": ["mon", ..., "fri"], "start": "08:30", "end": "16:30"}`, or per day
        `{"mon": [["08:30", "12:00"], ["13:30", "17:00"]], "sat": [["09:00", "12:00"]]}`;
        "24:00" may end a day. `country` ("FR", "MA", any the `holidays` package knows)
        closes its public holidays: those of `years` are listed in `holidays`, every
        other year is looked up when first reached.
        """
        zone = _zone(tz)
        hours = _parse_spec(spec)
        closed = set(extra_holidays)
        code = None
        if country is not None:
            code = _check_country(country)
            for year in years:
                closed |= _public_holidays(code, int(year))
        return cls(zone, hours, frozenset(closed), code)

    # --- questions -------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether `at` falls in an open interval (start inclusive, end exclusive)."""
        t = _to_us(at)
        if self._always:
            return True
        return any(s <= t < e for s, e in self._intervals(_local_ordinal(at, self.tz)))

    def next_open(self, at: datetime) -> datetime:
        """The first open instant at or after `at` (`at` itself when open), in UTC."""
        t = _to_us(at)
        if self._always:
            return _from_us(t)
        return _from_us(self._advance(t, _local_ordinal(at, self.tz), 0))

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        """The due time: the instant by which `minutes` open minutes have passed since `start`."""
        t = _to_us(start)
        if not math.isfinite(minutes) or minutes < 0:
            raise ValueError(f"minutes must be a finite number >= 0, got {minutes!r}")
        amount = round(minutes * _US_PER_MINUTE)
        if self._always:
            return _from_us(t + amount)
        return _from_us(self._advance(t, _local_ordinal(start, self.tz), amount))

    def business_minutes_between(self, start: datetime, end: datetime) -> float:
        """Open minutes in [start, end); 0 when end <= start."""
        a, b = _to_us(start), _to_us(end)
        if b <= a:
            return 0.0
        if self._always:
            return (b - a) / _US_PER_MINUTE
        day, last = _local_ordinal(start, self.tz), _local_ordinal(end, self.tz)
        first, total = day, 0
        while day <= last:
            if day != first and day % 7 == 1 and day + 6 < last:  # a whole Mon-Sun inside
                total += self._week_total(day)
                day += 7
                continue
            for s, e in self._intervals(day):
                lo, hi = max(s, a), min(e, b)
                if hi > lo:
                    total += hi - lo
            day += 1
        return total / _US_PER_MINUTE

    # --- machinery -------------------------------------------------------------------

    def _advance(self, t: int, day: int, amount: int) -> int:
        """The instant by which `amount` open microseconds have passed since t (local day `day`)."""
        if not self.hours:
            raise ValueError("this calendar is never open: no opening hours on any day")
        first, closed_days = day, 0
        while True:
            if day != first and day % 7 == 1:  # a Monday wholly after t: skip whole weeks
                week = self._week_total(day)
                if amount > week:
                    amount -= week
                    day += 7
                    closed_days = closed_days + 7 if week == 0 else 0
                    if closed_days > MAX_CLOSED_DAYS:
                        break
                    continue
            opened = False
            for s, e in self._intervals(day):
                if e <= t:
                    continue
                opened = True
                cur = max(t, s)
                if amount <= e - cur:
                    return cur + amount
                amount -= e - cur
            closed_days = 0 if opened else closed_days + 1
            if closed_days > MAX_CLOSED_DAYS:
                break
            day += 1
        raise ValueError(
            f"no open time in {MAX_CLOSED_DAYS} consecutive days from "
            f"{date.fromordinal(first).isoformat()}: is every day closed?")

    def _intervals(self, day: int) -> _Intervals:
        """Open UTC intervals of one local date (a proleptic ordinal), cached on the instance."""
        found = self._days.get(day)
        if found is None:
            found = self._days[day] = self._compute_intervals(date.fromordinal(day))
        return found

    def _compute_intervals(self, d: date) -> _Intervals:
        local = self.hours.get(d.weekday())
        if not local or self._is_holiday(d):
            return ()
        out: list[tuple[int, int]] = []
        for start, end in local:
            s = _to_us(datetime.combine(d, start, tzinfo=self.tz))
            end_day = d + timedelta(days=1) if end == MIDNIGHT else d
            e = _to_us(datetime.combine(end_day, end, tzinfo=self.tz))
            if out and s < out[-1][1]:  # a bound inside a DST gap can overlap its neighbour
                s = out[-1][1]
            if e > s:
                out.append((s, e))
        return tuple(out)

    def _week_total(self, monday: int) -> int:
        """Open microseconds in the local week starting on that Monday (ordinal)."""
        found = self._weeks.get(monday)
        if found is None:
            found = self._weeks[monday] = sum(
                e - s for day in range(monday, monday + 7) for s, e in self._intervals(day))
        return found

    def _is_holiday(self, d: date) -> bool:
        if d in self.holidays:
            return True
        return self.country is not None and d in _public_holidays(self.country, d.year)


# --- helpers -------------------------------------------------------------------------

def _to_us(at: datetime) -> int:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: pass a timezone-aware one")
    return (at - _EPOCH) // _US


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _local_ordinal(at: datetime, tz: ZoneInfo) -> int:
    return at.astimezone(tz).toordinal()


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc


def _check_country(country: str) -> str:
    code = country.strip().upper() if isinstance(country, str) else ""
    if code not in _supported_countries():
        raise ValueError(f"no public holidays known for country {country!r} (ISO 3166-1 alpha-2)")
    return code


@lru_cache(maxsize=1)
def _supported_countries() -> frozenset[str]:
    return frozenset(holidays_lib.list_supported_countries())


@lru_cache(maxsize=512)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    """A country's public holidays in one year (offline data of the `holidays` package)."""
    return frozenset(holidays_lib.country_holidays(country, years=year).keys())


def _normalise_hours(
    hours: Mapping[int, Sequence[Sequence[time]]],
) -> dict[int, tuple[tuple[time, time], ...]]:
    """Validated copy: weekdays 0-6, naive times, start < end (end 00:00 = 24:00), no overlap."""
    out: dict[int, tuple[tuple[time, time], ...]] = {}
    for weekday, intervals in hours.items():
        if not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValueError(f"weekday must be an int 0 (Monday) to 6 (Sunday), got {weekday!r}")
        pairs: list[tuple[time, time]] = []
        for pair in intervals:
            if len(pair) != 2:
                raise ValueError(f"an opening interval is (start, end), got {pair!r}")
            start, end = pair
            for t in (start, end):
                if not isinstance(t, time) or t.tzinfo is not None:
                    raise ValueError(f"opening times are naive datetime.time values, got {t!r}")
            if end != MIDNIGHT and end <= start:
                raise ValueError(
                    f"{_day_name(weekday)}: end {end:%H:%M} is not after start {start:%H:%M}")
            pairs.append((start, end))
        for (s1, e1), (s2, _) in pairwise(pairs):
            if s2 < s1 or e1 == MIDNIGHT or s2 < e1:
                raise ValueError(
                    f"{_day_name(weekday)}: intervals must be sorted and not overlap "
                    f"({s1:%H:%M}-{e1:%H:%M} then {s2:%H:%M})")
        if pairs:
            out[weekday] = tuple(pairs)
    return out


def _parse_spec(spec: Mapping[str, Any] | None) -> dict[int, tuple[tuple[time, time], ...]]:
    if spec is None:
        return {d: ((MIDNIGHT, MIDNIGHT),) for d in range(7)}
    if not isinstance(spec, Mapping):
        raise ValueError(  # noqa: TRY004 - the contract: any bad spec is a ValueError
            f"opening hours must be a mapping, got {type(spec).__name__}")
    hours: dict[int, list[tuple[time, time]]] = {}
    if "days" in spec:
        extra = set(spec) - {"days", "start", "end"}
        if extra:
            raise ValueError(f"with 'days', only 'start' and 'end' may be given, not {sorted(extra)}")
        if "start" not in spec or "end" not in spec:
            raise ValueError("opening hours with 'days' need 'start' and 'end'")
        days = spec["days"]
        if isinstance(days, str) or not isinstance(days, Iterable):
            raise ValueError(f"'days' is a list of day names, got {days!r}")
        interval = _parse_interval(spec["start"], spec["end"], "days")
        for name in days:
            hours[_weekday(name)] = [interval]
    else:
        for name, intervals in spec.items():
            day = _weekday(name)
            if day in hours:
                raise ValueError(f"day {name!r} is given twice")
            if isinstance(intervals, str) or not isinstance(intervals, Iterable):
                raise ValueError(  # noqa: TRY004 - the contract: any bad spec is a ValueError
                    f"{name}: a list of [start, end] pairs, got {intervals!r}")
            pairs = []
            for pair in intervals:
                if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
                    raise ValueError(f"{name}: each interval is [start, end], got {pair!r}")
                pairs.append(_parse_interval(pair[0], pair[1], str(name)))
            hours[day] = sorted(pairs, key=lambda p: p[0])
    return {day: tuple(pairs) for day, pairs in hours.items()}


def _parse_interval(start: Any, end: Any, where: str) -> tuple[time, time]:
    s, e = _parse_time(start, where), _parse_time(end, where, end=True)
    if e != MIDNIGHT and e <= s:
        raise ValueError(f"{where}: end {end} is not after start {start}")
    return s, e


def _parse_time(value: Any, where: str, *, end: bool = False) -> time:
    if isinstance(value, time) and value.tzinfo is None:
        return value
    if isinstance(value, str):
        text = value.strip()
        if end and text == "24:00":
            return MIDNIGHT
        hh, sep, mm = text.partition(":")
        if (sep and hh.isdigit() and mm.isdigit() and len(mm) == 2 and len(hh) <= 2
                and int(hh) <= 23 and int(mm) <= 59):
            return time(int(hh), int(mm))
    hint = " (quote it in YAML: 8:30 unquoted reads as a number)" if isinstance(value, int) else ""
    raise ValueError(f"{where}: bad time {value!r}, expected \"HH:MM\"{hint}")


def _weekday(name: Any) -> int:
    key = name.strip().lower() if isinstance(name, str) else None
    if key not in WEEKDAYS:
        raise ValueError(f"unknown day name {name!r}: use mon, tue, wed, thu, fri, sat, sun")
    return WEEKDAYS[key]


def _day_name(weekday: int) -> str:
    return ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[weekday]
