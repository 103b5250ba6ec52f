"""POST /api/v1/requests and GET /api/v1/tickets/{reference}: the walking skeleton end to end."""
from __future__ import annotations

import re

from crm.threading import short_reference
from tests.conftest import Stack

REFERENCE = re.compile(r"^GRU-\d{4}-\d{6}$")


async def test_a_request_becomes_an_assigned_acknowledged_ticket(stack: Stack) -> None:
    accepted = await stack.post_request()
    assert REFERENCE.match(accepted["reference"])
    assert accepted["status"] == "received"
    await stack.drain()

    ticket = await stack.ticket(accepted["reference"])
    assert ticket["citizen"]["full_name"] == "Nadia Amrani"
    assert {"kind": "email", "value": "nadia@example.org", "verified": False, "opted_out": False} in (
        ticket["citizen"]["contact_points"])
    assert ticket["category"] == "etat_civil"
    # Amina is the only available agent with etat_civil at level 5: least loaded, most proficient.
    assert ticket["assignee"]["email"] == "amina.benali@demo.guichet.fr"
    kinds = [event["kind"] for event in ticket["timeline"]]
    assert kinds[:4] == ["created", "message_in", "assigned", "message_out"]
    assert kinds[-1] == "delivery"
    assigned = next(e for e in ticket["timeline"] if e["kind"] == "assigned")
    assert "etat_civil" in assigned["reason"]
    outbound = [m for m in ticket["messages"] if m["direction"] == "out"]
    assert len(outbound) == 1 and outbound[0]["channel"] == "email"
    assert accepted["reference"] in outbound[0]["subject"]
    assert "Nadia Amrani" in outbound[0]["text"]


async def test_idempotency_key_repeat_creates_nothing_new(stack: Stack) -> None:
    body = {"name": "Yassine Idrissi", "email": "yassine@example.org", "category": "voirie",
            "subject": "Lampadaire", "message": "Le lampadaire de la rue est éteint."}
    headers = {"Idempotency-Key": "form-2026-abc"}
    first = await stack.client.post("/api/v1/requests", json=body, headers=headers)
    await stack.drain()
    second = await stack.client.post("/api/v1/requests", json=body, headers=headers)
    await stack.drain()
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    ticket = await stack.ticket(first.json()["reference"])
    assert len(ticket["messages"]) == 2  # one in, one acknowledgement
    # The next request gets the very next number: the repeat reserved none.
    third = await stack.post_request()
    assert int(third["reference"][-6:]) == int(first.json()["reference"][-6:]) + 1


async def test_idempotency_key_reused_for_another_request_is_refused(stack: Stack) -> None:
    headers = {"Idempotency-Key": "same-key"}
    base = {"name": "A B", "email": "ab@example.org", "category": "voirie", "message": "one"}
    assert (await stack.client.post("/api/v1/requests", json=base, headers=headers)).status_code == 201
    other = await stack.client.post("/api/v1/requests", json={**base, "message": "two"}, headers=headers)
    assert other.status_code == 409
    assert "idempotency" in other.json()["detail"].lower()


async def test_same_citizen_by_email_or_phone_in_any_form(stack: Stack) -> None:
    one = await stack.post_request(email="Nadia@EXAMPLE.org", phone="06 12 34 56 78")
    two = await stack.post_request(email=None, phone="+33612345678", message="Autre chose")
    await stack.drain()
    first, second = await stack.ticket(one["reference"]), await stack.ticket(two["reference"])
    assert first["citizen"]["id"] == second["citizen"]["id"]
    assert one["reference"] != two["reference"]
    values = {(c["kind"], c["value"]) for c in second["citizen"]["contact_points"]}
    assert values == {("email", "nadia@example.org"), ("phone", "+33612345678")}
    # Phone-only requests are acknowledged by SMS (held in the outbox until SMS is configured).
    assert second["reply_channel"] == "sms"
    sms = [m for m in second["messages"] if m["direction"] == "out"]
    # It carries the short reference ("2026-2"), which SMS threading finds in a reply.
    assert sms and sms[0]["channel"] == "sms" and f"réf. {short_reference(two['reference'])}." in sms[0]["text"]


async def test_invalid_input_gets_a_message_per_field(stack: Stack) -> None:
    response = await stack.client.post("/api/v1/requests", json={
        "name": " ", "email": "not-an-email", "phone": "12", "category": "nope", "message": ""})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"name", "email", "phone", "category", "message"}
    assert errors["category"] == "unknown category"


async def test_missing_contact_and_wrong_types_are_400_not_500(stack: Stack) -> None:
    no_contact = await stack.client.post("/api/v1/requests", json={
        "name": "A", "category": "voirie", "message": "hello"})
    assert no_contact.status_code == 400 and "email" in no_contact.json()["errors"]
    wrong_type = await stack.client.post("/api/v1/requests", json={
        "name": 12, "email": "a@example.org", "category": "voirie", "message": "x"})
    assert wrong_type.status_code == 400
    missing = await stack.client.post("/api/v1/requests", json={"email": "a@example.org"})
    assert missing.status_code == 400
    assert {"name", "category", "message"} <= set(missing.json()["errors"])
    for raw in (b"{not json", b"[1, 2]", b"null"):
        bad = await stack.client.post("/api/v1/requests", content=raw,
                                      headers={"Content-Type": "application/json"})
        assert bad.status_code == 400, (raw, bad.text)
    huge = await stack.client.post("/api/v1/requests", json={
        "name": "A", "email": "a@example.org", "category": "voirie", "message": "x" * 2_000_000})
    assert huge.status_code == 413


async def test_ticket_needs_an_agent_token(stack: Stack) -> None:
    accepted = await stack.post_request()
    await stack.drain()
    url = f"/api/v1/tickets/{accepted['reference']}"
    anonymous = await stack.client.get(url)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    forged = await stack.client.get(url, headers={"Authorization": "Bearer gch_forged"})
    assert forged.status_code == 401
    unknown = await stack.client.get("/api/v1/tickets/GRU-1999-000001",
                                     headers={"Authorization": f"Bearer {await stack.token()}"})
    assert unknown.status_code == 404


async def test_reading_a_ticket_is_recorded(stack: Stack) -> None:
    from sqlmodel import select

    from crm.models import AccessRecord

    accepted = await stack.post_request()
    await stack.drain()
    await stack.ticket(accepted["reference"])
    async with stack.session() as session:
        records = (await session.exec(select(AccessRecord))).all()
    assert [(r.action, r.subject_type) for r in records] == [("read", "ticket")]


async def test_no_eligible_agent_leaves_the_ticket_waiting_but_acknowledged(stack: Stack) -> None:
    from sqlmodel import select

    from routing.models import Agent

    async with stack.session() as session:
        for agent in (await session.exec(select(Agent))).all():
            agent.presence = "away"
        await session.commit()
    accepted = await stack.post_request()
    await stack.drain()
    ticket = await stack.ticket(accepted["reference"])
    assert ticket["assignee"] is None
    kinds = [e["kind"] for e in ticket["timeline"]]
    assert "unassigned" in kinds and "message_out" in kinds


async def test_categories_are_public(stack: Stack) -> None:
    response = await stack.client.get("/api/v1/categories")
    assert response.status_code == 200
    slugs = {c["slug"]: c["name"] for c in response.json()}
    assert slugs["etat_civil"].startswith("État civil")
    english = {c["slug"]: c["name"] for c in (await stack.client.get("/api/v1/categories?lang=en")).json()}
    assert english["etat_civil"].startswith("Civil status")
