"""SMS leave through the real twilio SDK, talking to a local stand-in for Twilio's REST API.

What is real: the twilio SDK (its Client and HTTP client), an HTTP server on 127.0.0.1 that
answers as Twilio documents (tests/twilio_server.py), signatures from the SDK's
RequestValidator, the app, its database and its queue (in process on SQLite, arq on
PostgreSQL + Redis). The tests check what reaches Twilio, what the ticket's timeline says
and that nothing is sent twice.
"""
from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode

import pytest
from sqlmodel import col, select
from twilio.request_validator import RequestValidator

from app.settings import Settings
from crm.models import InboundEvent, Ticket
from crm.threading import short_reference
from replies.models import Delivery
from tests.conftest import Stack, running
from tests.smtp_server import free_port
from tests.twilio_server import TwilioStandIn, twilio_server

ACCOUNT = "AC" + "5" * 32
TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC = "https://guichet.ville.example"
OURS = "+33198765432"
PHONE = "+33612345678"


@asynccontextmanager
async def texting(settings: Settings, **overrides) -> AsyncIterator[tuple[Stack, TwilioStandIn]]:
    """The app with Twilio configured against the stand-in, start-up sweep done."""
    with twilio_server(ACCOUNT, TOKEN) as twilio:
        async with running(settings.model_copy(update={
                "twilio_account_sid": ACCOUNT, "twilio_auth_token": TOKEN, "twilio_from": OURS,
                "twilio_api_base_url": twilio.base_url, "public_url": PUBLIC, **overrides})) as stack:
            await stack.drain()
            yield stack, twilio


def signed(path: str, params: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(PUBLIC + path, params),
            "Content-Type": "application/x-www-form-urlencoded"}


async def text_in(stack: Stack, body: str, sender: str = PHONE, **extra: str) -> InboundEvent:
    """A citizen's SMS through the signed webhook, the pipeline run; its raw event."""
    sid = "SM" + secrets.token_hex(16)
    params = {"MessageSid": sid, "AccountSid": ACCOUNT, "From": sender, "To": OURS, "Body": body,
              "NumMedia": "0", **extra}
    response = await stack.client.post("/webhooks/twilio/sms", content=urlencode(params),
                                       headers=signed("/webhooks/twilio/sms", params))
    assert response.status_code == 200
    await stack.drain()
    async with stack.session() as session:
        return (await session.exec(select(InboundEvent).where(InboundEvent.external_id == sid))).one()


async def status(stack: Stack, sid: str, state: str, error_code: str | None = None) -> int:
    """Twilio's signed StatusCallback for one of our messages."""
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT, "From": OURS, "To": PHONE,
              "MessageStatus": state, "SmsStatus": state, "ApiVersion": "2010-04-01",
              **({"ErrorCode": error_code} if error_code else {})}
    response = await stack.client.post("/webhooks/twilio/status", content=urlencode(params),
                                       headers=signed("/webhooks/twilio/status", params))
    return response.status_code


async def deliveries(stack: Stack) -> list[Delivery]:
    async with stack.session() as session:
        return list((await session.exec(select(Delivery).order_by(col(Delivery.id)))).all())


async def delivery_events(stack: Stack, ticket_id: int) -> list[dict]:
    async with stack.session() as session:
        reference = (await session.get(Ticket, ticket_id)).reference
    return [e["data"] | {"reason": e["reason"]} for e in (await stack.ticket(reference))["timeline"]
            if e["kind"] == "delivery"]


async def test_the_acknowledgement_is_texted_once_with_a_status_callback(seeded: Settings) -> None:
    async with texting(seeded) as (stack, twilio):
        event = await text_in(stack, "Bonjour, le lampadaire de ma rue est en panne.")
        [request] = twilio.requests
        async with stack.session() as session:
            reference = (await session.get(Ticket, event.ticket_id)).reference
        assert request.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
        assert request.auth == (ACCOUNT, TOKEN)
        assert request.form["To"] == PHONE and request.form["From"] == OURS
        assert request.form["StatusCallback"] == PUBLIC + "/webhooks/twilio/status"
        # The short reference, which threads the citizen's reply (rule 1).
        assert f"réf. {short_reference(reference)}." in request.form["Body"]
        assert request.form["Body"].startswith("Mairie de Test : demande enregistrée")
        [delivery] = await deliveries(stack)
        assert delivery.state == "sent" and delivery.attempts == 1
        assert delivery.provider_id and delivery.provider_id.startswith("SM")
        assert (delivery.encoding, delivery.segments) == ("GSM-7", 1)

        # Nothing more, whatever asks again: another drain, a duplicate job.
        await stack.app.state.queue.enqueue("send_delivery", delivery.id, job_id="again")
        await stack.drain()
        assert len(twilio.requests) == 1
        events = await delivery_events(stack, event.ticket_id)
        assert [e["state"] for e in events] == ["sent"]
        assert events[0]["segments"] == 1 and events[0]["encoding"] == "GSM-7"

        # The citizen quotes it back: threaded by the reference (rule 1), before any other rule.
        reply = await text_in(stack, f"Merci, c'est pour le {short_reference(reference)}")
        assert reply.ticket_id == event.ticket_id
        received = [e for e in (await stack.ticket(reference))["timeline"] if e["kind"] == "message_in"]
        assert received[-1]["reason"] == f"reference {reference} in the SMS, from this citizen"


