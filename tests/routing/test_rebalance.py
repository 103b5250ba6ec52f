"""routing.rebalance: the plan a supervisor is shown."""
from __future__ import annotations

from collections import Counter

from routing.policy import AgentProfile, TicketNeed
from routing.rebalance import Held, plan_rebalance


def agent(agent_id: int, load: int, *, capacity: int = 10, skills=None, languages=("fr",), **fields) -> AgentProfile:
    return AgentProfile(agent_id, f"agent{agent_id}", skills or {"etat_civil": 3}, frozenset(languages),
                        capacity=capacity, load=load, **fields)


def held(ticket_id: int, agent_id: int, *, movable: bool = True, **need) -> Held:
    return Held(TicketNeed(ticket_id, **{"skill": "etat_civil", "min_level": 1, **need}), agent_id, movable,
                f"GRU-2026-{ticket_id:06d}")


def loads_after(roster: list[AgentProfile], moves) -> Counter:
    loads = Counter({a.agent_id: a.load for a in roster})
    for move in moves:
        loads[move.from_agent_id] -= 1
        loads[move.to_agent_id] += 1
    return loads


def test_an_overloaded_agent_gives_to_an_idle_one_with_reasons() -> None:
    roster = [agent(1, 8), agent(2, 0)]
    moves = plan_rebalance(roster, [held(i, 1) for i in range(1, 9)])
    assert len(moves) == 4
    assert loads_after(roster, moves) == Counter({1: 4, 2: 4})
    assert all(m.from_agent_id == 1 and m.to_agent_id == 2 for m in moves)
    assert "agent1 8/10 → agent2 0/10" in moves[0].reason and "etat_civil level 3" in moves[0].reason


def test_balanced_desks_get_no_plan() -> None:
    roster = [agent(1, 3), agent(2, 2)]
    assert plan_rebalance(roster, [held(1, 1), held(2, 1), held(3, 1), held(4, 2), held(5, 2)]) == []


def test_moves_respect_skills_language_and_answered_tickets() -> None:
    roster = [agent(1, 6, languages=("fr", "ar")), agent(2, 0, skills={"urbanisme": 5}),
              agent(3, 0, languages=("fr",))]
    tickets = [held(1, 1, language="ar"), held(2, 1, language="ar"), held(3, 1), held(4, 1, movable=False),
               held(5, 1, movable=False), held(6, 1, movable=False)]
    moves = plan_rebalance(roster, tickets)
    assert {m.ticket_id for m in moves} == {3}  # Arabic ones stay with the Arabic speaker, answered ones stay
    assert moves[0].to_agent_id == 3  # the urbanism agent lacks the skill


def test_an_away_agent_hands_over_everything_someone_can_take() -> None:
    roster = [agent(1, 2, presence="away"), agent(2, 5)]
    moves = plan_rebalance(roster, [held(1, 1), held(2, 1)])
    assert {m.ticket_id for m in moves} == {1, 2} and "(away)" in moves[0].reason


def test_most_urgent_tickets_move_first_and_the_plan_ends() -> None:
    roster = [agent(1, 30, capacity=40), agent(2, 0, capacity=40), agent(3, 0, capacity=40)]
    tickets = [held(i, 1, waited_minutes=i, sla_minutes=100) for i in range(1, 31)]
    moves = plan_rebalance(roster, tickets)
    assert moves[0].ticket_id == 30
    assert max(loads_after(roster, moves).values()) - min(loads_after(roster, moves).values()) <= 1
    assert len({m.ticket_id for m in moves}) == len(moves)  # no ticket moved twice
