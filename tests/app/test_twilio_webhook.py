"""Twilio's SMS webhook through HTTP: real signatures from the twilio SDK's RequestValidator."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import asyncpg
import pytest
from sqlmodel import func, select
from twilio.request_validator import RequestValidator

from app.settings import Settings
from crm.models import InboundEvent
from tests.conftest import BACKENDS, Stack, running, seed

TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC = "https://guichet.ville.example"
PATH = "/webhooks/twilio/sms"


def sms(sid: str, body: str = "Bonjour, où en est ma demande ?", sender: str = "+33612345678") -> dict[str, str]:
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender,
            "To": "+33198765432", "Body": body, "NumMedia": "0", "FromCountry": "FR"}


def signed(params: dict[str, str], url: str = PUBLIC + PATH, token: str = TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params),
            "Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def sms_stack(settings: Settings) -> AsyncIterator[Stack]:
    await seed(settings.database_url)
    async with running(settings.model_copy(update={"twilio_auth_token": TOKEN, "public_url": PUBLIC})) as stack:
        await stack.drain()
        yield stack


async def _events(stack: Stack) -> int:
    async with stack.session() as session:
        return (await session.exec(select(func.count()).select_from(InboundEvent))).one()


async def test_a_signed_sms_becomes_a_ticket_once(sms_stack: Stack) -> None:
    params = sms("SM" + "a" * 32)
    response = await sms_stack.client.post(PATH, content=urlencode(params), headers=signed(params))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text.endswith("<Response></Response>")
    again = await sms_stack.client.post(PATH, content=urlencode(params), headers=signed(params))
    assert again.status_code == 200  # Twilio retries: answered the same, stored once
    await sms_stack.drain()
    assert await _events(sms_stack) == 1
    async with sms_stack.session() as session:
        event = (await session.exec(select(InboundEvent))).one()
    assert event.status == "processed"
    ticket = await sms_stack.ticket(await _reference(sms_stack, event.ticket_id))
    assert ticket["messages"][0]["channel"] == "sms"
    assert ticket["messages"][0]["text"] == "Bonjour, où en est ma demande ?"
    assert [p["value"] for p in ticket["citizen"]["contact_points"]] == ["+33612345678"]


async def _reference(stack: Stack, ticket_id: int) -> str:
    from crm.models import Ticket

    async with stack.session() as session:
        return (await session.get(Ticket, ticket_id)).reference


@pytest.mark.parametrize("case", ["forged", "missing", "wrong-url", "other-token", "tampered"])
async def test_unsigned_or_forged_posts_are_refused_and_nothing_is_stored(sms_stack: Stack, case: str) -> None:
    params = sms("SM" + "b" * 32)
    headers = {
        "forged": {**signed(params), "X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
        "missing": {"Content-Type": "application/x-www-form-urlencoded"},
        "wrong-url": signed(params, url="http://localhost:8000" + PATH),
        "other-token": signed(params, token="someone-else"),
        "tampered": signed(params),
    }[case]
    body = {**params, "Body": "Virement urgent"} if case == "tampered" else params
    response = await sms_stack.client.post(PATH, content=urlencode(body), headers=headers)
    assert response.status_code == 403
    assert await _events(sms_stack) == 0


async def test_without_a_token_the_webhook_does_not_exist_unless_unsigned_is_allowed(stack: Stack) -> None:
    params = sms("SM" + "c" * 32)
    off = await stack.client.post(PATH, content=urlencode(params),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert off.status_code == 404
    async with running(stack.settings.model_copy(update={"twilio_allow_unsigned": True})) as local:
        on = await local.client.post(PATH, content=urlencode(params),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert on.status_code == 200
    assert await _events(stack) == 1


async def test_a_signed_post_without_message_sid_is_a_clear_400(sms_stack: Stack) -> None:
    params = {"From": "+33612345678", "Body": "x"}
    response = await sms_stack.client.post(PATH, content=urlencode(params), headers=signed(params))
    assert response.status_code == 400 and "MessageSid" in response.text
    assert await _events(sms_stack) == 0


# PostgreSQL only: SQLite has no server to drop a connection (under CI=true PostgreSQL is there).
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgres"], indirect=True)
async def test_a_database_connection_dropped_under_the_webhook_is_retried_and_the_sms_kept(
        sms_stack: Stack) -> None:
    """The webhook's pool skips the pre-ping (a round trip per post): a connection the server
    drops while the insert runs (a restart, a failover, a proxy's timeout) must cost a retry,
    not Twilio a 500. The insert is held on a row lock so that it is dropped mid-statement."""
    params = sms("SM" + "e" * 32)
    dsn = sms_stack.settings.database_url.replace("+asyncpg", "")
    holder, admin = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        holding = holder.transaction()
        await holding.start()  # an uncommitted row with the same MessageSid: the webhook's insert waits
        await holder.execute("INSERT INTO inbound_event (channel, external_id, payload, status, attempts, "
                             "received_at) VALUES ('sms', $1, '', 'pending', 0, now())", params["MessageSid"])
        post = asyncio.create_task(sms_stack.client.post(PATH, content=urlencode(params), headers=signed(params)))
        waiting = None
        for _ in range(200):
            waiting = await admin.fetchval("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND wait_event_type = 'Lock'")
            if waiting:
                break
            await asyncio.sleep(0.05)
        assert waiting, "the webhook's insert never waited on the row lock"
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", waiting)
        await holding.rollback()
        response = await post
    finally:
        await holder.close()
        await admin.close()
    assert response.status_code == 200, response.text
    async with sms_stack.session() as session:
        event = (await session.exec(select(InboundEvent))).one()
    assert event.external_id == params["MessageSid"] and event.payload == urlencode(params).encode()


async def test_concurrent_posts_with_repeated_sids_are_each_answered_and_stored_once(sms_stack: Stack) -> None:
    """The webhook groups concurrent posts into one insert (group commit): 60 posts at once, 20
    MessageSids each posted three times (Twilio retrying slow answers) — every post 200, one
    event per MessageSid, each processed once."""
    sids = [f"SM{i:032d}" for i in range(20)]
    posts = [sms(sid, body=f"Demande {sid[-2:]}", sender=f"+336123456{int(sid[-2:]):02d}") for sid in sids * 3]
    responses = await asyncio.wait_for(asyncio.gather(*(
        sms_stack.client.post(PATH, content=urlencode(params), headers=signed(params)) for params in posts)), 60)
    assert [response.status_code for response in responses] == [200] * len(posts)
    await sms_stack.drain()
    async with sms_stack.session() as session:
        events = (await session.exec(select(InboundEvent))).all()
    assert sorted(event.external_id for event in events) == sorted(sids)
    assert {event.status for event in events} == {"processed"}
    assert len({event.ticket_id for event in events}) == len(sids)


_REFUSE = {
    "sqlite": ["CREATE TRIGGER refuse_sms BEFORE INSERT ON inbound_event "
               "BEGIN SELECT RAISE(ABORT, 'disk full'); END"],
    "postgres": ["CREATE FUNCTION refuse_sms() RETURNS trigger LANGUAGE plpgsql AS "
                 "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
                 "CREATE TRIGGER refuse_sms BEFORE INSERT ON inbound_event FOR EACH ROW EXECUTE FUNCTION refuse_sms()"],
}


async def _execute(stack: Stack, statements: list[str]) -> None:
    from sqlalchemy import text

    async with stack.session() as session:
        for statement in statements:
            await session.exec(text(statement))  # type: ignore[call-overload]
        await session.commit()


async def test_a_database_failure_answers_every_waiting_post_503_and_a_retry_stores_them(
        sms_stack: Stack, backend: str) -> None:
    """The database refuses the inserts (a trigger raising, as a full disk would): every post
    waiting on the batch gets a 503 (Twilio may retry), none a 200 and none is left hanging,
    nothing is stored; once the database is back, the same posts are stored, once each."""
    posts = [sms(f"SM{i:032x}") for i in range(25)]

    async def post_all() -> list[int]:
        responses = await asyncio.wait_for(asyncio.gather(*(
            sms_stack.client.post(PATH, content=urlencode(params), headers=signed(params)) for params in posts)), 60)
        return [response.status_code for response in responses]

    await _execute(sms_stack, _REFUSE[backend])
    assert await post_all() == [503] * len(posts)
    assert await _events(sms_stack) == 0
    await _execute(sms_stack, ["DROP TRIGGER refuse_sms" + (" ON inbound_event" if backend == "postgres" else "")])
    assert await post_all() == [200] * len(posts)
    await sms_stack.drain()
    async with sms_stack.session() as session:
        events = (await session.exec(select(InboundEvent))).all()
    assert sorted(event.external_id for event in events) == sorted(params["MessageSid"] for params in posts)
    assert {event.status for event in events} == {"processed"}


@pytest.mark.parametrize("url", [PUBLIC + PATH, "https://guichet.ville.example:443" + PATH])
async def test_a_signature_of_the_url_with_or_without_its_port_is_accepted(sms_stack: Stack, url: str) -> None:
    """Twilio signs the URL it called with or without the port (its SDK accepts either); the
    webhook tries the form without first and the other only when that fails."""
    params = sms("SM" + "f" * 32)
    response = await sms_stack.client.post(PATH, content=urlencode(params), headers=signed(params, url=url))
    assert response.status_code == 200
    assert await _events(sms_stack) == 1


async def test_a_message_sid_with_a_nul_character_is_a_400_and_does_not_fail_its_batch(sms_stack: Stack) -> None:
    """PostgreSQL's text refuses NUL: such a MessageSid (only an unsigned local setup or a
    holder of the token could send one) is refused alone, before it can fail the batch it
    would share with other posts."""
    bad, good = sms("SM\x00" + "0" * 31), sms("SM" + "1" * 32)
    responses = await asyncio.gather(*(sms_stack.client.post(PATH, content=urlencode(params), headers=signed(params))
                                       for params in (bad, good)))
    assert [response.status_code for response in responses] == [400, 200]
    assert "MessageSid" in responses[0].text
    async with sms_stack.session() as session:
        assert [event.external_id for event in (await session.exec(select(InboundEvent))).all()] == [good["MessageSid"]]