@pytest.mark.parametrize("order, final", [
    (["queued", "sending", "sent", "delivered"], "delivered"),
    (["delivered", "sent", "queued"], "delivered"),  # a late "sent" never downgrades
    (["sent", "delivered", "sent", "delivered"], "delivered"),  # repeats change nothing
    (["queued", "undelivered"], "undelivered"),
    (["failed", "sent"], "failed"),
])
async def test_status_callbacks_in_any_order_end_in_the_right_state(
        seeded: Settings, order: list[str], final: str) -> None:
    async with texting(seeded) as (stack, twilio):
        event = await text_in(stack, "Une question sur la cantine")
        [delivery] = await deliveries(stack)
        code = "30003" if final in {"undelivered", "failed"} else None
        for state in order:
            assert await status(stack, delivery.provider_id, state,
                                code if state == final else None) == 200
        [delivery] = await deliveries(stack)
        assert delivery.state == final
        assert delivery.error_code == code
        events = await delivery_events(stack, event.ticket_id)
        assert events[-1]["state"] == final and events[-1].get("error_code") == code
        if code:
            assert "error 30003" in events[-1]["reason"]
        # Each status is on the timeline once, in the order it was first heard, never backwards.
        heard = [e["provider_status"] for e in events if "provider_status" in e]
        assert heard == sorted(set(heard), key=heard.index) and heard[-1] == final
        assert len(twilio.requests) == 1


async def test_status_callbacks_for_unknown_messages_or_unsigned_change_nothing(seeded: Settings) -> None:
    async with texting(seeded) as (stack, _):
        await text_in(stack, "Bonjour")
        [delivery] = await deliveries(stack)
        assert await status(stack, "SM" + "0" * 32, "delivered") == 200  # not ours: 200, ignored
        params = {"MessageSid": delivery.provider_id, "MessageStatus": "failed", "ErrorCode": "30007"}
        forged = await stack.client.post("/webhooks/twilio/status", content=urlencode(params), headers={
            "X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl", "Content-Type": "application/x-www-form-urlencoded"})
        assert forged.status_code == 403
        [after] = await deliveries(stack)
        assert (after.state, after.provider_status, after.error_code) == ("sent", None, None)


@pytest.mark.parametrize("errors, attempts", [([20429], 2), ([20500, 20500], 3)])
async def test_throttled_or_server_errors_are_retried_and_sent_once(
        seeded: Settings, errors: list[int], attempts: int) -> None:
    async with texting(seeded) as (stack, twilio):
        twilio.fail_next(*errors)
        event = await text_in(stack, "Bonjour, pour un acte de naissance")
        await stack.drain()  # waits for the deferred retries
        assert [r.status for r in twilio.requests] == [*(429 if e == 20429 else 500 for e in errors), 201]
        assert len(twilio.accepted) == 1
        [delivery] = await deliveries(stack)
        assert delivery.state == "sent" and delivery.attempts == attempts
        assert [e["state"] for e in await delivery_events(stack, event.ticket_id)] == ["sent"]
        await stack.drain()
        assert len(twilio.requests) == attempts


@pytest.mark.parametrize("code", [21610, 21211, 21614])
async def test_permanent_errors_fail_with_the_code_and_are_not_retried(seeded: Settings, code: int) -> None:
    async with texting(seeded) as (stack, twilio):
        twilio.fail_next(code)
        event = await text_in(stack, "Bonjour")
        await stack.drain()
        assert len(twilio.requests) == 1 and twilio.accepted == []
        [delivery] = await deliveries(stack)
        assert (delivery.state, delivery.error_code, delivery.attempts) == ("failed", str(code), 1)
        [failed] = await delivery_events(stack, event.ticket_id)
        assert failed["state"] == "failed" and failed["error_code"] == str(code)
        assert f"error {code}" in failed["error"]


