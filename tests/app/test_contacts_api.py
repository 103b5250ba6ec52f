"""POST /api/v1/contacts (the front desk) and GET /receipts/{reference}, through the public surface:
the contact goes through the same pipeline as every channel (recorded raw, identified, threaded,
routed, acknowledged on the reply channel the citizen chose)."""
from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from sqlmodel import col, select

from app.settings import Settings
from crm.attachments import path_for
from crm.models import AccessRecord, InboundEvent, Ticket
from crm.threading import short_reference
from replies.models import Delivery
from routing.agents import get_agent_by_email
from tests.conftest import Stack, running

FRONTDESK = "sophie.martin@demo.guichet.fr"
REFERENCE = re.compile(r"^GRU-\d{4}-\d{6}$")
WALK_IN = {
    "channel": "counter", "full_name": "Fatima Zahra El Idrissi", "phone": "06 11 22 33 44",
    "address": "12 rue des Lilas", "postcode": "75020", "city": "Paris", "national_id": "ab 123 456",
    "category": "etat_civil", "subject": "Copie intégrale d'acte de mariage",
    "note": "Demande une copie intégrale de son acte de mariage (1998, Paris 20e).", "reply_channel": "sms",
}


async def log_contact(stack: Stack, body: dict, *, agent: str = FRONTDESK, key: str | None = None,
                      expect: int = 201) -> dict:
    headers = {"Authorization": f"Bearer {await stack.token(agent)}"}
    if key:
        headers["Idempotency-Key"] = key
    response = await stack.client.post("/api/v1/contacts", json=body, headers=headers)
    assert response.status_code == expect, response.text
    return response.json() | {"_headers": dict(response.headers)}


async def agent_id(stack: Stack, email: str) -> int:
    async with stack.session() as session:
        return (await get_agent_by_email(session, email)).id


async def test_a_walk_in_for_a_new_citizen_is_routed_and_acknowledged_by_sms(stack: Stack) -> None:
    accepted = await log_contact(stack, WALK_IN)
    assert REFERENCE.match(accepted["reference"]) and accepted["status"] == "received"
    await stack.drain()

    ticket = await stack.ticket(accepted["reference"])
    assert (ticket["origin_channel"], ticket["reply_channel"], ticket["category"]) == ("counter", "sms", "etat_civil")
    assert ticket["subject"] == WALK_IN["subject"]
    assert ticket["citizen"]["full_name"] == "Fatima Zahra El Idrissi"
    points = {(p["kind"], p["value"]) for p in ticket["citizen"]["contact_points"]}
    assert points == {("phone", "+33611223344"), ("postal_address", "12 rue des Lilas, 75020 Paris"),
                      ("national_id", "AB123456")}
    # Routed like any request: etat_civil goes to Amina (level 5), not to the desk agent.
    assert ticket["assignee"]["email"] == "amina.benali@demo.guichet.fr"
    sophie = await agent_id(stack, FRONTDESK)
    logged = [e for e in ticket["timeline"] if e["kind"] in ("created", "message_in")]
    assert [(e["actor_type"], e["actor_id"]) for e in logged] == [("agent", sophie)] * 2
    assert ticket["messages"][0]["channel"] == "counter" and ticket["messages"][0]["text"] == WALK_IN["note"]
    # The acknowledgement is the receipt by SMS: held in the outbox (no Twilio here).
    sms = [m for m in ticket["messages"] if m["direction"] == "out"]
    assert len(sms) == 1 and sms[0]["channel"] == "sms"
    assert f"réf. {short_reference(accepted['reference'])}." in sms[0]["text"]
    async with stack.session() as session:
        deliveries = (await session.exec(select(Delivery))).all()
        records = (await session.exec(select(AccessRecord).where(AccessRecord.action == "log_contact"))).all()
    assert [(d.channel, d.to, d.state) for d in deliveries] == [("sms", "+33611223344", "held")]
    assert [(r.agent_id, r.subject_type, r.subject_id) for r in records] == [
        (sophie, "citizen", ticket["citizen"]["id"])]


async def test_a_phone_contact_for_an_existing_citizen_lands_in_their_record(stack: Stack) -> None:
    web = await stack.post_request()  # Nadia, by email, on the web form
    await stack.drain()
    citizen_id = (await stack.ticket(web["reference"]))["citizen"]["id"]

    phoned = await log_contact(stack, {
        "channel": "phone", "citizen_id": citizen_id, "category": "voirie", "subject": "Nid-de-poule",
        "note": "Signale un nid-de-poule devant le 4 avenue Jean Jaurès.", "reply_channel": "email",
    }, agent="karim.haddad@demo.guichet.fr")
    await stack.drain()

    ticket = await stack.ticket(phoned["reference"])
    assert ticket["citizen"]["id"] == citizen_id and ticket["origin_channel"] == "phone"
    assert ticket["reference"] != web["reference"]
    async with stack.session() as session:
        listed = (await session.exec(select(Ticket.reference).where(Ticket.citizen_id == citizen_id)
                                     .order_by(col(Ticket.id)))).all()
    assert listed == [web["reference"], phoned["reference"]]
    # Acknowledged by email, at the address on the citizen's record.
    mail = [m for m in ticket["messages"] if m["direction"] == "out"]
    assert len(mail) == 1 and mail[0]["channel"] == "email" and phoned["reference"] in mail[0]["subject"]


