"""SLA clocks in business time: due times and the state of a ticket against them (pure)."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from routing.calendar import BusinessCalendar

# A ticket is "at risk" once this share of its target has gone by without an answer.
AT_RISK_SHARE = 0.75


class SlaState(str, enum.Enum):
    OK = "ok"
    AT_RISK = "at_risk"
    BREACHED = "breached"


SEVERITY = {SlaState.OK: 0, SlaState.AT_RISK: 1, SlaState.BREACHED: 2}


@dataclass(frozen=True)
class SlaTargets:
    first_response_minutes: int | None = None
    resolution_minutes: int | None = None


@dataclass(frozen=True)
class DueTimes:
    first_response: datetime | None
    resolution: datetime | None


@dataclass(frozen=True)
class SlaCheck:
    state: SlaState
    reason: str


def due_times(calendar: BusinessCalendar, opened_at: datetime, targets: SlaTargets) -> DueTimes:
    """When the first answer and the resolution are due, counted in the calendar's open hours."""
    def due(minutes: int | None) -> datetime | None:
        return None if minutes is None else calendar.add_business_minutes(opened_at, minutes)

    return DueTimes(due(targets.first_response_minutes), due(targets.resolution_minutes))


def _clock(calendar: BusinessCalendar, opened_at: datetime, due: datetime | None, done_at: datetime | None,
           now: datetime, what: str) -> SlaCheck:
    if due is None:
        return SlaCheck(SlaState.OK, f"no {what} target")
    if done_at is not None:
        late = done_at > due
        return SlaCheck(SlaState.BREACHED if late else SlaState.OK,
                        f"{what} {'late' if late else 'on time'}")
    if now >= due:
        return SlaCheck(SlaState.BREACHED, f"{what} overdue since {due.isoformat(timespec='minutes')}")
    total = calendar.business_minutes_between(opened_at, due)
    used = calendar.business_minutes_between(opened_at, now)
    if total > 0 and used >= AT_RISK_SHARE * total:
        left = total - used
        return SlaCheck(SlaState.AT_RISK, f"{what} due in {left:.0f} business minutes")
    return SlaCheck(SlaState.OK, f"{what} on track")


def check(calendar: BusinessCalendar, *, opened_at: datetime, due: DueTimes, first_responded_at: datetime | None,
          resolved_at: datetime | None, now: datetime) -> SlaCheck:
    """The worse of the first-response and resolution clocks."""
    first = _clock(calendar, opened_at, due.first_response, first_responded_at, now, "first response")
    resolution = _clock(calendar, opened_at, due.resolution, resolved_at, now, "resolution")
    return max((first, resolution), key=lambda c: SEVERITY[c.state])