async def test_twilio_unreachable_is_retried_then_a_dead_letter(seeded: Settings) -> None:
    """No connection made: nothing can have been sent, so it is retried; after the last try,
    a dead letter."""
    async with running(seeded.model_copy(update={
            "twilio_account_sid": ACCOUNT, "twilio_auth_token": TOKEN, "twilio_from": OURS,
            "twilio_api_base_url": f"http://127.0.0.1:{free_port()}", "public_url": PUBLIC,
            "send_max_attempts": 2})) as stack:
        await stack.drain()
        event = await text_in(stack, "Bonjour")
        await stack.drain()
        [delivery] = await deliveries(stack)
        assert (delivery.state, delivery.attempts) == ("failed", 2)
        assert "Twilio unreachable" in delivery.last_error
        [dead] = await delivery_events(stack, event.ticket_id)
        assert dead["reason"].startswith("dead letter")


async def test_stop_blocks_the_next_sms_and_start_lifts_it(seeded: Settings) -> None:
    async with texting(seeded) as (stack, twilio):
        stop = await text_in(stack, "STOP")
        assert stop.ticket_id is None
        # The STOP is confirmed: the one message an opt-out lets through.
        [confirmation] = twilio.requests
        assert confirmation.form["To"] == PHONE
        assert confirmation.form["Body"].startswith("Mairie de Test : vous ne recevrez plus nos SMS")
        blocked = await stack.post_request(email=None, phone="06 12 34 56 78", message="Une demande")
        await stack.drain()
        assert len(twilio.requests) == 1  # nothing more reached Twilio
        [_, delivery] = await deliveries(stack)
        assert delivery.state == "blocked" and delivery.to == PHONE
        ticket = await stack.ticket(blocked["reference"])
        [event] = [e for e in ticket["timeline"] if e["kind"] == "delivery"]
        assert event["data"]["state"] == "blocked" and "opted out" in event["reason"]
        await stack.drain()
        assert len(twilio.requests) == 1

        await text_in(stack, "Start")
        allowed = await stack.post_request(email=None, phone="0612345678", message="Une autre demande")
        await stack.drain()
        [_, request] = twilio.requests
        assert request.form["To"] == PHONE
        assert short_reference(allowed["reference"]) in request.form["Body"]


async def test_help_is_answered_with_the_help_template_and_opens_no_ticket(seeded: Settings) -> None:
    async with texting(seeded) as (stack, twilio):
        event = await text_in(stack, " Aide ")
        assert event.status == "processed" and event.ticket_id is None
        async with stack.session() as session:
            assert (await session.exec(select(Ticket))).all() == []
        [request] = twilio.requests
        assert request.form["To"] == PHONE
        body = request.form["Body"]
        assert body.startswith("Mairie de Test : écrivez-nous ici votre demande")
        assert PUBLIC + "/request" in body and "STOP" in body
        [delivery] = await deliveries(stack)
        assert (delivery.state, delivery.ticket_id) == ("sent", None)
        assert len(body) <= 160 and (delivery.encoding, delivery.segments) == ("GSM-7", 1)
        # Its status callbacks are applied too, with no ticket to write on.
        assert await status(stack, delivery.provider_id, "delivered") == 200
        assert (await deliveries(stack))[0].state == "delivered"
        # "help" inside a sentence is a message like any other.
        other = await text_in(stack, "help me with my parking permit")
        assert other.ticket_id is not None


async def _queue_sms(stack: Stack, ticket_id: int, text: str, key: str) -> int:
    """Another SMS on the ticket, queued through replies' own function and not yet sent."""
    from replies.outbox import queue_delivery
    from replies.templates import Rendered

    async with stack.session() as session:
        ticket = await session.get(Ticket, ticket_id)
        delivery, _ = await queue_delivery(session, ticket, channel="sms", to=PHONE, dedupe_key=key,
                                           rendered=Rendered("", text, None, "fr"), reason="test")
        await session.commit()
        return delivery.id


async def test_two_runs_of_one_send_at_once_send_one_sms(seeded: Settings) -> None:
    """The claim (queued -> sending, committed before the call) lets one run through."""
    import asyncio

    from app.jobs.context import build_job_context
    from app.jobs.send import send_delivery
    from tests.replies.test_smtp_delivery import NoQueue

    async with texting(seeded) as (stack, twilio):
        event = await text_in(stack, "Bonjour")
        delivery_id = await _queue_sms(stack, event.ticket_id, "Votre acte est prêt à la mairie.", "t:1")
        ctx = build_job_context(stack.settings, stack.app.state.engine, NoQueue())
        results = await asyncio.gather(send_delivery(ctx, delivery_id), send_delivery(ctx, delivery_id))
        assert sorted(results) == ["nothing to send", "sent"]
        assert [r.form["Body"] for r in twilio.requests][1:] == ["Votre acte est prêt à la mairie."]
        delivery = next(d for d in await deliveries(stack) if d.id == delivery_id)
        assert (delivery.state, delivery.attempts, delivery.encoding, delivery.segments) == ("sent", 1, "UCS-2", 1)


