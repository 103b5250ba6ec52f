"""The supervisor's pages through HTTP: the board, moves, presence, the rebalance plan, the
duplicates queue, dead letters and quarantine; agents get 403, a form without CSRF token 403."""
from __future__ import annotations

import re

from crm.duplicates import file_duplicate
from crm.inbound import mark_quarantined, record_inbound
from routing.agents import get_agent_by_email
from routing.supervision import edit_agent, set_presence
from app.settings import routing_config
from tests.conftest import Stack

AMINA, CLAIRE, SOPHIE = "amina.benali@demo.guichet.fr", "claire.dubois@demo.guichet.fr", "sophie.martin@demo.guichet.fr"


async def agent_of(stack: Stack, email: str):
    async with stack.session() as session:
        return await get_agent_by_email(session, email)


async def overload_amina(stack: Stack, tickets: int = 6) -> list[str]:
    """Claire and Sophie away while civil-status requests come in: Amina takes them all and is
    at capacity; then Claire comes back with room."""
    claire, amina = await agent_of(stack, CLAIRE), await agent_of(stack, AMINA)
    config = routing_config(stack.settings)
    async with stack.session() as session:
        for email in (CLAIRE, SOPHIE):
            await set_presence(session, (await get_agent_by_email(session, email)).id, "away", by=claire,
                               why="test", redistribute=False, config=config)
        await session.commit()
    references = []
    for n in range(tickets):
        references.append((await stack.post_request(email=f"c{n}@example.org", name=f"Citoyen {n}"))["reference"])
    await stack.drain()
    async with stack.session() as session:
        await edit_agent(session, amina.id, by=claire, why="test", capacity=tickets)
        await set_presence(session, claire.id, "available", by=claire, why="back", redistribute=False, config=config)
        await session.commit()
    return references


async def post_form(stack: Stack, path: str, data: dict, page: str = "/supervisor"):
    token = await stack.csrf_token(page)
    return await stack.client.post(path, data={**data, "_csrf_token": token})


async def test_the_board_shows_loads_and_an_agent_gets_403(stack: Stack) -> None:
    references = await overload_amina(stack)
    await stack.sign_in(AMINA)
    for path in ("/supervisor", "/supervisor/rebalance", "/supervisor/duplicates", "/supervisor/outbox",
                 "/supervisor/inbound"):
        assert (await stack.client.get(path)).status_code == 403, path
    stack.client.cookies.clear()
    await stack.sign_in(CLAIRE)
    page = (await stack.client.get("/supervisor")).text
    assert 'data-agent="Amina Benali" data-open="6" class="overloaded"' in page
    assert all(r in page for r in references)


async def test_moves_one_and_several_and_refuses_over_capacity(stack: Stack) -> None:
    references = await overload_amina(stack)
    claire = await agent_of(stack, CLAIRE)
    await stack.sign_in(CLAIRE)
    no_token = await stack.client.post("/supervisor/reassign", data={"reference": references[0],
                                                                     "agent_id": str(claire.id)})
    assert no_token.status_code == 403
    one = await post_form(stack, "/supervisor/reassign", {"reference": references[0], "agent_id": str(claire.id),
                                                           "why": "she has room"})
    assert one.status_code == 303 and one.headers["location"] == "/supervisor?done=moved&n=1"
    assert (await stack.ticket(references[0]))["assignee"]["email"] == CLAIRE
    token = await stack.csrf_token("/supervisor")
    several = await stack.client.post("/supervisor/reassign", data={
        "references": references[1:3], "agent_id": str(claire.id), "why": "even out", "_csrf_token": token})
    assert several.status_code == 303
    assert {(await stack.ticket(r))["assignee"]["email"] for r in references[1:3]} == {CLAIRE}
    page = (await stack.client.get(several.headers["location"])).text
    assert "2 demande(s) déplacée(s)." in page  # the pages speak French first
    amina = await agent_of(stack, AMINA)
    async with stack.session() as session:  # Amina full again: a move to her is refused
        await edit_agent(session, amina.id, by=claire, why="test", capacity=3)
        await session.commit()
    refused = await post_form(stack, "/supervisor/reassign", {"reference": references[0], "agent_id": str(amina.id)})
    assert refused.status_code == 409 and "at capacity" in refused.text
    assert (await stack.ticket(references[0]))["assignee"]["email"] == CLAIRE


async def test_setting_an_agent_away_hands_their_tickets_to_others(stack: Stack) -> None:
    references = await overload_amina(stack, 4)
    amina = await agent_of(stack, AMINA)
    await stack.sign_in(CLAIRE)
    response = await post_form(stack, "/supervisor/presence", {"agent_id": str(amina.id), "presence": "away"})
    assert response.status_code == 303 and response.headers["location"] == "/supervisor?done=presence&n=4"
    assert {(await stack.ticket(r))["assignee"]["email"] for r in references} == {CLAIRE}


