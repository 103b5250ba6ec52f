"""Choose the agent for a ticket: a pure, explainable decision."""
from __future__ import annotations

from dataclasses import dataclass

from routing.models import Presence


@dataclass(frozen=True)
class Candidate:
    agent_id: int
    name: str
    level: int  # proficiency in the required skill, 0 when none
    load: int  # open tickets assigned now
    capacity: int
    presence: str
    active: bool = True


@dataclass(frozen=True)
class Decision:
    agent_id: int | None
    reason: str
    eligible: int


def choose_agent(candidates: list[Candidate], *, skill: str | None, min_level: int) -> Decision:
    """The least-loaded available agent with the skill at the level, ties to the most proficient."""
    eligible = [
        c for c in candidates
        if c.active
        and c.presence == Presence.AVAILABLE.value
        and c.load < c.capacity
        and (skill is None or c.level >= min_level)
    ]
    if not eligible:
        need = f"skill {skill} (level ≥ {min_level})" if skill else "any skill"
        return Decision(None, f"no available agent with {need} and free capacity", 0)
    best = min(eligible, key=lambda c: (c.load / c.capacity, -c.level, c.agent_id))
    what = f"skill {skill} level {best.level}" if skill else "no skill required"
    return Decision(
        best.agent_id,
        f"least loaded of {len(eligible)} eligible agent(s): {best.name}, {what}, "
        f"load {best.load}/{best.capacity}",
        len(eligible),
    )