async def test_a_send_cut_off_midway_is_not_sent_again(seeded: Settings) -> None:
    """A worker that died during the call may have reached Twilio: failed for a person to check,
    never sent a second time by the sweep."""
    from datetime import timedelta

    from crm.columns import utcnow

    async with texting(seeded) as (stack, twilio):
        event = await text_in(stack, "Bonjour")
        delivery_id = await _queue_sms(stack, event.ticket_id, "Rendez-vous confirmé.", "t:2")
        async with stack.session() as session:
            delivery = await session.get(Delivery, delivery_id)
            delivery.state, delivery.attempts = "sending", 1
            delivery.updated_at = utcnow() - timedelta(minutes=10)
            await session.commit()
        await stack.app.state.queue.enqueue("sweep", 0, job_id="sweep:test")
        await stack.drain()
        assert len(twilio.requests) == 1  # the acknowledgement only
        events = await delivery_events(stack, event.ticket_id)
        assert events[-1]["delivery_id"] == delivery_id and events[-1]["state"] == "failed"
        assert events[-1]["reason"].startswith("outcome unknown")


@pytest.mark.parametrize("state, code, proposed", [
    ("undelivered", "30006", "phone"),  # a landline: texts never arrive, a call back can
    ("failed", "30005", None),  # the number does not exist: no call back either
    ("undelivered", "21610", "phone"),  # a STOP at the carrier: recorded as one
])
async def test_a_late_permanent_failure_proposes_the_next_channel(
        seeded: Settings, state: str, code: str, proposed: str | None) -> None:
    """Twilio accepted the SMS, then its status callback says it never arrived, for a reason
    that is about the number: the same fallback as a refusal at once."""
    async with texting(seeded) as (stack, twilio):
        event = await text_in(stack, "Bonjour, une question sur la cantine")
        [delivery] = await deliveries(stack)
        assert delivery.state == "sent"
        assert await status(stack, delivery.provider_id, "sent") == 200
        assert await status(stack, delivery.provider_id, state, code) == 200
        [delivery] = await deliveries(stack)
        assert (delivery.state, delivery.error_code) == (state, code)
        async with stack.session() as session:
            reference = (await session.get(Ticket, event.ticket_id)).reference
        ticket = await stack.ticket(reference)
        [note] = [e for e in ticket["timeline"] if e["data"].get("fallback")]
        assert note["data"]["failed_channel"] == "sms" and note["data"]["delivery_id"] == delivery.id
        assert note["data"]["proposed_channel"] == proposed
        assert f"provider error {code}" in note["reason"]
        # A repeat of the callback proposes nothing more.
        assert await status(stack, delivery.provider_id, state, code) == 200
        ticket = await stack.ticket(reference)
        assert len([e for e in ticket["timeline"] if e["data"].get("fallback")]) == 1
        headers = {"Authorization": f"Bearer {await stack.token()}"}
        fallback = (await stack.client.get(f"/api/v1/tickets/{reference}/replies/fallback",
                                           headers=headers)).json()
        assert fallback["last_failure"]["delivery_id"] == delivery.id
        assert (fallback["proposed"] or {}).get("channel") == proposed
        sms = next(c for c in fallback["channels"] if c["channel"] == "sms")
        assert sms["reachable"] is False
        if code == "21610":
            assert "opted out" in sms["why"]
        assert len(twilio.requests) == 1


async def test_a_late_failure_about_the_message_not_the_number_proposes_nothing(seeded: Settings) -> None:
    async with texting(seeded) as (stack, _):
        event = await text_in(stack, "Bonjour")
        [delivery] = await deliveries(stack)
        assert await status(stack, delivery.provider_id, "undelivered", "30007") == 200  # carrier filtering
        async with stack.session() as session:
            reference = (await session.get(Ticket, event.ticket_id)).reference
        ticket = await stack.ticket(reference)
        assert not [e for e in ticket["timeline"] if e["data"].get("fallback")]
        headers = {"Authorization": f"Bearer {await stack.token()}"}
        fallback = (await stack.client.get(f"/api/v1/tickets/{reference}/replies/fallback",
                                           headers=headers)).json()
        assert fallback["proposed"]["channel"] == "sms" and fallback["last_failure"] is None
