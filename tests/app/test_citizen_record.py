"""GET /api/v1/citizens/{id} and /api/v1/citizens/{id}/timeline through HTTP (issue 5, "one
history"): a citizen who wrote on the web form, was logged at the front desk and texted us has
one record and one timeline; pages meet exactly, even over many rows of one timestamp; a merged
citizen's id leads to the survivor; errors are typed; every read is recorded."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from sqlmodel import col, select

from crm.columns import utcnow
from crm.models import (
    AccessRecord,
    Citizen,
    CitizenEvent,
    ContactPoint,
    Message,
    Ticket,
    TicketEvent,
)
from crm.timeline import Cursor, encode_cursor
from tests.conftest import Stack

FRONTDESK = "sophie.martin@demo.guichet.fr"


async def _nadia(stack: Stack) -> dict:
    """Nadia writes on the web form, phones the front desk, then texts us: one citizen, three
    channels. Returns her id and her two references."""
    web = await stack.post_request(phone="06 12 34 56 78")
    await stack.drain()
    citizen_id = (await stack.ticket(web["reference"]))["citizen"]["id"]
    phoned = await stack.client.post("/api/v1/contacts", json={
        "channel": "phone", "citizen_id": citizen_id, "category": "voirie", "subject": "Nid-de-poule",
        "note": "Signale un nid-de-poule devant le 4 avenue Jean Jaurès.", "reply_channel": "email",
    }, headers=await _auth(stack, FRONTDESK))
    assert phoned.status_code == 201, phoned.text
    await stack.drain()
    await _text(stack, "1", "Merci, et le lampadaire aussi.")
    return {"id": citizen_id, "web": web["reference"], "phone": phoned.json()["reference"]}


async def _text(stack: Stack, sid_digit: str, body: str) -> None:
    """Nadia's phone texts us (the local stack takes unsigned webhooks), the pipeline run."""
    texted = await stack.client.post("/webhooks/twilio/sms", content=urlencode(
        {"MessageSid": "SM" + sid_digit * 32, "From": "+33612345678", "To": "+33198765432",
         "Body": body, "NumMedia": "0"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert texted.status_code == 200, texted.text
    await stack.drain()


async def _auth(stack: Stack, email: str | None = None) -> dict[str, str]:
    token = await (stack.token(email) if email else stack.token())
    return {"Authorization": f"Bearer {token}"}


async def _timeline(stack: Stack, citizen_id: int, headers: dict, **params) -> dict:
    response = await stack.client.get(f"/api/v1/citizens/{citizen_id}/timeline", params=params,
                                      headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _walk(stack: Stack, citizen_id: int, headers: dict, limit: int, **params) -> list[dict]:
    """Every page, following `next`; checks that no page is longer than asked."""
    entries, before = [], None
    for _ in range(500):
        page = await _timeline(stack, citizen_id, headers, limit=limit,
                               **params, **({"before": before} if before else {}))
        assert len(page["entries"]) <= limit
        entries.extend(page["entries"])
        before = page["next"]
        if before is None:
            return entries
        assert page["entries"], "a page with a next cursor must not be empty"
    raise AssertionError("pagination never ended")


def _key(entry: dict) -> tuple:
    return entry["type"], entry["id"]


async def test_one_timeline_holds_every_channel_newest_first(local: Stack) -> None:
    nadia = await _nadia(local)
    headers = await _auth(local, FRONTDESK)  # the front desk may read it, not only supervisors
    page = await _timeline(local, nadia["id"], headers)
    assert (page["citizen_id"], page["requested_id"], page["next"]) == (nadia["id"], nadia["id"], None)
    entries = page["entries"]
    messages = [e for e in entries if e["type"] == "message"]
    inbound = [(e["channel"], e["ticket_reference"]) for e in messages if e["direction"] == "in"]
    # newest first: the SMS (threaded onto one of her tickets), the phone call, the web form
    assert [channel for channel, _ in inbound] == ["sms", "phone", "webform"]
    assert inbound[1:] == [("phone", nadia["phone"]), ("webform", nadia["web"])]
    assert any(e["direction"] == "out" and e["kind"] == "message_out" for e in messages)  # acknowledgements
    phone = next(e for e in messages if e["channel"] == "phone")
    assert phone["actor"]["type"] == "agent" and "nid-de-poule" in phone["text"]
    assert next(e for e in messages if e["channel"] == "webform")["actor"] == {"type": "citizen",
                                                                                "id": nadia["id"]}
    events = [e for e in entries if e["type"] == "ticket_event"]
    assert {e["kind"] for e in events} >= {"created", "assigned"}
    assert {e["ticket_reference"] for e in events} == {nadia["web"], nadia["phone"]}
    # message_in / message_out events repeat the messages: left out
    assert not {e["kind"] for e in events} & {"message_in", "message_out"}
    stamps = [e["at"] for e in entries]
    assert stamps == sorted(stamps, reverse=True)

    only_messages = await _timeline(local, nadia["id"], headers, type="message")
    assert only_messages["entries"] == messages
    events_and_messages = await _timeline(local, nadia["id"], headers, type="ticket_event,message")
    assert events_and_messages["entries"] == entries  # she has no citizen event yet


async def test_pages_meet_exactly_over_rows_of_one_timestamp(local: Stack) -> None:
    nadia = await _nadia(local)
    tie = utcnow().replace(microsecond=123456) - timedelta(minutes=5)
    async with local.session() as session:
        ticket = (await session.exec(select(Ticket).where(Ticket.reference == nadia["web"]))).one()
        session.add_all([Message(ticket_id=ticket.id, citizen_id=nadia["id"], direction="in", channel="email",
                                 text=f"courriel {i}", created_at=tie) for i in range(6)])
        session.add_all([TicketEvent(ticket_id=ticket.id, kind="note", actor_type="agent", reason=f"note {i}",
                                     created_at=tie) for i in range(5)])
        session.add_all([CitizenEvent(citizen_id=nadia["id"], kind="duplicate_suspected",
                                      reason=f"suspect {i}", created_at=tie) for i in range(5)])
        await session.commit()
    headers = await _auth(local)
    everything = (await _timeline(local, nadia["id"], headers, limit=200))["entries"]
    assert len(everything) >= 16 + 10
    tie_at = next(e["at"] for e in everything if e["text"] == "courriel 0")
    tied = [e for e in everything if e["at"] == tie_at]
    # among one timestamp: messages, then ticket events, then citizen events, each by id descending
    assert [e["type"] for e in tied] == ["message"] * 6 + ["ticket_event"] * 5 + ["citizen_event"] * 5
    assert [e["text"] for e in tied[:6]] == [f"courriel {i}" for i in reversed(range(6))]
    for limit in (1, 2, 3, 7):
        walked = await _walk(local, nadia["id"], headers, limit)
        assert [_key(e) for e in walked] == [_key(e) for e in everything], limit
    assert len({_key(e) for e in everything}) == len(everything)
    # the filter and the pages compose
    citizen_events = await _walk(local, nadia["id"], headers, 2, type="citizen_event")
    assert [e["text"] for e in citizen_events] == [f"suspect {i}" for i in reversed(range(5))]


async def test_the_record_shows_contact_points_with_their_verification(local: Stack) -> None:
    nadia = await _nadia(local)
    async with local.session() as session:
        email = (await session.exec(select(ContactPoint).where(ContactPoint.citizen_id == nadia["id"],
                                                              ContactPoint.kind == "email"))).one()
        email.verified = True
        citizen = await session.get(Citizen, nadia["id"])
        citizen.first_name, citizen.last_name, citizen.postcode = "Nadia", "Amrani", "75020"
        await session.commit()
    response = await local.client.get(f"/api/v1/citizens/{nadia['id']}", headers=await _auth(local, FRONTDESK))
    assert response.status_code == 200, response.text
    record = response.json()
    assert (record["id"], record["requested_id"], record["followed_merge"]) == (nadia["id"], nadia["id"], False)
    assert (record["full_name"], record["first_name"], record["last_name"], record["postcode"]) == (
        "Nadia Amrani", "Nadia", "Amrani", "75020")
    assert record["merged_ids"] == [] and record["alternates"] == []
    points = {(p["kind"], p["value"], p["raw_value"], p["verified"]) for p in record["contact_points"]}
    assert points == {("email", "nadia@example.org", "nadia@example.org", True),
                      ("phone", "+33612345678", "06 12 34 56 78", False)}
    assert [t["reference"] for t in record["tickets"]] == [nadia["phone"], nadia["web"]]  # newest first
    assert {t["channel"] for t in record["tickets"]} == {"phone", "webform"}
    assert all(t["status"] in ("new", "open", "pending") for t in record["tickets"])


async def test_the_record_shows_an_sms_stop_on_the_phone_until_start(local: Stack) -> None:
    nadia = await _nadia(local)
    headers = await _auth(local, FRONTDESK)

    async def stopped() -> dict[str, bool]:
        record = (await local.client.get(f"/api/v1/citizens/{nadia['id']}", headers=headers)).json()
        return {p["kind"]: p["opted_out"] for p in record["contact_points"]}

    assert await stopped() == {"email": False, "phone": False}
    await _text(local, "2", " Arrêt ")
    assert await stopped() == {"email": False, "phone": True}
    await _text(local, "3", "START")
    assert await stopped() == {"email": False, "phone": False}


async def test_a_merged_citizen_leads_to_the_survivor(local: Stack) -> None:
    nadia = await _nadia(local)
    async with local.session() as session:  # merges are built elsewhere: a tombstone by hand
        twin = Citizen(full_name="N. Amrani", merged_into_id=nadia["id"])
        session.add(twin)
        await session.flush()
        older = Citizen(full_name="Nadia A.", merged_into_id=twin.id)  # a chain: older -> twin -> nadia
        session.add(older)
        await session.flush()
        session.add(CitizenEvent(citizen_id=twin.id, kind="merged_into", actor_type="agent",
                                 reason="same person", data={"survivor_id": nadia["id"]}))
        await session.commit()
        twin_id, older_id = twin.id, older.id
    headers = await _auth(local)
    for asked in (twin_id, older_id):
        response = await local.client.get(f"/api/v1/citizens/{asked}", headers=headers)
        assert response.status_code == 200, response.text
        record = response.json()
        assert (record["id"], record["requested_id"], record["followed_merge"]) == (nadia["id"], asked, True)
        assert record["full_name"] == "Nadia Amrani" and sorted(record["merged_ids"]) == [twin_id, older_id]
        page = await _timeline(local, asked, headers)
        assert (page["citizen_id"], page["requested_id"]) == (nadia["id"], asked)
        merged = [e for e in page["entries"] if e["type"] == "citizen_event"]
        assert [(e["kind"], e["citizen_id"], e["text"]) for e in merged] == [("merged_into", twin_id, "same person")]
    survivor = await _timeline(local, nadia["id"], headers)
    assert survivor["entries"] == page["entries"]


async def test_bad_cursors_limits_and_types_are_400_never_500(local: Stack) -> None:
    nadia = await _nadia(local)
    headers = await _auth(local)
    url = f"/api/v1/citizens/{nadia['id']}/timeline"
    valid = encode_cursor(Cursor(utcnow(), 1, 3))
    forged = [
        "nonsense!", "abc", valid[:-3], valid + "A", "x" * 300, "%00",
        "MS45OTk5OTk5OTk5OTk5OTk5OTkuMS4x",  # "1.999999999999999999.1.1": beyond year 9999
        "MS4xLjUuMQ",  # rank 5
        "MS4xLjEuOTk5OTk5OTk5OQ",  # an id beyond the INTEGER column
        "Mi4xLjEuMQ",  # version 2
        "77u_MS4xLjEuMQ",  # not ASCII
    ]
    for before in forged:
        response = await local.client.get(url, params={"before": before}, headers=headers)
        assert response.status_code == 400, (before, response.status_code, response.text)
        assert response.json()["code"] == "invalid_input", response.text
    assert (await local.client.get(url, params={"before": valid}, headers=headers)).status_code == 200
    for params in ({"limit": 0}, {"limit": 201}, {"limit": "many"}, {"type": "message,letters"}):
        response = await local.client.get(url, params=params, headers=headers)
        assert response.status_code == 400, (params, response.text)


async def test_unknown_citizen_404_no_token_401_and_search_still_routes(local: Stack) -> None:
    nadia = await _nadia(local)
    headers = await _auth(local)
    for path in ("/api/v1/citizens/999999", "/api/v1/citizens/999999/timeline"):
        response = await local.client.get(path, headers=headers)
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
    for path in (f"/api/v1/citizens/{nadia['id']}", f"/api/v1/citizens/{nadia['id']}/timeline"):
        assert (await local.client.get(path)).status_code == 401
        forged = await local.client.get(path, headers={"Authorization": "Bearer gch_forged"})
        assert forged.status_code == 401
    found = await local.client.get("/api/v1/citizens/search", params={"q": "amrani"}, headers=headers)
    assert found.status_code == 200 and found.json()["results"][0]["id"] == nadia["id"]


async def test_every_read_is_recorded(local: Stack) -> None:
    nadia = await _nadia(local)
    async with local.session() as session:
        twin = Citizen(full_name="N. Amrani", merged_into_id=nadia["id"])
        session.add(twin)
        await session.commit()
        twin_id = twin.id
    headers = await _auth(local, FRONTDESK)
    await local.client.get(f"/api/v1/citizens/{twin_id}", headers=headers)
    await _timeline(local, nadia["id"], headers, limit=2)
    async with local.session() as session:
        records = (await session.exec(select(AccessRecord).where(
            col(AccessRecord.action).in_(["view", "view_timeline"])).order_by(col(AccessRecord.id)))).all()
    assert [(r.action, r.subject_type, r.subject_id) for r in records] == [
        ("view", "citizen", nadia["id"]), ("view_timeline", "citizen", nadia["id"])]
    assert len({r.agent_id for r in records}) == 1 and records[0].agent_id is not None
