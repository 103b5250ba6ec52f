"""The duplicates queue and merges through HTTP: supervisors list, merge, mark different, merge by
hand and undo; plain agents are refused; unknown ids, conflicts and bad bodies get 404/409/400."""
from __future__ import annotations

from crm.duplicates import file_duplicate
from tests.conftest import Stack

AMINA = "amina.benali@demo.guichet.fr"  # a plain agent


async def auth(stack: Stack, email: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {await stack.token(email) if email else await stack.token()}"}


async def citizen_of(stack: Stack, **fields) -> tuple[int, str]:
    """A citizen who wrote in through the public request form: (citizen id, ticket reference)."""
    reference = (await stack.post_request(**fields))["reference"]
    await stack.drain()
    return (await stack.ticket(reference))["citizen"]["id"], reference


async def suspect(stack: Stack, a_id: int, b_id: int, score: float = 0.9) -> int | None:
    async with stack.session() as session:
        pair = await file_duplicate(session, a_id, b_id, score=score, reasons=["similar name"])
        await session.commit()
        return pair.id if pair else None


async def test_a_supervisor_reviews_the_queue_merges_and_undoes(stack: Stack) -> None:
    headers = await auth(stack)
    nadia, ticket_one = await citizen_of(stack, name="Nadia Amrani", email="nadia@example.org")
    nadia_again, ticket_two = await citizen_of(stack, name="Nadia Amrany", email="n.amrani@example.org")
    nour, _ = await citizen_of(stack, name="Nour Amrani", email="nour@example.org")
    pair = await suspect(stack, nadia_again, nadia, 0.92)
    other = await suspect(stack, nour, nadia, 0.61)

    page = (await stack.client.get("/api/v1/duplicates?limit=1", headers=headers)).json()
    assert [p["id"] for p in page["pairs"]] == [pair] and page["next_after"] == pair
    first = page["pairs"][0]
    assert first["a"]["id"] == nadia and first["a"]["contact_points"] == ["n…@example.org"]
    assert first["a"]["tickets"] == 1 and first["score"] == 0.92
    page = (await stack.client.get(f"/api/v1/duplicates?limit=1&after={pair}", headers=headers)).json()
    assert [p["id"] for p in page["pairs"]] == [other] and page["next_after"] is None

    response = await stack.client.post(f"/api/v1/duplicates/{pair}/merge", headers=headers,
                                       json={"survivor_id": nadia, "reason": "same person, new email"})
    assert response.status_code == 200, response.text
    merge = response.json()
    assert (merge["survivor_id"], merge["merged_id"], merge["tickets"]) == (nadia, nadia_again, 1)
    ticket = await stack.ticket(ticket_two)
    assert ticket["citizen"]["id"] == nadia
    assert {p["value"] for p in ticket["citizen"]["contact_points"]} >= {"nadia@example.org", "n.amrani@example.org"}
    assert any("now belongs to citizen" in (e["data"].get("text") or "") for e in ticket["timeline"])
    merged = (await stack.client.get("/api/v1/duplicates?status=merged", headers=headers)).json()
    assert [p["id"] for p in merged["pairs"]] == [pair]

    again = await stack.client.post(f"/api/v1/duplicates/{pair}/merge", headers=headers, json={"reason": "twice"})
    assert again.status_code == 409

    undo = await stack.client.post(f"/api/v1/merges/{merge['merge_id']}/undo", headers=headers,
                                   json={"reason": "two sisters"})
    assert undo.status_code == 200 and undo.json()["undone_at"]
    assert (await stack.ticket(ticket_two))["citizen"]["id"] == nadia_again
    assert (await stack.ticket(ticket_one))["citizen"]["id"] == nadia
    twice = await stack.client.post(f"/api/v1/merges/{merge['merge_id']}/undo", headers=headers,
                                    json={"reason": "again"})
    assert twice.status_code == 409 and "already undone" in twice.json()["detail"]
    page = (await stack.client.get("/api/v1/duplicates", headers=headers)).json()
    assert [p["id"] for p in page["pairs"]] == [pair, other]  # open again after the undo


async def test_marked_different_is_not_suggested_again(stack: Stack) -> None:
    headers = await auth(stack)
    one, _ = await citizen_of(stack, name="Karim Haddad", email="karim1@example.org")
    two, _ = await citizen_of(stack, name="Karim Hadad", email="karim2@example.org")
    pair = await suspect(stack, one, two)
    response = await stack.client.post(f"/api/v1/duplicates/{pair}/different", headers=headers,
                                       json={"reason": "different birth dates"})
    assert response.status_code == 200 and response.json()["status"] == "different"
    assert await suspect(stack, two, one, 0.99) is None
    page = (await stack.client.get("/api/v1/duplicates", headers=headers)).json()
    assert page["pairs"] == []
    refused = await stack.client.post(f"/api/v1/duplicates/{pair}/merge", headers=headers, json={"reason": "x"})
    assert refused.status_code == 409


async def test_merge_by_hand_and_the_refusals(stack: Stack) -> None:
    headers = await auth(stack)
    one, _ = await citizen_of(stack, name="Sami Ould", email="sami@example.org")
    two, _ = await citizen_of(stack, name="Sami Ould", phone="0612345678", email="sami.o@example.org")

    for email in (AMINA,):
        plain = await auth(stack, email)
        assert (await stack.client.get("/api/v1/duplicates", headers=plain)).status_code == 403
        assert (await stack.client.post(f"/api/v1/citizens/{one}/merge", headers=plain,
                                        json={"other_id": two, "reason": "same"})).status_code == 403
    assert (await stack.client.get("/api/v1/duplicates")).status_code == 401

    bad = [
        ("/api/v1/citizens/{one}/merge", {"other_id": two}, 400),  # no reason
        ("/api/v1/citizens/{one}/merge", {"other_id": two, "reason": ""}, 400),
        ("/api/v1/citizens/{one}/merge", {"other_id": two, "reason": "   "}, 400),
        ("/api/v1/citizens/{one}/merge", {"other_id": "x", "reason": "same"}, 400),
        ("/api/v1/citizens/{one}/merge", {"other_id": one, "reason": "same"}, 400),
        ("/api/v1/citizens/{one}/merge", {"other_id": 999999, "reason": "same"}, 404),
        ("/api/v1/citizens/999999/merge", {"other_id": two, "reason": "same"}, 404),
        ("/api/v1/citizens/99999999999/merge", {"other_id": two, "reason": "same"}, 404),
        ("/api/v1/duplicates/999999/merge", {"reason": "same"}, 404),
        ("/api/v1/duplicates/99999999999/different", {"reason": "same"}, 404),
        ("/api/v1/merges/999999/undo", {"reason": "same"}, 404),
    ]
    for path, body, status in bad:
        response = await stack.client.post(path.format(one=one), headers=headers, json=body)
        assert response.status_code == status, (path, body, response.text)
    for query in ("status=whatever", "limit=0", "limit=1000", "after=123456", "after=x"):
        assert (await stack.client.get(f"/api/v1/duplicates?{query}", headers=headers)).status_code == 400, query

    response = await stack.client.post(f"/api/v1/citizens/{one}/merge", headers=headers,
                                       json={"other_id": two, "reason": "same person, called in"})
    assert response.status_code == 200, response.text
    assert (response.json()["survivor_id"], response.json()["merged_id"]) == (one, two)
    for pair in ((one, two), (two, one)):
        response = await stack.client.post(f"/api/v1/citizens/{pair[0]}/merge", headers=headers,
                                           json={"other_id": pair[1], "reason": "again"})
        assert response.status_code == 409 and "already merged" in response.json()["detail"]
