"""`guichet routing simulate`: the real router on virtual time, against queueing theory and baselines."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from routing.scenario import ScenarioError, load_scenario
from routing.simulate import simulate

ROOT = Path(__file__).resolve().parents[2]
TOWN_HALL = ROOT / "benchmarks" / "scenarios" / "town_hall.yaml"
KEYS = {"policy", "tickets", "assigned", "mean_wait_minutes", "p90_wait_minutes", "sla_breach_rate",
        "skill_mismatches", "capacity_violations", "utilisation"}


def erlang_c_wait(servers: int, arrivals_per_minute: float, service_per_minute: float) -> float:
    """Mean wait in queue of an M/M/c queue (Erlang C)."""
    load = arrivals_per_minute / service_per_minute
    rho = load / servers
    below = sum(load**k / math.factorial(k) for k in range(servers))
    top = load**servers / math.factorial(servers) / (1 - rho)
    return top / (below + top) / (servers * service_per_minute - arrivals_per_minute)


def single_skill(servers: int, per_hour: float, hours: float, **extra) -> dict:
    return {"seed": 7, "hours": hours, "proficiency_speed": {3: 1.0},
            "agents": [{"name": f"a{i}", "skills": {"x": 3}, "capacity": 1} for i in range(servers)],
            "categories": [{"name": "x", "skill": "x", "arrivals_per_hour": per_hour, "handling_minutes": 20,
                            "sla_first_response_minutes": 30, **extra}]}


def guichet(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "guichet"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_a_single_skill_desk_waits_as_erlang_c_predicts() -> None:
    result = simulate(load_scenario(single_skill(3, 6, 20_000)), "skills")
    expected = erlang_c_wait(3, 6 / 60, 1 / 20)
    assert result["tickets"] == pytest.approx(6 * 20_000, rel=0.02)
    assert result["mean_wait_minutes"] == pytest.approx(expected, rel=0.10)
    assert result["capacity_violations"] == 0 and result["skill_mismatches"] == 0


def test_skills_routing_beats_the_baselines_on_a_mixed_desk() -> None:
    scenario = load_scenario(yaml.safe_load(TOWN_HALL.read_text()))
    skills, rr, ll = (simulate(scenario, p) for p in ("skills", "round_robin", "least_loaded"))
    assert skills["tickets"] == rr["tickets"] == ll["tickets"]  # the same arrivals for every policy
    assert skills["skill_mismatches"] == 0 and skills["capacity_violations"] == 0
    assert skills["language_mismatches"] == 0
    assert rr["skill_mismatches"] > 0 and ll["skill_mismatches"] > 0
    for baseline in (rr, ll):
        assert skills["sla_breach_rate"] < baseline["sla_breach_rate"]
        assert skills["p90_wait_minutes"] < baseline["p90_wait_minutes"]


def test_the_same_scenario_gives_the_same_figures() -> None:
    scenario = load_scenario(single_skill(2, 4, 200))
    assert simulate(scenario, "skills") == simulate(scenario, "skills")


def test_relaxation_is_off_unless_the_scenario_asks_and_is_counted_when_used() -> None:
    data = single_skill(2, 2, 100)
    data["categories"][0]["min_level"] = 5  # nobody is that good
    strict = simulate(load_scenario(data), "skills")
    assert strict["assigned"] == 0 and strict["unstarted"] == strict["tickets"] > 0
    data["relax"] = {"level_after_minutes": 30}
    relaxed = simulate(load_scenario(data), "skills")
    assert relaxed["assigned"] == relaxed["tickets"]
    assert relaxed["relaxed_assignments"] == relaxed["tickets"] == relaxed["skill_mismatches"]


def test_opening_hours_count_hours_as_open_hours() -> None:
    data = single_skill(2, 6, 40, languages={"fr": 1})
    data["opening_hours"] = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:30", "end": "16:30"}
    result = simulate(load_scenario(data), "skills")
    assert 150 < result["tickets"] < 330  # ~240 requests in a week of 40 open hours


@pytest.mark.parametrize("change, message", [
    ({"agents": []}, "agents: a non-empty list"),
    ({"agents": [{"name": "a", "skills": {"x": 9}}]}, "level must be a whole number 1-5"),
    ({"agents": [{"name": "a", "capacity": 0}]}, "capacity must be a whole number"),
    ({"categories": [{"name": "x", "arrivals_per_hour": -1}]}, "arrivals_per_hour must be ≥ 0"),
    ({"opening_hours": {"days": ["lundi"], "start": "08:00", "end": "12:00"}}, "opening_hours"),
])
def test_a_bad_scenario_says_what_is_wrong(change: dict, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        load_scenario({**single_skill(1, 1, 1), **change})


def test_cli_prints_one_json_object_per_policy() -> None:
    for policy in ("skills", "round_robin", "least_loaded"):
        run = guichet("routing", "simulate", str(TOWN_HALL), "--policy", policy, "--json")
        assert run.returncode == 0, run.stderr
        result = json.loads(run.stdout)
        assert KEYS <= set(result) and result["policy"] == policy
        assert set(result["utilisation"]) == {"amina", "youssef", "claire", "karim", "julien", "sophie",
                                              "nadia", "marc", "leila"}


def test_cli_refuses_bad_input_clearly(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("agents: [\n")
    assert "not valid YAML" in guichet("routing", "simulate", str(broken), "--json").stderr
    assert "cannot read" in guichet("routing", "simulate", str(tmp_path / "missing.yaml")).stderr
    run = guichet("routing", "simulate", str(TOWN_HALL), "--policy", "fastest")
    assert run.returncode == 2 and "unknown policy" in run.stderr
