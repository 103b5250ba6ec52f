"""Skills routing through the public surface: requests in, the router's choices, supervisors' moves."""
from __future__ import annotations

from datetime import timedelta

import pytest
from routing.agents import create_agent, get_agent_by_email
from routing.assign import assign_ticket
from routing.categories import upsert_category
from routing.models import Agent
from routing.sla_watch import check_slas
from routing.teams import add_member, upsert_team
from sqlmodel import select

from app.settings import routing_config
from crm.columns import utcnow
from crm.tickets import find_by_reference
from tests.conftest import Stack

AMINA, KARIM, SOPHIE = ("amina.benali@demo.guichet.fr", "karim.haddad@demo.guichet.fr",
                        "sophie.martin@demo.guichet.fr")


async def agent_id(stack: Stack, email: str) -> int:
    async with stack.session() as session:
        return (await get_agent_by_email(session, email)).id


async def auth(stack: Stack, email: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {await stack.token(email) if email else await stack.token()}"}


async def new_ticket(stack: Stack, **fields) -> dict:
    reference = (await stack.post_request(**fields))["reference"]
    await stack.drain()
    return await stack.ticket(reference)


def last_event(ticket: dict, kind: str) -> dict:
    return [e for e in ticket["timeline"] if e["kind"] == kind][-1]


async def test_a_request_goes_to_the_agent_with_the_skill_and_the_reason_is_on_the_timeline(stack: Stack) -> None:
    ticket = await new_ticket(stack, category="urbanisme", subject="Permis de construire")
    assert ticket["assignee"]["email"] == KARIM
    event = last_event(ticket, "assigned")
    assert "skill urbanisme level 4" in event["reason"] and event["data"]["stage"] == "strict"
    assert event["data"]["factors"]["proficiency"] > 0


async def test_an_arabic_speaking_citizen_reaches_an_arabic_speaker(stack: Stack) -> None:
    # Claire (supervisor, etat_civil 3, fr/en) has more room than Amina once Amina holds two tickets,
    # yet an Arabic request still goes to Amina, who speaks Arabic.
    for n in range(2):
        await new_ticket(stack, category="etat_civil", email=f"fr{n}@example.org")
    response = await stack.client.post("/api/v1/requests?lang=ar", json={
        "name": "Fatima Zahra", "email": "fatima@example.org", "category": "etat_civil",
        "subject": "عقد ازدياد", "message": "السلام عليكم"})
    await stack.drain()
    ticket = await stack.ticket(response.json()["reference"])
    assert ticket["language"] == "ar"
    assert ticket["assignee"]["email"] == AMINA and "speaks ar" in last_event(ticket, "assigned")["reason"]


async def test_supervisor_sees_the_workload(stack: Stack) -> None:
    await new_ticket(stack, category="urbanisme")
    response = await stack.client.get("/api/v1/supervisor/workload", headers=await auth(stack))
    assert response.status_code == 200, response.text
    body = response.json()
    karim = next(a for a in body["agents"] if a["name"] == "Karim Haddad")
    assert karim["open"] == 1 and karim["capacity"] == 20 and karim["presence"] == "available"
    assert karim["oldest_minutes"] is not None and karim["teams"] == ["mairie"]
    mairie = next(t for t in body["teams"] if t["team"] == "mairie")
    assert mairie["open"] == 1 and mairie["agents"] == 4


async def test_only_supervisors_see_and_change_the_distribution(stack: Stack) -> None:
    ticket = await new_ticket(stack, category="urbanisme")
    agent_headers = await auth(stack, AMINA)
    assert (await stack.client.get("/api/v1/supervisor/workload", headers=agent_headers)).status_code == 403
    assert (await stack.client.get("/api/v1/supervisor/rebalance", headers=agent_headers)).status_code == 403
    move = await stack.client.post(f"/api/v1/tickets/{ticket['reference']}/assign", headers=agent_headers,
                                   json={"agent_id": await agent_id(stack, AMINA), "why": "I want it"})
    assert move.status_code == 403
    assert (await stack.client.get("/api/v1/supervisor/workload")).status_code == 401


async def test_a_supervisor_moves_a_ticket_and_the_timeline_says_who_and_why(stack: Stack) -> None:
    ticket = await new_ticket(stack, category="urbanisme")
    amina = await agent_id(stack, AMINA)
    response = await stack.client.post(f"/api/v1/tickets/{ticket['reference']}/assign", headers=await auth(stack),
                                       json={"agent_id": amina, "why": "Karim is at a site visit"})
    assert response.status_code == 200, response.text
    moved = await stack.ticket(ticket["reference"])
    assert moved["assignee"]["email"] == AMINA
    event = last_event(moved, "moved")
    assert event["actor_type"] == "agent" and "Karim is at a site visit" in event["reason"]
    assert "lacks urbanisme" in event["reason"]  # allowed, but said


async def test_a_move_never_overfills_an_agent(stack: Stack) -> None:
    async with stack.session() as session:
        amina = await get_agent_by_email(session, AMINA)
        amina.capacity = 1
        await session.commit()
    await new_ticket(stack, category="etat_civil", email="a@example.org")
    other = await new_ticket(stack, category="urbanisme", email="b@example.org")
    response = await stack.client.post(f"/api/v1/tickets/{other['reference']}/assign", headers=await auth(stack),
                                       json={"agent_id": await agent_id(stack, AMINA), "why": "try"})
    assert response.status_code == 409 and "capacity" in response.json()["detail"]


async def test_bulk_reassign_moves_all_or_nothing(stack: Stack) -> None:
    refs = [(await new_ticket(stack, category="etat_civil", email=f"c{n}@example.org"))["reference"]
            for n in range(3)]
    claire_headers = await auth(stack)
    sophie = await agent_id(stack, SOPHIE)
    ok = await stack.client.post("/api/v1/supervisor/reassign", headers=claire_headers,
                                 json={"references": refs, "agent_id": sophie, "why": "Amina on training"})
    assert ok.status_code == 200, ok.text
    assert {(await stack.ticket(r))["assignee"]["email"] for r in refs} == {SOPHIE}
    bad = await stack.client.post("/api/v1/supervisor/reassign", headers=claire_headers,
                                  json={"references": [refs[0], "GRU-2026-999999"], "agent_id": None, "why": "x"})
    assert bad.status_code == 404
    assert (await stack.ticket(refs[0]))["assignee"]["email"] == SOPHIE  # unchanged


async def test_an_agent_set_away_has_their_unanswered_tickets_redistributed(stack: Stack) -> None:
    refs = [(await new_ticket(stack, category="etat_civil", email=f"d{n}@example.org"))["reference"]
            for n in range(2)]
    assert {(await stack.ticket(r))["assignee"]["email"] for r in refs} == {AMINA}
    amina = await agent_id(stack, AMINA)
    response = await stack.client.put(f"/api/v1/agents/{amina}/presence", headers=await auth(stack),
                                      json={"presence": "away", "why": "sick leave"})
    assert response.status_code == 200, response.text
    assert sorted(response.json()["redistributed"]) == sorted(refs)
    for reference in refs:
        ticket = await stack.ticket(reference)
        assert ticket["assignee"]["email"] != AMINA
        assert any("sick leave" in (e["reason"] or "") for e in ticket["timeline"])
    # Away, she gets nothing new; back, she is filled again from what waits.
    fresh = await new_ticket(stack, category="etat_civil", email="e@example.org")
    assert fresh["assignee"]["email"] != AMINA
    back = await stack.client.put(f"/api/v1/agents/{amina}/presence", headers=await auth(stack, AMINA),
                                  json={"presence": "available"})
    assert back.status_code == 200


async def test_the_rebalance_plan_evens_out_the_load_and_the_supervisor_applies_some(stack: Stack) -> None:
    claire = await auth(stack)
    amina = await agent_id(stack, AMINA)
    refs = []
    for n in range(6):
        ticket = await new_ticket(stack, category="etat_civil", email=f"r{n}@example.org")
        refs.append(ticket["reference"])
        if ticket["assignee"]["email"] != AMINA:
            await stack.client.post(f"/api/v1/tickets/{ticket['reference']}/assign", headers=claire,
                                    json={"agent_id": amina, "why": "set-up"})
    plan = (await stack.client.get("/api/v1/supervisor/rebalance", headers=claire)).json()["moves"]
    assert len(plan) >= 2 and all(m["from_agent_id"] == amina for m in plan)
    assert all("Amina Benali 6/20" in plan[0]["reason"] for _ in [0])
    picked = plan[0]["reference"]
    applied = await stack.client.post("/api/v1/supervisor/rebalance", headers=claire, json={"references": [picked]})
    assert applied.status_code == 200, applied.text
    assert [m["reference"] for m in applied.json()["applied"]] == [picked]
    moved = await stack.ticket(picked)
    assert moved["assignee"]["id"] == plan[0]["to_agent_id"]
    assert "rebalanced by Claire Dubois" in last_event(moved, "moved")["reason"]
    rest = await stack.client.post("/api/v1/supervisor/rebalance", headers=claire, json={})
    counts = {}
    for reference in refs:
        holder = (await stack.ticket(reference))["assignee"]["id"]
        counts[holder] = counts.get(holder, 0) + 1
    assert rest.status_code == 200 and max(counts.values()) - min(counts.values()) <= 1


async def test_agents_take_what_they_may_and_release_it(stack: Stack) -> None:
    karim = await agent_id(stack, KARIM)
    claire = await auth(stack)
    # Everyone with urbanisme away: the ticket waits unassigned.
    await stack.client.put(f"/api/v1/agents/{karim}/presence", headers=claire, json={"presence": "away"})
    async with stack.session() as session:
        supervisor = await get_agent_by_email(session, "claire.dubois@demo.guichet.fr")
        supervisor.presence = "away"
        await session.commit()
    ticket = await new_ticket(stack, category="urbanisme")
    assert ticket["assignee"] is None
    refused = await stack.client.post(f"/api/v1/tickets/{ticket['reference']}/take", headers=await auth(stack, AMINA))
    assert refused.status_code == 403 and "not eligible" in refused.json()["detail"]
    # Busy, Karim gets nothing pushed to him, but may still pull it himself.
    await stack.client.put(f"/api/v1/agents/{karim}/presence", headers=claire, json={"presence": "busy"})
    await stack.drain()
    assert (await stack.ticket(ticket["reference"]))["assignee"] is None
    taken = await stack.client.post(f"/api/v1/tickets/{ticket['reference']}/take", headers=await auth(stack, KARIM))
    assert taken.status_code == 200 and taken.json()["assignee_id"] == karim
    again = await stack.client.post(f"/api/v1/tickets/{ticket['reference']}/take", headers=await auth(stack, KARIM))
    assert again.status_code == 409
    released = await stack.client.post(f"/api/v1/tickets/{ticket['reference']}/release",
                                       headers=await auth(stack, KARIM), json={"why": "conflict of interest"})
    assert released.status_code == 200 and released.json()["assignee_id"] != karim


async def test_an_agent_back_from_away_is_given_what_waits_for_them(stack: Stack) -> None:
    karim = await agent_id(stack, KARIM)
    claire = await auth(stack)
    async with stack.session() as session:
        for email in (KARIM, "claire.dubois@demo.guichet.fr"):
            (await get_agent_by_email(session, email)).presence = "away"
        await session.commit()
    waiting = [(await new_ticket(stack, category="urbanisme", email=f"w{n}@example.org"))["reference"]
               for n in range(2)]
    for reference in waiting:
        assert (await stack.ticket(reference))["assignee"] is None
    back = await stack.client.put(f"/api/v1/agents/{karim}/presence", headers=claire, json={"presence": "available"})
    assert back.status_code == 200
    await stack.drain()
    # Given by the fill_agent job, or by the sweep that a worker starting up runs: either way, his.
    for reference in waiting:
        assert (await stack.ticket(reference))["assignee"]["id"] == karim


async def test_a_ticket_nobody_can_take_relaxes_after_the_configured_wait(stack: Stack) -> None:
    async with stack.session() as session:
        await upsert_category(session, slug="cimetiere", name="Cimetières", names={}, skill_slug="funeraire",
                              min_level=4)
        await create_agent(session, email="novice@demo.guichet.fr", name="Nour Novice", role="agent",
                           skills={"funeraire": 1})
        await session.commit()
    ticket = await new_ticket(stack, category="cimetiere")
    assert ticket["assignee"] is None
    assert "funeraire (level ≥ 4)" in last_event(ticket, "unassigned")["reason"]
    config = routing_config(stack.settings)
    async with stack.session() as session:
        row = await find_by_reference(session, ticket["reference"])
        decision = await assign_ticket(session, row.id, config, now=utcnow() + timedelta(hours=2))
        await session.commit()
    assert decision.agent_id is not None and decision.stage == "level"
    relaxed = await stack.ticket(ticket["reference"])
    assert relaxed["assignee"]["name"] == "Nour Novice"
    assert "requirement relaxed" in last_event(relaxed, "routing")["reason"]


async def test_a_breached_sla_notifies_and_escalates(stack: Stack) -> None:
    async with stack.session() as session:
        team = await upsert_team(session, slug="nuit", name="Toujours ouvert")
        await upsert_category(session, slug="urgence", name="Urgence sociale", names={}, skill_slug="social",
                              team_id=team.id, sla_first_response_minutes=30,
                              escalation=["raise_priority", "supervisor_queue"])
        amina = await get_agent_by_email(session, AMINA)
        await add_member(session, team, amina.id)
        await session.commit()
    ticket = await new_ticket(stack, category="urgence")
    assert ticket["assignee"]["email"] == AMINA
    config = routing_config(stack.settings)
    async with stack.session() as session:
        at_risk = await check_slas(session, config, now=utcnow() + timedelta(minutes=25))
        await session.commit()
        breached = await check_slas(session, config, now=utcnow() + timedelta(minutes=45))
        await session.commit()
        again = await check_slas(session, config, now=utcnow() + timedelta(minutes=90))
        await session.commit()
    assert [c.state for c in at_risk] == ["at_risk"] and [c.state for c in breached] == ["breached"]
    assert again == []  # each step is acted on once
    assert breached[0].escalated == ["raise_priority", "supervisor_queue"]
    after = await stack.ticket(ticket["reference"])
    assert after["priority"] == "high" and after["assignee"] is None
    kinds = [e["kind"] for e in after["timeline"]]
    assert {"sla_at_risk", "sla_breached", "escalated", "priority_changed"} <= set(kinds)
    for email in (AMINA, "claire.dubois@demo.guichet.fr"):
        notes = (await stack.client.get("/api/v1/notifications", headers=await auth(stack, email))).json()
        assert any(n["kind"] == "sla_breached" and ticket["reference"] in n["text"] for n in notes)
    # In the supervisors' queue, the router leaves it alone; a supervisor decides.
    async with stack.session() as session:
        row = await find_by_reference(session, ticket["reference"])
        assert await assign_ticket(session, row.id, config) is None


@pytest.mark.parametrize("presence", ["lunch", ""])
async def test_an_unknown_presence_is_refused(stack: Stack, presence: str) -> None:
    async with stack.session() as session:
        amina = (await session.exec(select(Agent).where(Agent.email == AMINA))).one()
    response = await stack.client.put(f"/api/v1/agents/{amina.id}/presence", headers=await auth(stack),
                                      json={"presence": presence})
    assert response.status_code == 400 and "presence must be one of" in response.json()["detail"]


async def test_resolving_a_ticket_frees_capacity_for_what_waits(stack: Stack) -> None:
    async with stack.session() as session:
        karim = await get_agent_by_email(session, KARIM)
        karim.capacity = 1
        (await get_agent_by_email(session, "claire.dubois@demo.guichet.fr")).presence = "away"
        await session.commit()
    first = await new_ticket(stack, category="urbanisme", email="p1@example.org")
    second = await new_ticket(stack, category="urbanisme", email="p2@example.org")
    assert first["assignee"]["email"] == KARIM and second["assignee"] is None
    stranger = await stack.client.post(f"/api/v1/tickets/{first['reference']}/status",
                                       headers=await auth(stack, AMINA), json={"status": "resolved"})
    assert stranger.status_code == 403
    bad = await stack.client.post(f"/api/v1/tickets/{first['reference']}/status",
                                  headers=await auth(stack, KARIM), json={"status": "done"})
    assert bad.status_code == 400
    done = await stack.client.post(f"/api/v1/tickets/{first['reference']}/status",
                                   headers=await auth(stack, KARIM), json={"status": "resolved", "why": "permit sent"})
    assert done.status_code == 200, done.text
    await stack.drain()
    assert (await stack.ticket(second["reference"]))["assignee"]["email"] == KARIM


async def test_a_supervisor_changes_an_agents_skills_and_capacity(stack: Stack) -> None:
    karim = await agent_id(stack, KARIM)
    claire = await auth(stack)
    assert (await stack.client.put(f"/api/v1/agents/{karim}", headers=await auth(stack, AMINA),
                                   json={"capacity": 50})).status_code == 403
    for body, message in [({"skills": {"urbanisme": 9}}, "1-5"), ({"skills": {"astrologie": 3}}, "unknown skill"),
                          ({"working_hours": {"days": ["mon"], "start": "18:00", "end": "08:00"}}, "working hours"),
                          ({"capacity": 0}, "")]:
        response = await stack.client.put(f"/api/v1/agents/{karim}", headers=claire, json=body)
        assert response.status_code == 400 and message in response.text, body
    changed = await stack.client.put(f"/api/v1/agents/{karim}", headers=claire, json={
        "skills": {"urbanisme": 5, "etat_civil": 4}, "capacity": 3, "languages": ["fr", "ar"],
        "channel_capacity": {"phone": 1}})
    assert changed.status_code == 200, changed.text
    assert set(changed.json()["changed"]) == {"skills", "capacity", "languages", "channel_capacity"}
    workload = (await stack.client.get("/api/v1/supervisor/workload", headers=claire)).json()
    assert next(a for a in workload["agents"] if a["agent_id"] == karim)["capacity"] == 3
    async with stack.session() as session:
        (await get_agent_by_email(session, AMINA)).presence = "away"
        (await get_agent_by_email(session, "claire.dubois@demo.guichet.fr")).presence = "away"
        await session.commit()
    ticket = await new_ticket(stack, category="etat_civil", email="k@example.org")
    assert ticket["assignee"]["email"] == KARIM and "etat_civil level 4" in last_event(ticket, "assigned")["reason"]


async def test_a_request_written_in_arabic_without_a_chosen_language_is_handled_in_arabic(stack: Stack) -> None:
    # Bug: the JSON API took the default language when the caller chose none, so an Arabic
    # request was acknowledged in French and routed as French.
    response = await stack.client.post("/api/v1/requests", json={
        "name": "Fatima Zahra", "email": "fz@example.org", "category": "social", "subject": "مساعدة",
        "message": "السلام عليكم، أحتاج إلى مساعدة اجتماعية عاجلة من فضلكم"})
    await stack.drain()
    ticket = await stack.ticket(response.json()["reference"])
    assert ticket["language"] == "ar" and ticket["assignee"]["email"] == AMINA
    outgoing = [m for m in ticket["messages"] if m["direction"] == "out"]
    assert outgoing and "تم" in outgoing[0]["text"]
