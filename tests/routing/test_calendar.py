"""BusinessCalendar: opening hours, public holidays, DST, and due times in open minutes."""
from __future__ import annotations

import copy
import pickle
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.calendar import BusinessCalendar

PARIS = ZoneInfo("Europe/Paris")
CASABLANCA = ZoneInfo("Africa/Casablanca")
WEEKDAYS_8_30 = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:30", "end": "16:30"}
US = timedelta(microseconds=1)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def office(**kwargs: object) -> BusinessCalendar:
    return BusinessCalendar.from_spec(WEEKDAYS_8_30, tz="Europe/Paris", **kwargs)  # type: ignore[arg-type]


# --- concrete cases ------------------------------------------------------------------

def test_friday_afternoon_plus_an_hour_is_monday_nine() -> None:
    due = office().add_business_minutes(paris(2026, 11, 27, 16, 0), 60)
    assert due == paris(2026, 11, 30, 9, 0)
    assert due.tzinfo is UTC


def test_lunch_break_is_not_counted() -> None:
    cal = BusinessCalendar.from_spec(
        {"mon": [["13:30", "17:00"], ["08:30", "12:00"]], "sat": [["09:00", "12:00"]]},
        tz=PARIS)
    assert cal.add_business_minutes(paris(2026, 11, 30, 11, 30), 60) == paris(2026, 11, 30, 14, 0)
    assert cal.business_minutes_between(paris(2026, 11, 30, 11, 0), paris(2026, 11, 30, 14, 0)) == 90
    assert not cal.is_open(paris(2026, 11, 30, 12, 30))
    # Monday 16:30 + 60: 30 min on Monday, then Saturday from 09:00
    assert cal.add_business_minutes(paris(2026, 11, 30, 16, 30), 60) == paris(2026, 12, 5, 9, 30)
    assert cal.hours[0] == ((time(8, 30), time(12)), (time(13, 30), time(17)))


def test_french_public_holidays_are_closed_with_country_fr() -> None:
    plain, fr = office(), office(country="FR", years=[2026])
    # 2026-05-01 is a Friday, 2026-07-14 a Tuesday
    assert plain.add_business_minutes(paris(2026, 4, 30, 16, 0), 60) == paris(2026, 5, 1, 9, 0)
    assert fr.add_business_minutes(paris(2026, 4, 30, 16, 0), 60) == paris(2026, 5, 4, 9, 0)
    assert fr.add_business_minutes(paris(2026, 7, 13, 16, 0), 60) == paris(2026, 7, 15, 9, 0)
    assert not fr.is_open(paris(2026, 7, 14, 10, 0))
    assert date(2026, 7, 14) in fr.holidays


def test_years_not_listed_are_looked_up_lazily() -> None:
    fr = office(country="FR")
    assert fr.holidays == frozenset()
    assert not fr.is_open(paris(2031, 7, 14, 10, 0))  # a Monday
    assert fr.is_open(paris(2031, 7, 15, 10, 0))


def test_moroccan_throne_day_is_closed_with_country_ma() -> None:
    ma = BusinessCalendar.from_spec(WEEKDAYS_8_30, tz="Africa/Casablanca", country="ma")
    start = datetime(2026, 7, 29, 16, 0, tzinfo=CASABLANCA)  # Wednesday, Throne Day is Thursday
    assert ma.add_business_minutes(start, 60) == datetime(2026, 7, 31, 9, 0, tzinfo=CASABLANCA)
    assert ma.country == "MA"


def test_extra_holidays_close_those_dates() -> None:
    cal = office(extra_holidays=[date(2026, 12, 1)])
    assert cal.add_business_minutes(paris(2026, 11, 30, 16, 0), 60) == paris(2026, 12, 2, 9, 0)


@pytest.mark.parametrize("sunday", [date(2026, 3, 29), date(2026, 10, 25)])
def test_an_8_hour_day_is_8_hours_on_dst_change_days(sunday: date) -> None:
    cal = BusinessCalendar.from_spec({"sun": [["08:30", "16:30"]]}, tz=PARIS)
    start, end = (datetime.combine(sunday, t, tzinfo=PARIS) for t in (time(0), time(23, 59)))
    assert cal.business_minutes_between(start, end) == 480
    assert cal.add_business_minutes(start, 480) == datetime.combine(sunday, time(16, 30), PARIS)
    assert cal.add_business_minutes(start, 0) == datetime.combine(sunday, time(8, 30), PARIS)


