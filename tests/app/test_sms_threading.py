"""SMS threading, rule by rule, through the webhook (unsigned posts allowed: local mode)."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from crm.columns import utcnow
from crm.models import InboundEvent, Message, Ticket
from crm.threading import short_reference
from tests.conftest import Stack

PHONE = "+33612345678"


async def text(stack: Stack, body: str, sender: str = PHONE) -> dict:
    """Send one SMS, run the pipeline; the ticket it landed on, and how it got there."""
    sid = f"SM{abs(hash((body, sender, utcnow().timestamp()))):032d}"[:34]
    response = await stack.client.post("/webhooks/twilio/sms", content=urlencode(
        {"MessageSid": sid, "From": sender, "To": "+33198765432", "Body": body, "NumMedia": "0"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    await stack.drain()
    async with stack.session() as session:
        event = (await session.exec(select(InboundEvent).where(InboundEvent.external_id == sid))).one()
        reference = (await session.get(Ticket, event.ticket_id)).reference
    ticket = await stack.ticket(reference)
    received = [e for e in ticket["timeline"] if e["kind"] == "message_in"][-1]
    return {"reference": reference, "reason": received["reason"], "data": received["data"], "ticket": ticket}


async def test_a_first_sms_opens_a_ticket_and_a_reply_to_our_sms_joins_it(local: Stack) -> None:
    first = await text(local, "Bonjour, le lampadaire de ma rue est en panne.")
    assert first["reason"] == "first message of a new ticket"
    created = next(e for e in first["ticket"]["timeline"] if e["kind"] == "created")
    assert "no reference, no recent SMS of ours" in created["reason"]
    # We acknowledged by SMS (held in the outbox: no Twilio here); the citizen answers it.
    second = await text(local, "Merci ! C'est au numéro 12.")
    assert second["reference"] == first["reference"]
    assert second["reason"].startswith("answers our SMS of") and first["reference"] in second["reason"]


async def test_our_sms_too_long_ago_no_longer_decides(local: Stack) -> None:
    first = await text(local, "Question sur la cantine")
    async with local.session() as session:
        for message in (await session.exec(select(Message).where(Message.direction == "out"))).all():
            message.created_at = utcnow() - timedelta(days=8)
        await session.commit()
    later = await text(local, "Et pour le périscolaire ?")
    # Still the citizen's only open ticket (rule 3), but not because of our old SMS.
    assert later["reference"] == first["reference"] and later["reason"] == "the citizen's only open ticket"


async def test_references_and_several_open_tickets(local: Stack) -> None:
    older = await local.post_request(email="hind@example.org", phone="06 12 34 56 78", message="Première")
    await local.drain()  # one after the other: "most recently active" must mean `newer`
    newer = await local.post_request(email="hind@example.org", phone="0612345678", message="Seconde")
    stranger = await local.post_request(email="eve@example.org", phone="0699999999", message="Autre")
    await local.drain()

    unsure = await text(local, "Je viens de vous envoyer le document.")
    assert unsure["reference"] == newer["reference"]  # the most recently active one…
    assert "which request?" in unsure["reason"] and older["reference"] in unsure["reason"]
    assert len(unsure["data"]["which_request"]) == 1  # …flagged, with the other to choose from

    by_short = await text(local, f"C'est pour le dossier {short_reference(older['reference'])} svp")
    assert by_short["reference"] == older["reference"] and "reference" in by_short["reason"]
    by_full = await text(local, f"Réf {newer['reference'].lower()}")
    assert by_full["reference"] == newer["reference"]
    # Someone else's reference decides nothing: it is not this number's ticket.
    theirs = await text(local, f"Dossier {stranger['reference']}")
    assert theirs["reference"] != stranger["reference"]


@pytest.mark.parametrize("stop, start", [("STOP", "START"), ("  arrêt. ", "unstop"), ("Unsubscribe", "Start!")])
async def test_stop_and_start_change_the_number_s_consent_without_a_ticket(
        local: Stack, stop: str, start: str) -> None:
    from crm.models import OptOut

    first = await text(local, "Bonjour, une question sur les encombrants.")
    assert await _stop_via(local, stop) == "keyword stop"
    citizen = (await local.ticket(first["reference"]))["citizen"]
    assert [(p["value"], p["opted_out"]) for p in citizen["contact_points"]] == [(PHONE, True)]
    async with local.session() as session:
        [row] = (await session.exec(select(OptOut))).all()
        assert (row.channel, row.address, row.lifted_at) == ("sms", PHONE, None)
        assert len((await session.exec(select(Ticket))).all()) == 1  # no ticket for "STOP"
    assert await _stop_via(local, start) == "keyword start"
    citizen = (await local.ticket(first["reference"]))["citizen"]
    assert [(p["value"], p["opted_out"]) for p in citizen["contact_points"]] == [(PHONE, False)]
    # A sentence that merely contains the word is a message, not a keyword.
    later = await text(local, "Merci de ne pas stop le ramassage")
    assert later["reference"] == first["reference"]


async def _stop_via(stack: Stack, body: str) -> str:
    """Send a keyword; what the pipeline made of its raw event."""
    sid = f"SM{abs(hash((body, utcnow().timestamp()))):032d}"[:34]
    await stack.client.post("/webhooks/twilio/sms", content=urlencode(
        {"MessageSid": sid, "From": "06 12 34 56 78", "To": "+33198765432", "Body": body, "NumMedia": "0"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    await stack.drain()
    async with stack.session() as session:
        event = (await session.exec(select(InboundEvent).where(InboundEvent.external_id == sid))).one()
    assert event.status == "processed" and event.ticket_id is None
    return "keyword stop" if await _opted(stack) else "keyword start"


async def _opted(stack: Stack) -> bool:
    from crm.opt_outs import opted_out

    async with stack.session() as session:
        return PHONE in await opted_out(session, "sms", [PHONE])
