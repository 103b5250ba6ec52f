"""Every inbound message and front-desk contact is identified by the resolver: a sure match
joins the citizen's record, a doubt creates the person and asks an agent (duplicates queue)."""
from __future__ import annotations

from pathlib import Path

from tests.app.test_contacts_api import FRONTDESK, log_contact
from tests.channels.test_email_threading import ingest, mail
from tests.conftest import Stack

WALK_IN = {"channel": "counter", "full_name": "Nadia Bennani", "phone": "06 11 22 33 44",
           "address": "12 rue des Lilas", "postcode": "75020", "city": "Paris", "category": "etat_civil",
           "subject": "Acte de naissance", "note": "Copie intégrale.", "reply_channel": "sms"}


async def test_a_namesake_at_the_same_address_is_filed_for_review_not_merged(stack: Stack) -> None:
    first = await log_contact(stack, WALK_IN)
    # The same name at the same address, another phone: a daughter named after her mother, or the
    # same woman with a new number. The resolver cannot tell: a new record and a question.
    second = await log_contact(stack, WALK_IN | {"phone": "07 55 44 33 22"})
    await stack.drain()
    one, two = await stack.ticket(first["reference"]), await stack.ticket(second["reference"])
    assert one["citizen"]["id"] != two["citizen"]["id"]

    headers = {"Authorization": f"Bearer {await stack.token()}"}
    pairs = (await stack.client.get("/api/v1/duplicates", headers=headers)).json()["pairs"]
    assert len(pairs) == 1
    pair = pairs[0]
    assert {pair["a"]["id"], pair["b"]["id"]} == {one["citizen"]["id"], two["citizen"]["id"]}
    assert 0.5 <= pair["score"] < 0.9 and "same address" in pair["reasons"]
    timeline = (await stack.client.get(f"/api/v1/citizens/{two['citizen']['id']}/timeline",
                                       headers=headers)).json()
    assert "duplicate_suspected" in {entry["kind"] for entry in timeline["entries"]}


async def test_the_same_person_written_another_way_joins_their_record(stack: Stack) -> None:
    first = await log_contact(stack, WALK_IN)
    # Transliterated name, the phone written the international way: one person.
    second = await log_contact(stack, WALK_IN | {"full_name": "Nadia BENANI", "phone": "+33 6 11 22 33 44"},
                               agent=FRONTDESK)
    await stack.drain()
    one, two = await stack.ticket(first["reference"]), await stack.ticket(second["reference"])
    assert one["citizen"]["id"] == two["citizen"]["id"]
    headers = {"Authorization": f"Bearer {await stack.token()}"}
    assert (await stack.client.get("/api/v1/duplicates", headers=headers)).json()["pairs"] == []


async def test_a_citizen_signing_emails_with_a_first_name_alone_stays_one_person(stack: Stack, tmp_path: Path) -> None:
    """Bug: a display name of one word ("Karim") and the same address scored 0.5 against the
    record it made: every new email from him made another citizen and a pair to review."""
    rows = ingest(stack, *(mail(tmp_path, f"k{n}", sender="Karim <karim.a@example.org>", subject=subject,
                                body="Bonjour,\nmerci.") for n, subject in enumerate(("Carte grise", "Stationnement"))))
    await stack.drain()
    first, second = [await stack.ticket(row["reference"]) for row in rows]
    assert first["reference"] != second["reference"]
    assert first["citizen"]["id"] == second["citizen"]["id"]
    headers = {"Authorization": f"Bearer {await stack.token()}"}
    assert (await stack.client.get("/api/v1/duplicates", headers=headers)).json()["pairs"] == []