async def test_the_rebalance_plan_applied_picked_then_whole(stack: Stack) -> None:
    await overload_amina(stack)
    await stack.sign_in(CLAIRE)
    plan = (await stack.client.get("/supervisor/rebalance")).text
    assert "déplacement(s) proposé(s)" in plan and "Claire Dubois" in plan

    proposed = re.findall(r'name="references" value="([^"]+)"', plan)
    assert len(proposed) >= 2
    picked = await post_form(stack, "/supervisor/rebalance", {"references": proposed[0], "apply": "picked"},
                             "/supervisor/rebalance")
    assert picked.headers["location"] == "/supervisor?done=rebalanced&n=1&skipped=0"
    assert (await stack.ticket(proposed[0]))["assignee"]["email"] == CLAIRE
    whole = await post_form(stack, "/supervisor/rebalance", {"apply": "all"}, "/supervisor/rebalance")
    assert whole.status_code == 303
    board = (await stack.client.get("/supervisor")).text

    opened = dict(re.findall(r'data-agent="([^"]+)" data-open="(\d+)"', board))
    assert int(opened["Amina Benali"]) < 6 and int(opened["Claire Dubois"]) >= 2, opened


async def test_duplicates_merge_different_and_undo(stack: Stack) -> None:
    ids = []
    for name, email in (("Nadia Amrani", "nadia@example.org"), ("Nadia Amrany", "n.amrani@example.org"),
                        ("Nour Amrani", "nour@example.org")):
        reference = (await stack.post_request(name=name, email=email))["reference"]
        await stack.drain()
        ids.append((await stack.ticket(reference))["citizen"]["id"])
    async with stack.session() as session:
        same = await file_duplicate(session, ids[1], ids[0], score=0.92, reasons=["similar name"])
        other = await file_duplicate(session, ids[2], ids[0], score=0.61, reasons=["same family name"])
        await session.commit()
    await stack.sign_in(CLAIRE)
    page = (await stack.client.get("/supervisor/duplicates")).text
    assert f"/supervisor/duplicates/{same.id}/merge" in page and "Nadia Amrany" in page
    no_reason = await post_form(stack, f"/supervisor/duplicates/{same.id}/merge", {"survivor_id": str(ids[0])},
                                "/supervisor/duplicates")
    assert no_reason.status_code == 400
    merged = await post_form(stack, f"/supervisor/duplicates/{same.id}/merge",
                             {"survivor_id": str(ids[0]), "reason": "same email owner"}, "/supervisor/duplicates")
    assert merged.status_code == 303 and merged.headers["location"] == "/supervisor/duplicates?done=merged"
    different = await post_form(stack, f"/supervisor/duplicates/{other.id}/different", {"reason": "sisters"},
                                "/supervisor/duplicates")
    assert different.status_code == 303
    page = (await stack.client.get("/supervisor/duplicates")).text
    assert "Aucun doublon présumé n’attend" in page and "same email owner" in page

    merge_id = re.search(r'/supervisor/merges/(\d+)/undo', page).group(1)
    undone = await post_form(stack, f"/supervisor/merges/{merge_id}/undo", {"reason": "wrong"}, "/supervisor/duplicates")
    assert undone.status_code == 303
    assert "Aucune fusion en cours." in (await stack.client.get("/supervisor/duplicates")).text


async def test_quarantine_lists_and_replays(stack: Stack) -> None:
    async with stack.session() as session:
        recorded = await record_inbound(session, channel="webform", external_id="broken", payload=b"{not json")
        mark_quarantined(recorded.event, "ParseError: not JSON")
        await session.commit()
    await stack.sign_in(CLAIRE)
    page = (await stack.client.get("/supervisor/inbound")).text
    assert "ParseError: not JSON" in page
    replayed = await post_form(stack, f"/supervisor/inbound/{recorded.event.id}/replay", {}, "/supervisor/inbound")
    assert replayed.status_code == 303
    await stack.drain()
    assert "ParseError" in (await stack.client.get("/supervisor/inbound")).text  # still broken: back in quarantine
    assert (await stack.client.get("/supervisor/outbox")).status_code == 200


async def test_statistics_page_and_csv(stack: Stack) -> None:
    await overload_amina(stack, 3)
    await stack.sign_in(AMINA)
    assert (await stack.client.get("/supervisor/stats")).status_code == 403
    assert (await stack.client.get("/supervisor/stats.csv")).status_code == 403
    stack.client.cookies.clear()
    await stack.sign_in(CLAIRE)
    page = (await stack.client.get("/supervisor/stats")).text
    assert '<svg role="img"' in page and '<title id="by-channel-title">' in page
    csv_response = await stack.client.get("/supervisor/stats.csv")
    assert csv_response.status_code == 200 and csv_response.headers["content-type"].startswith("text/csv")
    assert "summary,tickets,3" in csv_response.text and "channel,webform,3" in csv_response.text
