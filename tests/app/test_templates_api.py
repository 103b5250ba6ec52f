"""The templates API through HTTP, on every backend: save versions, history, rollback, dry run,
preview on a real ticket; supervisors only for writes; 400 with the reason, never a 500."""
from __future__ import annotations

from crm.threading import short_reference
from tests.conftest import Stack

AMINA = "amina.benali@demo.guichet.fr"


async def auth(stack: Stack, email: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {await stack.token(email) if email else await stack.token()}"}


def draft(**fields) -> dict:
    return {"step": "resolved", "channel": "sms", "language": "fr",
            "body": "{{ service.name }} : demande {{ ticket.short_reference }} traitée. Merci !", **fields}


async def test_listing_shows_one_active_version_per_slot_of_the_seeded_set(stack: Stack) -> None:
    headers = await auth(stack, AMINA)  # reading is for every agent
    response = await stack.client.get("/api/v1/templates", params={"step": "acknowledgement"}, headers=headers)
    assert response.status_code == 200, response.text
    found = {(t["channel"], t["language"]) for t in response.json()}
    assert found == {(c, lang) for c in ("email", "sms", "letter") for lang in ("fr", "en", "ar")}
    everything = (await stack.client.get("/api/v1/templates", headers=headers)).json()
    assert {t["step"] for t in everything} == {"acknowledgement", "more_information_needed", "status_changed",
                                               "agent_reply", "resolved", "satisfaction_survey",
                                               "opt_out_confirmation", "help"}
    assert all(t["active"] and t["version"] == 1 for t in everything)
    arabic_sms = (await stack.client.get("/api/v1/templates", params={"language": "ar", "channel": "sms"},
                                         headers=headers)).json()
    assert len(arabic_sms) == 8 and all(t["language"] == "ar" for t in arabic_sms)


async def test_a_new_version_history_and_rollback(stack: Stack) -> None:
    headers = await auth(stack)
    listed = (await stack.client.get("/api/v1/templates", params={"step": "resolved", "channel": "sms",
                                                                   "language": "fr"}, headers=headers)).json()
    [seeded] = listed
    response = await stack.client.post("/api/v1/templates", headers=headers,
                                       json=draft(change_note="plus court"))
    assert response.status_code == 201, response.text
    saved = response.json()
    second = saved["template"]
    assert (second["version"], second["active"], second["change_note"]) == (2, True, "plus court")
    assert second["created_by"] is not None
    assert saved["longest_sample"]["sms"] == {"segments": 1, "encoding": "GSM-7",
                                              "characters": len(saved["longest_sample"]["text"]),
                                              "units": len(saved["longest_sample"]["text"])}
    assert (await stack.client.get(f"/api/v1/templates/{seeded['id']}", headers=headers)).json()["active"] is False

    history = (await stack.client.get(f"/api/v1/templates/{second['id']}/history", headers=headers)).json()
    assert [(v["version"], v["active"]) for v in history] == [(2, True), (1, False)]

    response = await stack.client.post(f"/api/v1/templates/{seeded['id']}/rollback", json={}, headers=headers)
    assert response.status_code == 201, response.text
    third = response.json()["template"]
    assert (third["version"], third["body"], third["copied_from_id"]) == (3, seeded["body"], seeded["id"])
    assert third["change_note"] == "rollback to version 1"
    history = (await stack.client.get(f"/api/v1/templates/{seeded['id']}/history", headers=headers)).json()
    assert [(v["version"], v["active"]) for v in history] == [(3, True), (2, False), (1, False)]
    active = (await stack.client.get("/api/v1/templates", params={"step": "resolved", "channel": "sms",
                                                                   "language": "fr"}, headers=headers)).json()
    assert [t["id"] for t in active] == [third["id"]]


async def test_a_category_gets_its_own_template_and_replies_use_it(stack: Stack) -> None:
    headers = await auth(stack)
    body = "{{ service.name }} : votre demande d'urbanisme est enregistrée, réf. {{ ticket.short_reference }}."
    response = await stack.client.post("/api/v1/templates", headers=headers, json=draft(
        step="acknowledgement", category="urbanisme", body=body))
    assert response.status_code == 201, response.text
    assert response.json()["template"]["category"] == "urbanisme"
    accepted = await stack.post_request(email=None, phone="06 12 34 56 78", category="urbanisme")
    await stack.drain()
    async with stack.session() as session:
        from sqlmodel import select

        from replies.models import Delivery
        [sms] = (await session.exec(select(Delivery).where(Delivery.channel == "sms"))).all()
    assert sms.body == (f"Mairie de Test : votre demande d'urbanisme est enregistrée, "
                        f"réf. {short_reference(accepted['reference'])}.")


async def test_preview_on_a_real_ticket(stack: Stack) -> None:
    headers = await auth(stack)
    accepted = await stack.post_request(name="Nadia Amrani", subject="Copie d'acte de naissance")
    await stack.drain()
    email = (await stack.client.get("/api/v1/templates", params={"step": "resolved", "channel": "email",
                                                                  "language": "fr"}, headers=headers)).json()[0]
    response = await stack.client.post("/api/v1/templates/preview", headers=headers,
                                       json={"ticket": accepted["reference"].lower(), "template_id": email["id"]})
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["subject"] == f"Votre demande {accepted['reference']} est traitée"
    assert shown["text"].startswith("Bonjour Nadia Amrani,\n\n")
    assert "« Copie d'acte de naissance »" in shown["text"] and shown["sms"] is None
    assert shown["html"].startswith("<!doctype html>") and "Copie d&#39;acte" in shown["html"]

    sms = await stack.client.post("/api/v1/templates/preview", headers=headers, json={
        "ticket": accepted["reference"], "channel": "sms",
        "body": "Réf. {{ ticket.short_reference }} : votre acte est prêt, {{ citizen.first_name }}."})
    assert sms.status_code == 200, sms.text
    cost = sms.json()
    assert cost["text"] == f"Réf. {short_reference(accepted['reference'])} : votre acte est prêt, Nadia."
    assert cost["sms"]["encoding"] == "UCS-2" and cost["sms"]["segments"] == 1  # "ê" is not GSM-7

    html = await stack.client.post("/api/v1/templates/preview", headers=headers, json={
        "ticket": accepted["reference"], "channel": "email", "subject": "Test",
        "body": "x", "html": "<p>{{ ticket.subject }}</p><p>{{ '<b>' }}</p>"})
    assert html.json()["html"] == "<p>Copie d&#39;acte de naissance</p><p>&lt;b&gt;</p>"  # autoescaped

    missing = await stack.client.post("/api/v1/templates/preview", headers=headers,
                                      json={"ticket": "GRU-2026-999999", "template_id": email["id"]})
    assert missing.status_code == 404
    unknown = await stack.client.post("/api/v1/templates/preview", headers=headers,
                                      json={"ticket": accepted["reference"], "template_id": 999_999})
    assert unknown.status_code == 404
    escape = await stack.client.post("/api/v1/templates/preview", headers=headers, json={
        "ticket": accepted["reference"], "channel": "sms", "body": "{{ ''.__class__.__mro__ }}"})
    assert escape.status_code == 400 and "internal attribute" in escape.json()["detail"]


async def test_writes_are_for_supervisors(stack: Stack) -> None:
    headers = await auth(stack, AMINA)
    assert (await stack.client.post("/api/v1/templates", json=draft(), headers=headers)).status_code == 403
    some = (await stack.client.get("/api/v1/templates", headers=headers)).json()[0]
    response = await stack.client.post(f"/api/v1/templates/{some['id']}/rollback", json={}, headers=headers)
    assert response.status_code == 403
    assert (await stack.client.post("/api/v1/templates", json=draft())).status_code == 401
    assert (await stack.client.get("/api/v1/templates/999999", headers=headers)).status_code == 404
    response = await stack.client.post("/api/v1/templates/999999/rollback", json={}, headers=await auth(stack))
    assert response.status_code == 404


async def test_invalid_templates_are_refused_with_the_reason(stack: Stack) -> None:
    headers = await auth(stack)
    cases = [
        (draft(body="Bonjour {{ citizen.nom }}"), "body, line 1: unknown variable citizen.nom"),
        (draft(body="Bonjour\n{{ citizen.first_name }"), "body, line 2: syntax error"),
        (draft(body="Bonjour {{ citizen.first_name }}"), "empty for a citizen without a first name"),
        (draft(body="{{ cycler.__init__.__globals__ }}"), "internal attribute '__globals__' is refused"),
        (draft(body="{% for i in range(100000) %}x{% endfor %}"), "range() is limited to 1000 items"),
        (draft(body="Votre demande est traitée. " * 30), "takes 6 segments in GSM-7 (810 characters)"),
        (draft(channel="email", body="Bonjour"), "subject, an email needs a subject"),
        (draft(step="birthday"), "unknown step 'birthday'"),
        (draft(category="nope"), "unknown category 'nope'"),
    ]
    for body, reason in cases:
        response = await stack.client.post("/api/v1/templates", json=body, headers=headers)
        assert response.status_code == 400, (body, response.text)
        assert reason in response.json()["detail"], (reason, response.json())
        dry = await stack.client.post("/api/v1/templates/validate", json={**body, "category": None}, headers=headers)
        if "category" not in reason:
            assert dry.status_code == 400 and reason in dry.json()["detail"]
    # Nothing of that was saved.
    history = (await stack.client.get("/api/v1/templates", params={"step": "resolved", "channel": "sms",
                                                                    "language": "fr"}, headers=headers)).json()
    assert [t["version"] for t in history] == [1]
    ok = await stack.client.post("/api/v1/templates/validate", json=draft(), headers=headers)
    assert ok.status_code == 200 and ok.json()["valid"] is True and ok.json()["samples"] == 4