def test_a_whole_day_follows_the_clock_across_dst() -> None:
    cal = BusinessCalendar.from_spec({"sun": [["00:00", "24:00"]]}, tz=PARIS)
    for sunday, hours in ((date(2026, 3, 29), 23), (date(2026, 10, 25), 25)):
        day = datetime.combine(sunday, time(0), PARIS)
        assert cal.business_minutes_between(day, day + timedelta(days=2)) == hours * 60
    # 01:00-04:00 on the spring-forward night is two real hours (02:00-03:00 does not exist)
    night = BusinessCalendar.from_spec({"sun": [["01:00", "04:00"]]}, tz=PARIS)
    assert night.business_minutes_between(paris(2026, 3, 29), paris(2026, 3, 30)) == 120


def test_a_bound_inside_the_dst_gap_does_not_count_twice() -> None:
    cal = BusinessCalendar.from_spec({"sun": [["01:00", "02:30"], ["03:00", "04:00"]]}, tz=PARIS)
    # 01:00 CET .. 04:00 CEST is 00:00Z .. 02:00Z: two hours at most, never more
    assert cal.business_minutes_between(paris(2026, 3, 29), paris(2026, 3, 30)) == 120


def test_friday_to_monday_across_the_spring_dst_weekend() -> None:
    due = office().add_business_minutes(paris(2026, 3, 27, 16, 0), 60)
    assert due == paris(2026, 3, 30, 9, 0)
    assert due == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # CEST from Sunday


def test_is_open_start_inclusive_end_exclusive() -> None:
    cal = office()
    assert cal.is_open(paris(2026, 11, 30, 8, 30))
    assert not cal.is_open(paris(2026, 11, 30, 8, 30) - US)
    assert cal.is_open(paris(2026, 11, 30, 16, 30) - US)
    assert not cal.is_open(paris(2026, 11, 30, 16, 30))
    assert not cal.is_open(paris(2026, 11, 28, 10, 0))  # Saturday


def test_next_open() -> None:
    cal = office()
    assert cal.next_open(paris(2026, 11, 28, 10, 0)) == paris(2026, 11, 30, 8, 30)
    assert cal.next_open(paris(2026, 11, 30, 16, 30)) == paris(2026, 12, 1, 8, 30)
    inside = datetime(2026, 11, 30, 10, 0, 0, 7, tzinfo=PARIS)
    assert cal.next_open(inside) == inside
    assert cal.next_open(inside).tzinfo is UTC


def test_due_time_lands_on_an_interval_end_when_the_minutes_run_out_there() -> None:
    cal = office()
    due = cal.add_business_minutes(paris(2026, 11, 30, 16, 0), 30)
    assert due == paris(2026, 11, 30, 16, 30)


def test_always_open_is_plain_arithmetic() -> None:
    for cal in (BusinessCalendar.always_open(), BusinessCalendar.from_spec(None, tz=PARIS)):
        at = paris(2026, 10, 24, 23, 0)  # across the autumn change: 90 real minutes
        assert cal.add_business_minutes(at, 90) == at + timedelta(minutes=90)
        # wall-clock days in Paris: the night of the change has 25 hours
        assert cal.business_minutes_between(at, at + timedelta(days=2)) == 49 * 60
        assert cal.is_open(at) and cal.next_open(at) == at
    assert BusinessCalendar.always_open().tz == ZoneInfo("UTC")


def test_always_open_but_for_holidays() -> None:
    cal = BusinessCalendar.from_spec(None, tz=PARIS, country="FR")
    assert not cal.is_open(paris(2026, 12, 25, 12, 0))
    assert cal.add_business_minutes(paris(2026, 12, 24, 23, 0), 120) == paris(2026, 12, 26, 1, 0)


def test_between_is_zero_when_end_is_not_after_start() -> None:
    cal = office()
    at = paris(2026, 11, 30, 10, 0)
    assert cal.business_minutes_between(at, at) == 0
    assert cal.business_minutes_between(at, at - timedelta(hours=1)) == 0


def test_long_spans_skip_whole_weeks_and_stay_exact() -> None:
    cal = office(country="FR", years=[2026, 2027])
    start = paris(2026, 11, 30, 8, 30)
    # 2026-12-25 and 2027-01-01 are Fridays: 60 weekdays minus 2 holidays after 12 weeks
    due = cal.add_business_minutes(start, 60 * 480)
    assert due == paris(2027, 2, 23, 16, 30)
    assert cal.business_minutes_between(start, due) == 60 * 480


def test_calendars_are_values() -> None:
    cal = office(country="FR")
    cal.is_open(paris(2026, 11, 30, 10, 0))  # fills a cache, which is not part of the value
    assert pickle.loads(pickle.dumps(cal)) == cal == copy.deepcopy(cal)
    assert office(country="FR") == office(country="FR")
    assert hash(office(country="FR")) == hash(office(country="FR"))
    assert office() != office(country="FR")
    assert len({office(), office(), BusinessCalendar.always_open()}) == 2


