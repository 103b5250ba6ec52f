"""routing.policy: the pure decisions behind every assignment."""
from __future__ import annotations

from routing.policy import (AgentProfile, RoutingRules, TicketNeed, choose_agent, next_ticket_for,
                            plan_assignments, urgency)

STRICT = RoutingRules(None, None)


def agent(agent_id: int, *, skills: dict | None = None, load: int = 0, capacity: int = 5,
          languages: tuple = ("fr",), **fields) -> AgentProfile:
    return AgentProfile(agent_id, f"agent{agent_id}", {"etat_civil": 3} if skills is None else skills,
                        frozenset(languages), capacity=capacity, load=load, **fields)


def need(ticket_id: int = 1, **fields) -> TicketNeed:
    return TicketNeed(ticket_id, **{"skill": "etat_civil", "min_level": 2, **fields})


def test_spare_capacity_wins_and_the_reason_says_who_and_why() -> None:
    decision = choose_agent(need(), [agent(1, load=3), agent(2, load=1), agent(3, load=2)], STRICT)
    assert decision.agent_id == 2
    assert "agent2" in decision.reason and "load 1/5" in decision.reason and "etat_civil level 3" in decision.reason
    assert decision.eligible == 3 and decision.stage == "strict" and decision.factors["load"] > 0


def test_load_counts_relative_to_capacity() -> None:
    assert choose_agent(need(), [agent(1, load=2, capacity=4), agent(2, load=3, capacity=10)], STRICT).agent_id == 2


def test_proficiency_breaks_even_load() -> None:
    decision = choose_agent(need(), [agent(1, skills={"etat_civil": 2}), agent(2, skills={"etat_civil": 5})], STRICT)
    assert decision.agent_id == 2


def test_ineligible_agents_are_never_chosen() -> None:
    roster = [agent(1, presence="away"), agent(2, load=5), agent(3, skills={"etat_civil": 1}),
              agent(4, active=False), agent(5, presence="offline"), agent(6, on_shift=False),
              agent(7, skills={"urbanisme": 5})]
    decision = choose_agent(need(), roster, STRICT)
    assert decision.agent_id is None and decision.eligible == 0
    assert "etat_civil" in decision.reason and "level ≥ 2" in decision.reason


def test_per_channel_capacity_is_respected() -> None:
    busy_on_phone = agent(1, channel_capacity={"phone": 1}, channel_load={"phone": 1}, load=1)
    assert choose_agent(need(channel="phone"), [busy_on_phone], STRICT).agent_id is None
    assert choose_agent(need(channel="email"), [busy_on_phone], STRICT).agent_id == 1


def test_the_citizens_language_is_required_when_someone_speaks_it() -> None:
    roster = [agent(1, languages=("fr",)), agent(2, languages=("fr", "ar"), load=4)]
    assert choose_agent(need(language="ar"), roster, STRICT).agent_id == 2
    # The Arabic speaker is away: the ticket waits for them rather than going to a French-only agent.
    roster[1] = agent(2, languages=("fr", "ar"), presence="away")
    waiting = choose_agent(need(language="ar"), roster, STRICT)
    assert waiting.agent_id is None and "speaking ar" in waiting.reason


def test_a_language_nobody_speaks_does_not_block_the_ticket() -> None:
    assert choose_agent(need(language="tzm"), [agent(1)], STRICT).agent_id == 1


def test_stickiness_to_the_citizens_previous_agent() -> None:
    roster = [agent(1), agent(2)]
    assert choose_agent(need(previous_agent_id=2), roster, STRICT).agent_id == 2
    # ... but not at any price: a much emptier desk still wins.
    roster = [agent(1, load=0, capacity=10), agent(2, load=8, capacity=10)]
    assert choose_agent(need(previous_agent_id=2), roster, STRICT).agent_id == 1


def test_requirement_relaxes_in_two_stages_after_the_configured_waits() -> None:
    rules = RoutingRules(relax_level_after_minutes=30, relax_team_after_minutes=120)
    roster = [agent(1, skills={"etat_civil": 1}, teams=frozenset({"accueil"})),
              agent(2, skills={"voirie": 4}, teams=frozenset({"accueil"}))]
    fresh = need(team="accueil", waited_minutes=10)
    assert choose_agent(fresh, roster, rules).agent_id is None
    level = choose_agent(need(team="accueil", waited_minutes=45), roster, rules)
    assert level.agent_id == 1 and level.stage == "level" and "any level" in level.reason
    only_team = choose_agent(need(team="accueil", waited_minutes=150), roster[1:], rules)
    assert only_team.agent_id == 2 and only_team.stage == "team" and "any agent of the team" in only_team.reason
    assert choose_agent(need(team="accueil", waited_minutes=10_000), roster, STRICT).agent_id is None


def test_agents_outside_the_team_never_take_its_tickets() -> None:
    outsider = agent(1, teams=frozenset({"urbanisme"}))
    assert choose_agent(need(team="accueil"), [outsider], STRICT).agent_id is None
    assert choose_agent(need(team="accueil", waited_minutes=999), [outsider], RoutingRules(1, 2)).agent_id is None


def test_urgency_ages_a_low_priority_ticket_past_a_fresh_high_one() -> None:
    fresh_high = need(1, priority="high", waited_minutes=0, sla_minutes=60)
    old_normal = need(2, priority="normal", waited_minutes=90, sla_minutes=60)
    assert urgency(old_normal) > urgency(fresh_high)
    assert urgency(need(3, waited_minutes=10)) > urgency(need(4, waited_minutes=5))


def test_a_freed_agent_takes_the_most_urgent_ticket_they_may_take() -> None:
    freed = agent(1, skills={"etat_civil": 3}, languages=("fr",))
    roster = [freed, agent(2, skills={"etat_civil": 3}, languages=("fr", "ar"))]
    waiting = [need(1, waited_minutes=5, sla_minutes=60),
               need(2, waited_minutes=50, sla_minutes=60, language="ar"),  # not for a French-only agent
               need(3, skill="urbanisme", waited_minutes=500),  # not their skill
               need(4, waited_minutes=20, sla_minutes=60)]
    assert next_ticket_for(freed, waiting, roster, STRICT).ticket_id == 4
    assert next_ticket_for(agent(1, presence="away"), waiting, roster, STRICT) is None


def test_a_backlog_is_planned_most_urgent_first_without_overfilling() -> None:
    roster = [agent(1, capacity=2), agent(2, capacity=1)]
    waiting = [need(i, waited_minutes=i) for i in range(1, 6)]
    plan = plan_assignments(waiting, roster, STRICT)
    assigned = [(n.ticket_id, d.agent_id) for n, d in plan if d.agent_id]
    assert [t for t, _ in assigned] == [5, 4, 3]
    assert sorted(a for _, a in assigned) == [1, 1, 2]
    assert all(d.agent_id is None for n, d in plan if n.ticket_id in (1, 2))
