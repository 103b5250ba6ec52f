"""A routing simulation scenario, read from plain data (the YAML of docs/routing.md) and checked."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from routing.calendar import BusinessCalendar
from routing.policy import PRIORITY_RANK, RoutingRules

DEFAULT_SPEED = {1: 1.6, 2: 1.3, 3: 1.0, 4: 0.85, 5: 0.7}


class ScenarioError(ValueError):
    """The scenario cannot be simulated; the message says where and why."""


@dataclass(frozen=True)
class AgentSpec:
    name: str
    skills: Mapping[str, int]
    languages: frozenset[str]
    capacity: int
    teams: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CategorySpec:
    name: str
    skill: str | None
    min_level: int
    arrivals_per_hour: float
    handling_minutes: float
    languages: Mapping[str, float]  # language -> share; empty: no language
    sla_first_response_minutes: float | None = None
    priority: str = "normal"
    team: str | None = None


@dataclass(frozen=True)
class Scenario:
    seed: int
    hours: float
    agents: tuple[AgentSpec, ...]
    categories: tuple[CategorySpec, ...]
    calendar: BusinessCalendar
    speed: Mapping[int, float] = field(default_factory=lambda: dict(DEFAULT_SPEED))
    rules: RoutingRules = RoutingRules(None, None)

    def speed_factor(self, level: int) -> float:
        """Handling-time factor at a level; an agent without the skill is slower than level 1."""
        if level in self.speed:
            return self.speed[level]
        known = [lvl for lvl in self.speed if lvl > 0]
        if level <= 0 or not known:
            return max(self.speed.values(), default=1.6) * 1.5
        return self.speed[min(known, key=lambda lvl: abs(lvl - level))]


def load_scenario(data: Any) -> Scenario:
    """Build a Scenario from parsed YAML/JSON; ScenarioError names the first problem."""
    if not isinstance(data, Mapping):
        raise ScenarioError("the scenario must be a mapping with agents and categories")
    agents = tuple(_agent(item, i) for i, item in enumerate(_list(data, "agents")))
    categories = tuple(_category(item, i) for i, item in enumerate(_list(data, "categories")))
    names = [a.name for a in agents]
    if len(set(names)) != len(names):
        raise ScenarioError("agents: names must be unique")
    speed = data.get("proficiency_speed") or DEFAULT_SPEED
    if not isinstance(speed, Mapping):
        raise ScenarioError("proficiency_speed must map a level (1-5) to a factor")
    try:
        speed = {int(k): _positive(v, f"proficiency_speed.{k}") for k, v in speed.items()}
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"proficiency_speed: {exc}") from None
    relax = data.get("relax") or {}
    if not isinstance(relax, Mapping):
        raise ScenarioError("relax must be a mapping: {level_after_minutes, team_after_minutes}")
    try:
        calendar = BusinessCalendar.from_spec(data.get("opening_hours"), tz=data.get("timezone") or "UTC")
    except (ValueError, TypeError, KeyError) as exc:
        raise ScenarioError(f"opening_hours: {exc}") from None
    return Scenario(
        seed=_int(data.get("seed", 0), "seed"),
        hours=_positive(data.get("hours", 40), "hours"),
        agents=agents,
        categories=categories,
        calendar=calendar,
        speed=speed,
        rules=RoutingRules(_optional_minutes(relax, "level_after_minutes"),
                           _optional_minutes(relax, "team_after_minutes")),
    )


def _list(data: Mapping, key: str) -> list:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise ScenarioError(f"{key}: a non-empty list is required")
    return value


def _agent(item: Any, index: int) -> AgentSpec:
    where = f"agents[{index}]"
    if not isinstance(item, Mapping) or not item.get("name"):
        raise ScenarioError(f"{where}: a mapping with a name is required")
    skills = item.get("skills") or {}
    if not isinstance(skills, Mapping):
        raise ScenarioError(f"{where}.skills must map a skill to a level 1-5")
    for skill, level in skills.items():
        if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 5:
            raise ScenarioError(f"{where}.skills.{skill}: level must be a whole number 1-5, got {level!r}")
    capacity = item.get("capacity", 1)
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
        raise ScenarioError(f"{where}.capacity must be a whole number ≥ 1, got {capacity!r}")
    return AgentSpec(str(item["name"]), {str(k): v for k, v in skills.items()},
                     frozenset(map(str, item.get("languages") or [])), capacity,
                     frozenset(map(str, item.get("teams") or [])))


def _category(item: Any, index: int) -> CategorySpec:
    where = f"categories[{index}]"
    if not isinstance(item, Mapping) or not item.get("name"):
        raise ScenarioError(f"{where}: a mapping with a name is required")
    languages = item.get("languages") or {}
    if isinstance(languages, list):
        languages = {str(lang): 1.0 for lang in languages}
    if not isinstance(languages, Mapping) or any(not isinstance(v, int | float) or v < 0
                                                 for v in languages.values()):
        raise ScenarioError(f"{where}.languages must map a language to a share ≥ 0")
    if languages and sum(languages.values()) <= 0:
        raise ScenarioError(f"{where}.languages: the shares add up to 0")
    priority = str(item.get("priority", "normal"))
    if priority not in PRIORITY_RANK:
        raise ScenarioError(f"{where}.priority must be one of {', '.join(PRIORITY_RANK)}")
    sla = item.get("sla_first_response_minutes")
    min_level = item.get("min_level", 1)
    if not isinstance(min_level, int) or not 1 <= min_level <= 5:
        raise ScenarioError(f"{where}.min_level must be a whole number 1-5")
    return CategorySpec(
        name=str(item["name"]),
        skill=str(item["skill"]) if item.get("skill") else None,
        min_level=min_level,
        arrivals_per_hour=_non_negative(item.get("arrivals_per_hour", 0), f"{where}.arrivals_per_hour"),
        handling_minutes=_positive(item.get("handling_minutes", 20), f"{where}.handling_minutes"),
        languages={str(k): float(v) for k, v in languages.items()},
        sla_first_response_minutes=None if sla is None else _positive(sla, f"{where}.sla_first_response_minutes"),
        priority=priority,
        team=str(item["team"]) if item.get("team") else None,
    )


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{where} must be a number, got {value!r}")
    return float(value)


def _positive(value: Any, where: str) -> float:
    number = _number(value, where)
    if number <= 0:
        raise ScenarioError(f"{where} must be > 0, got {value!r}")
    return number


def _non_negative(value: Any, where: str) -> float:
    number = _number(value, where)
    if number < 0:
        raise ScenarioError(f"{where} must be ≥ 0, got {value!r}")
    return number


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{where} must be a whole number, got {value!r}")
    return value


def _optional_minutes(relax: Mapping, key: str) -> float | None:
    value = relax.get(key)
    return None if value is None else _non_negative(value, f"relax.{key}")