async def test_a_contact_naming_a_ticket_is_added_to_it_and_reopens_it(stack: Stack) -> None:
    web = await stack.post_request()
    await stack.drain()
    resolved = await stack.client.post(f"/api/v1/tickets/{web['reference']}/status",
                                       json={"status": "resolved", "why": "copie envoyée"},
                                       headers={"Authorization": f"Bearer {await stack.token()}"})
    assert resolved.status_code < 300, resolved.text
    added = await log_contact(stack, {"channel": "counter", "reference": web["reference"].lower(),
                                      "subject": "Pièce justificative", "note": "Apporte son livret de famille."})
    assert added["reference"] == web["reference"]
    await stack.drain()
    ticket = await stack.ticket(web["reference"])
    incoming = [m for m in ticket["messages"] if m["direction"] == "in"]
    assert [m["channel"] for m in incoming] == ["webform", "counter"]
    assert ticket["status"] == "open"  # the agent named it: reopened, whatever the window
    assert any("named by the agent" in (e["reason"] or "") for e in ticket["timeline"])


async def test_reply_by_sms_without_a_phone_is_refused_with_a_field_message(stack: Stack) -> None:
    body = {**WALK_IN, "phone": None, "email": "fz@example.org"}
    refused = await log_contact(stack, body, expect=400)
    assert refused["errors"] == {"reply_channel": "sms needs a phone number: give phone"}
    nothing = await log_contact(stack, {**WALK_IN, "phone": None, "address": None, "postcode": None,
                                        "city": None, "reply_channel": None}, expect=400)
    assert "reply_channel" in nothing["errors"]


async def test_unknown_category_citizen_or_ticket_and_bad_fields(stack: Stack) -> None:
    assert (await log_contact(stack, {**WALK_IN, "category": "nope"}, expect=400))["errors"] == {
        "category": "unknown category"}
    unknown = await log_contact(stack, {**WALK_IN, "full_name": None, "citizen_id": 999_999}, expect=404)
    assert unknown["errors"] == {"citizen_id": "no citizen with this id"}
    assert (await log_contact(stack, {**WALK_IN, "reference": "GRU-1999-000001"}, expect=404))["code"] == "not_found"
    web = await stack.post_request()
    await stack.drain()
    citizen_id = (await stack.ticket(web["reference"]))["citizen"]["id"]
    both = await log_contact(stack, {**WALK_IN, "citizen_id": citizen_id}, expect=400)
    assert "full_name" in both["errors"]
    bad = await log_contact(stack, {**WALK_IN, "phone": "12", "channel": "fax", "note": ""}, expect=400)
    assert bad["status_code"] == 400
    async with stack.session() as session:
        assert [e.channel for e in (await session.exec(select(InboundEvent))).all()] == ["webform"]


async def test_any_agent_role_may_log_but_a_token_is_required(stack: Stack) -> None:
    for email in (FRONTDESK, "amina.benali@demo.guichet.fr", "claire.dubois@demo.guichet.fr"):
        await log_contact(stack, WALK_IN, agent=email)
    anonymous = await stack.client.post("/api/v1/contacts", json=WALK_IN)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    forged = await stack.client.post("/api/v1/contacts", json=WALK_IN, headers={"Authorization": "Bearer gch_x"})
    assert forged.status_code == 401


async def test_idempotency_key_replay_returns_the_same_reference_and_stores_once(stack: Stack) -> None:
    first = await log_contact(stack, WALK_IN, key="desk-1")
    await stack.drain()
    second = await log_contact(stack, WALK_IN, key="desk-1")
    await stack.drain()
    assert first["reference"] == second["reference"]
    assert second["_headers"].get("idempotent-replayed") == "true"
    other = await log_contact(stack, {**WALK_IN, "note": "autre chose"}, key="desk-1", expect=409)
    assert "idempotency" in other["detail"]
    async with stack.session() as session:
        assert len((await session.exec(select(InboundEvent))).all()) == 1
        assert len((await session.exec(select(Ticket))).all()) == 1
    # The same key from another agent is another contact: keys are per agent.
    third = await log_contact(stack, WALK_IN, key="desk-1", agent="amina.benali@demo.guichet.fr")
    assert third["reference"] != first["reference"]


