"""choose_agent: the pure decision behind every assignment."""
from __future__ import annotations

from routing.policy import Candidate, choose_agent


def agent(agent_id: int, *, level: int = 3, load: int = 0, capacity: int = 5,
          presence: str = "available", active: bool = True) -> Candidate:
    return Candidate(agent_id, f"agent{agent_id}", level, load, capacity, presence, active)


def test_least_loaded_eligible_agent_wins_and_says_why() -> None:
    decision = choose_agent([agent(1, load=3), agent(2, load=1), agent(3, load=2)],
                            skill="etat_civil", min_level=1)
    assert decision.agent_id == 2
    assert "agent2" in decision.reason and "load 1/5" in decision.reason and "etat_civil" in decision.reason
    assert decision.eligible == 3


def test_load_is_relative_to_capacity() -> None:
    decision = choose_agent([agent(1, load=2, capacity=4), agent(2, load=3, capacity=10)],
                            skill="x", min_level=1)
    assert decision.agent_id == 2


def test_ties_go_to_the_most_proficient_then_lowest_id() -> None:
    assert choose_agent([agent(1, level=2), agent(2, level=5)], skill="x", min_level=1).agent_id == 2
    assert choose_agent([agent(4), agent(3)], skill="x", min_level=1).agent_id == 3


def test_ineligible_agents_are_never_chosen() -> None:
    candidates = [agent(1, presence="away"), agent(2, load=5, capacity=5), agent(3, level=1),
                  agent(4, active=False), agent(5, presence="offline")]
    decision = choose_agent(candidates, skill="urbanisme", min_level=2)
    assert decision.agent_id is None and decision.eligible == 0
    assert "urbanisme" in decision.reason


def test_no_candidates_at_all() -> None:
    decision = choose_agent([], skill=None, min_level=1)
    assert decision.agent_id is None and "any skill" in decision.reason