# --- errors --------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "message"), [
    ({"days": ["mon", "funday"], "start": "08:30", "end": "16:30"}, "unknown day name 'funday'"),
    ({"lundi": [["08:30", "12:00"]]}, "unknown day name 'lundi'"),
    ({"days": ["mon"], "start": "16:30", "end": "08:30"}, "end 08:30 is not after start 16:30"),
    ({"mon": [["12:00", "12:00"]]}, "not after start"),
    ({"days": ["mon"], "start": "8h30", "end": "16:30"}, "bad time '8h30'"),
    ({"days": ["mon"], "start": "08:30", "end": "25:00"}, "bad time '25:00'"),
    ({"days": ["mon"], "start": "24:00", "end": "24:00"}, "bad time '24:00'"),
    ({"days": ["mon"], "start": 510, "end": "16:30"}, "quote it in YAML"),
    ({"days": ["mon"], "start": "08:30"}, "need 'start' and 'end'"),
    ({"days": "mon", "start": "08:30", "end": "16:30"}, "list of day names"),
    ({"days": ["mon"], "start": "08:30", "end": "16:30", "tue": []}, "only 'start' and 'end'"),
    ({"mon": [["08:30", "12:00"], ["11:00", "17:00"]]}, "not overlap"),
    ({"mon": ["08:30", "12:00"]}, "each interval is [start, end]"),
    ({"mon": "08:30-12:00"}, "a list of [start, end] pairs"),
    ({"mon": [["08:30", "12:00"]], "Mon": []}, "given twice"),
    (["mon"], "must be a mapping"),
])
def test_bad_specs_say_what_is_wrong(spec: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        BusinessCalendar.from_spec(spec, tz=PARIS)  # type: ignore[arg-type]


def test_unknown_zone_and_country_are_value_errors() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        BusinessCalendar.from_spec(WEEKDAYS_8_30, tz="Europe/Atlantis")
    with pytest.raises(ValueError, match="no public holidays known for country 'XX'"):
        BusinessCalendar.from_spec(WEEKDAYS_8_30, country="XX")


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(ValueError, match="weekday must be"):
        BusinessCalendar(PARIS, {7: ((time(8), time(9)),)})
    with pytest.raises(ValueError, match="sorted"):
        BusinessCalendar(PARIS, {0: ((time(13), time(14)), (time(8), time(9)))})
    with pytest.raises(TypeError, match="ZoneInfo"):
        BusinessCalendar("Europe/Paris", {})  # type: ignore[arg-type]


def test_naive_datetimes_are_refused() -> None:
    cal, naive = office(), datetime(2026, 11, 30, 10, 0)
    for call in (lambda: cal.is_open(naive), lambda: cal.next_open(naive),
                 lambda: cal.add_business_minutes(naive, 5),
                 lambda: cal.business_minutes_between(naive, naive),
                 lambda: BusinessCalendar.always_open().is_open(naive)):
        with pytest.raises(ValueError, match="naive datetime"):
            call()


@pytest.mark.parametrize("minutes", [-1, float("nan"), float("inf")])
def test_minutes_must_be_finite_and_not_negative(minutes: float) -> None:
    with pytest.raises(ValueError, match="minutes must be"):
        office().add_business_minutes(paris(2026, 11, 30, 10, 0), minutes)


def test_a_calendar_never_open_raises_instead_of_looping() -> None:
    shut = BusinessCalendar.from_spec({}, tz=PARIS)
    with pytest.raises(ValueError, match="never open"):
        shut.add_business_minutes(paris(2026, 11, 30, 10, 0), 1)
    with pytest.raises(ValueError, match="never open"):
        shut.next_open(paris(2026, 11, 30, 10, 0))
    assert not shut.is_open(paris(2026, 11, 30, 10, 0))
    assert shut.business_minutes_between(paris(2026, 1, 1), paris(2027, 1, 1)) == 0


def test_a_calendar_closed_by_holidays_for_years_raises() -> None:
    mondays = [date(2026, 11, 30) + timedelta(weeks=w) for w in range(4 * 53)]
    cal = BusinessCalendar.from_spec({"mon": [["08:30", "16:30"]]}, tz=PARIS,
                                     extra_holidays=mondays)
    with pytest.raises(ValueError, match="no open time in"):
        cal.add_business_minutes(paris(2026, 11, 30, 10, 0), 1)
    far = mondays[-1] + timedelta(weeks=1)
    assert cal.next_open(paris(2030, 12, 1)) == datetime.combine(far, time(8, 30), PARIS)


# --- properties ----------------------------------------------------------------------

ZONES = [ZoneInfo(z) for z in ("Europe/Paris", "Africa/Casablanca", "UTC", "America/New_York",
                                  "America/Santiago")]
GRID = list(range(0, 24 * 60 + 1, 30))
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _clock(minute: int) -> time:
    return time(0) if minute == 24 * 60 else time(minute // 60, minute % 60)


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    hours = {}
    for weekday in range(7):
        marks = sorted(draw(st.sets(st.sampled_from(GRID), max_size=6)))
        marks = marks[: len(marks) // 2 * 2]
        pairs = tuple((_clock(a), _clock(b)) for a, b in zip(marks[::2], marks[1::2], strict=True))
        if pairs:
            hours[weekday] = pairs
    if not hours:
        hours[draw(st.integers(0, 6))] = ((time(9), time(17)),)
    closed = draw(st.sets(st.dates(date(2026, 1, 1), date(2028, 12, 31)), max_size=20))
    country = draw(st.sampled_from([None, "FR", "MA"]))
    return BusinessCalendar(draw(st.sampled_from(ZONES)), hours, frozenset(closed), country)


any_calendar = st.one_of(calendars(), st.just(BusinessCalendar.always_open(PARIS)))
instants = st.integers(0, 3 * 365 * 24 * 3600 * 10).map(lambda ds: T0 + timedelta(seconds=ds / 10))
minutes = st.floats(0, 40 * 480, allow_nan=False, allow_infinity=False)


def reference_minutes(cal: BusinessCalendar, start: datetime, end: datetime) -> float:
    """Open minutes in [start, end), day by day from the local hours: slow and obvious."""
    total = timedelta()
    day = start.astimezone(cal.tz).date() - timedelta(days=1)
    while day <= end.astimezone(cal.tz).date():
        previous_end = T0 - timedelta(days=365)
        for s, e in () if cal._is_holiday(day) else cal.hours.get(day.weekday(), ()):
            # in UTC: arithmetic between two datetimes of one zone ignores its offsets
            lo = datetime.combine(day, s, cal.tz).astimezone(UTC)
            hi = datetime.combine(day + timedelta(days=1) if e == time(0) else day, e,
                                  cal.tz).astimezone(UTC)
            lo = max(lo, previous_end)  # an end inside a DST gap may overlap what follows
            previous_end = max(hi, previous_end)
            total += max(min(hi, end) - max(lo, start), timedelta())
        day += timedelta(days=1)
    return total / timedelta(minutes=1)


@settings(deadline=None)
@given(any_calendar, instants, minutes)
def test_between_inverts_add(cal: BusinessCalendar, a: datetime, m: float) -> None:
    a = cal.next_open(a)
    assert cal.business_minutes_between(a, cal.add_business_minutes(a, m)) == pytest.approx(
        m, abs=1e-6)


@settings(deadline=None)
@given(any_calendar, instants, instants, instants)
def test_between_is_additive(cal: BusinessCalendar, x: datetime, y: datetime,
                             z: datetime) -> None:
    a, b, c = sorted((x, y, z))
    whole = cal.business_minutes_between(a, c)
    assert whole == pytest.approx(
        cal.business_minutes_between(a, b) + cal.business_minutes_between(b, c), abs=1e-6)


@settings(deadline=None)
@given(calendars(), instants, st.integers(0, 3 * 24 * 3600 * 10))
def test_between_matches_a_day_by_day_reference(cal: BusinessCalendar, a: datetime,
                                                tenths: int) -> None:
    b = a + timedelta(seconds=tenths / 10 * 15)  # up to about six weeks: whole weeks skipped
    assert cal.business_minutes_between(a, b) == pytest.approx(
        reference_minutes(cal, a, b), abs=1e-6)


@settings(deadline=None)
@given(any_calendar, instants, minutes, minutes)
def test_add_is_monotonic_in_minutes(cal: BusinessCalendar, a: datetime, m1: float,
                                     m2: float) -> None:
    m1, m2 = sorted((m1, m2))
    assert cal.add_business_minutes(a, m1) <= cal.add_business_minutes(a, m2)


@settings(deadline=None)
@given(any_calendar, instants, minutes)
def test_due_times_are_open_instants_or_interval_ends(cal: BusinessCalendar, a: datetime,
                                                      m: float) -> None:
    due = cal.add_business_minutes(a, m)
    assert due.tzinfo is UTC and due >= a
    assert cal.is_open(due) or cal.is_open(due - US)


@settings(deadline=None)
@given(any_calendar, instants)
def test_next_open_is_open_and_no_open_time_is_skipped(cal: BusinessCalendar,
                                                       a: datetime) -> None:
    first = cal.next_open(a)
    assert first >= a and cal.is_open(first)
    assert cal.business_minutes_between(a, first) == 0
    assert cal.add_business_minutes(a, 0) == first