async def test_resolved_on_the_spot_ends_resolved_by_the_logging_agent(stack: Stack) -> None:
    accepted = await log_contact(stack, {**WALK_IN, "resolved_on_the_spot": True})
    await stack.drain()
    ticket = await stack.ticket(accepted["reference"])
    sophie = await agent_id(stack, FRONTDESK)
    assert ticket["status"] == "resolved" and ticket["assignee"]["id"] == sophie
    resolved = next(e for e in ticket["timeline"] if e["kind"] == "status_changed")
    assert (resolved["actor_type"], resolved["actor_id"], resolved["data"]["to"]) == ("agent", sophie, "resolved")
    # No acknowledgement (the citizen has their answer): only the satisfaction survey, which the
    # category asks for after a resolution.
    outbound = [m for m in ticket["messages"] if m["direction"] == "out"]
    assert len(outbound) <= 1 and all("5" in m["text"] for m in outbound)
    assert not any("reçu" in m["text"] or "received" in m["text"] for m in outbound)
    assert any(e["kind"] == "note" and "resolved on the spot" in e["reason"] for e in ticket["timeline"])


async def test_the_receipt_is_a_printable_page_for_agents_in_three_languages(stack: Stack) -> None:
    accepted = await log_contact(stack, WALK_IN)
    await stack.drain()
    url = f"/receipts/{accepted['reference']}"
    token = {"Authorization": f"Bearer {await stack.token(FRONTDESK)}"}
    french = await stack.client.get(url, headers=token)
    assert french.status_code == 200 and french.headers["content-type"].startswith("text/html")
    page = french.text
    assert accepted["reference"] in page and "Récépissé de votre demande" in page
    assert "Mairie de Test" in page and "Fatima Zahra El Idrissi" in page and "Nous vous répondrons par SMS." in page
    assert "+33611223344" not in page and "AB123456" not in page and WALK_IN["note"] not in page
    arabic = await stack.client.get(url + "?lang=ar", headers=token)
    assert 'dir="rtl"' in arabic.text and 'lang="ar"' in arabic.text and "وصل استلام طلبكم" in arabic.text
    assert accepted["reference"] in arabic.text
    english = await stack.client.get(url + "?lang=en", headers=token)
    assert "Receipt for your request" in english.text and 'dir="ltr"' in english.text
    assert (await stack.client.get(url)).status_code == 401
    assert (await stack.client.get("/receipts/GRU-1999-000001", headers=token)).status_code == 404


SCAN = b"%PDF-1.4\n" + bytes(range(256)) * 8


async def test_a_scanned_letter_is_stored_and_an_oversize_one_refused(seeded: Settings, tmp_path: Path) -> None:
    settings = seeded.model_copy(update={"attachment_dir": str(tmp_path), "attachment_max_bytes": 4096})
    async with running(settings) as stack:
        letter = {**WALK_IN, "channel": "letter", "reply_channel": "letter",
                  "attachments": [{"filename": "courrier.pdf", "content_type": "application/pdf",
                                   "data": base64.b64encode(SCAN).decode()}]}
        accepted = await log_contact(stack, letter)
        await stack.drain()
        ticket = await stack.ticket(accepted["reference"])
        assert (ticket["origin_channel"], ticket["reply_channel"]) == ("letter", "letter")
        [scan] = ticket["messages"][0]["attachments"]
        assert scan == {"filename": "courrier.pdf", "content_type": "application/pdf", "size": len(SCAN),
                        "refused": None, "id": scan["id"]} and isinstance(scan["id"], int)
        assert path_for(tmp_path, hashlib.sha256(SCAN).hexdigest()).read_bytes() == SCAN
        # A printed letter is a person's job: no acknowledgement leaves, the timeline says why.
        assert not [m for m in ticket["messages"] if m["direction"] == "out"]
        assert any(e["kind"] == "note" and "answered by letter" in e["reason"] for e in ticket["timeline"])

        big = {"filename": "scan.pdf", "content_type": "application/pdf",
               "data": base64.b64encode(b"x" * 5000).decode()}
        refused = await log_contact(stack, {**letter, "attachments": [big]}, expect=413)
        assert refused["errors"] == {"attachments[0]": "larger than 4096 bytes (GUICHET_ATTACHMENT_MAX_BYTES)"}
        script = {"filename": "virus.exe", "content_type": "application/pdf", "data": "TVo="}
        assert (await log_contact(stack, {**letter, "attachments": [script]}, expect=400))["errors"] == {
            "attachments[0]": "blocked file name .exe"}
        not_base64 = {**script, "filename": "a.pdf", "data": "***"}
        assert (await log_contact(stack, {**letter, "attachments": [not_base64]}, expect=400))["errors"] == {
            "attachments[0]": "data is not base64"}

