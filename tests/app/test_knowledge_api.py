"""The knowledge base through HTTP, on both databases: agents read, supervisors write; every
answer checked like a template at save time; what is saved, edited or retired is what the
suggestions for a citizen's message offer next."""
from __future__ import annotations

from tests.app.test_replies_api import AMINA, auth
from tests.conftest import Stack

ANSWER = {  # (an answer the seeds do not have)
    "title": "Inscription sur les listes électorales",
    "language": "fr",
    "category": "etat_civil",
    "keywords": ["listes électorales", "inscription électorale", "voter", "carte électorale"],
    "examples": ["Comment m'inscrire sur les listes électorales ?", "Je viens d'emménager, puis-je voter ici ?"],
    "body": "{{ citizen.salutation }},\n\nVous pouvez vous inscrire sur les listes électorales jusqu'au "
            "sixième vendredi avant un scrutin, avec une pièce d'identité et un justificatif de domicile.",
}
MESSAGE = "Bonjour, je viens d'emménager : comment m'inscrire sur les listes électorales pour voter ?"


async def titles_suggested(stack: Stack, reference: str) -> list[str]:
    found = await stack.client.get(f"/api/v1/tickets/{reference}/suggestions", headers=await auth(stack))
    assert found.status_code == 200, found.text
    return [s["title"] for s in found.json()["suggestions"]]


async def test_supervisors_write_answers_that_suggestions_offer_at_once(stack: Stack) -> None:
    accepted = await stack.post_request(message=MESSAGE, category="etat_civil", subject="Élections")
    await stack.drain()
    assert ANSWER["title"] not in await titles_suggested(stack, accepted["reference"])

    agent = await auth(stack, AMINA)
    refused = await stack.client.post("/api/v1/knowledge", json=ANSWER, headers=agent)
    assert refused.status_code == 403
    created = await stack.client.post("/api/v1/knowledge", json=ANSWER, headers=await auth(stack))
    assert created.status_code == 201, created.text
    answer = created.json()
    assert (answer["category"], answer["language"], answer["active"]) == ("etat_civil", "fr", True)
    assert (await titles_suggested(stack, accepted["reference"]))[0] == ANSWER["title"]

    # Agents read it, with the seeded ones, filtered by language and category.
    listed = await stack.client.get("/api/v1/knowledge?language=fr&category=etat_civil", headers=agent)
    assert listed.status_code == 200
    assert ANSWER["title"] in [a["title"] for a in listed.json()]
    assert {a["language"] for a in listed.json()} == {"fr"}
    one = await stack.client.get(f"/api/v1/knowledge/{answer['id']}", headers=agent)
    assert one.json()["keywords"] == ANSWER["keywords"]

    # Edited: the suggestions follow the new words at once (their index rebuilds).
    edited = {**ANSWER, "title": "Recensement citoyen à 16 ans", "keywords": ["recensement"],
              "examples": ["Mon fils a 16 ans, faut-il le faire recenser ?"]}
    changed = await stack.client.put(f"/api/v1/knowledge/{answer['id']}", json=edited, headers=await auth(stack))
    assert changed.status_code == 200, changed.text
    assert changed.json()["updated_at"] > answer["updated_at"]
    titles = await titles_suggested(stack, accepted["reference"])
    assert ANSWER["title"] not in titles
    assert (await stack.client.put(f"/api/v1/knowledge/{answer['id']}", json=edited, headers=agent)).status_code == 403

    # Retired: kept, no longer offered.
    await stack.client.put(f"/api/v1/knowledge/{answer['id']}", json=ANSWER, headers=await auth(stack))
    assert (await titles_suggested(stack, accepted["reference"]))[0] == ANSWER["title"]
    assert (await stack.client.delete(f"/api/v1/knowledge/{answer['id']}", headers=agent)).status_code == 403
    retired = await stack.client.delete(f"/api/v1/knowledge/{answer['id']}", headers=await auth(stack))
    assert retired.status_code == 200 and retired.json()["active"] is False
    assert ANSWER["title"] not in await titles_suggested(stack, accepted["reference"])
    active = await stack.client.get("/api/v1/knowledge", headers=agent)
    assert answer["id"] not in [a["id"] for a in active.json()]
    every = await stack.client.get("/api/v1/knowledge?include_retired=true", headers=agent)
    assert answer["id"] in [a["id"] for a in every.json()]
    assert (await stack.client.get("/api/v1/knowledge/99999", headers=agent)).status_code == 404


async def test_a_wrong_answer_is_refused_at_save_with_what_is_wrong(stack: Stack) -> None:
    headers = await auth(stack)
    cases = [
        ({"body": "Bonjour {{ citizen.shoe_size }}"}, "shoe_size"),
        ({"body": "Bonjour {% if %}"}, ""),
        ({"language": "de"}, "unknown language"),
        ({"category": "no_such_thing"}, "unknown category"),
        ({"keywords": [], "examples": []}, "keywords or example"),
        ({"title": "   "}, "title"),
    ]
    for change, said in cases:
        response = await stack.client.post("/api/v1/knowledge", json={**ANSWER, **change}, headers=headers)
        assert response.status_code == 400, (change, response.text)
        assert said in response.text, (change, response.text)
    assert (await stack.client.get("/api/v1/knowledge", headers=headers)).status_code == 200
    assert (await stack.client.get("/api/v1/knowledge")).status_code == 401


async def test_the_steps_a_category_notifies_are_read_by_agents_and_set_by_supervisors(stack: Stack) -> None:
    path = "/api/v1/categories/voirie/notify-steps"
    agent = await auth(stack, AMINA)
    read = await stack.client.get(path, headers=agent)
    assert read.status_code == 200, read.text
    assert read.json()["notify_steps"] == ["acknowledgement", "more_information_needed", "resolved",
                                           "satisfaction_survey"]
    assert "status_changed" in read.json()["known_steps"]
    assert (await stack.client.put(path, json={"notify_steps": ["resolved"]}, headers=agent)).status_code == 403
    wrong = await stack.client.put(path, json={"notify_steps": ["resolved", "teleported"]}, headers=await auth(stack))
    assert wrong.status_code == 400 and "teleported" in wrong.text
    saved = await stack.client.put(path, json={"notify_steps": ["satisfaction_survey", "status_changed"]},
                                   headers=await auth(stack))
    assert saved.status_code == 200
    assert saved.json()["notify_steps"] == ["status_changed", "satisfaction_survey"]  # in the steps' order
    assert (await stack.client.get(path, headers=agent)).json()["notify_steps"] == saved.json()["notify_steps"]
    # What it changes: a new voirie request is no longer acknowledged.
    accepted = await stack.post_request(category="voirie")
    await stack.drain()
    timeline = (await stack.ticket(accepted["reference"]))["timeline"]
    assert not [e for e in timeline if e["kind"] == "message_out"]
    missing = await stack.client.get("/api/v1/categories/nothing/notify-steps", headers=agent)
    assert missing.status_code == 404
    assert (await stack.client.get(path)).status_code == 401
