"""The outbox through HTTP, on both databases and a real SMTP server: who sees what, a dead
letter resent once (attempts reset, on the timeline), cancelling, and clear 403/404/409."""
from __future__ import annotations

from sqlmodel import select

from app.settings import Settings
from crm.models import Citizen
from tests.app.test_replies_api import AMINA, KARIM, SOPHIE, auth, reply
from tests.conftest import Stack
from tests.replies.test_smtp_delivery import TRY_LATER, app_mailing_to
from tests.smtp_server import smtp_server


async def outbox(stack: Stack, email: str, query: str = "") -> list[dict]:
    response = await stack.client.get(f"/api/v1/outbox{query}", headers=await auth(stack, email))
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_dead_letter_is_seen_by_supervisors_and_resent_once(seeded: Settings) -> None:
    with smtp_server() as (server, port):
        server.answer_rcpt(TRY_LATER, times=1)
        async with app_mailing_to(seeded, port, send_max_attempts=1) as stack:
            accepted = await stack.post_request()
            await stack.drain()
            assert server.received == []

            [dead] = await outbox(stack, "claire.dubois@demo.guichet.fr", "?state=failed")
            assert dead["dead_letter"] is True and dead["ticket"] == accepted["reference"]
            assert dead["attempts"] == 1 and "451" in dead["last_error"]
            holder = (await stack.ticket(accepted["reference"]))["assignee"]["email"]
            other = KARIM if holder != KARIM else AMINA
            assert [d["id"] for d in await outbox(stack, holder)] == [dead["id"]]
            assert await outbox(stack, other) == []
            assert await outbox(stack, "claire.dubois@demo.guichet.fr", "?channel=sms") == []
            desk = await stack.client.get("/api/v1/outbox", headers=await auth(stack, SOPHIE))
            assert desk.status_code == 403
            bad = await stack.client.get("/api/v1/outbox?state=lost", headers=await auth(stack))
            assert bad.status_code == 400

            by_agent = await stack.client.post(f"/api/v1/outbox/{dead['id']}/resend", headers=await auth(stack, holder))
            assert by_agent.status_code == 403
            resent = await stack.client.post(f"/api/v1/outbox/{dead['id']}/resend", headers=await auth(stack))
            assert resent.status_code == 200, resent.text
            assert (resent.json()["state"], resent.json()["attempts"], resent.json()["last_error"]) == ("queued", 0, None)
            await stack.drain()
            assert len(server.received) == 1
            [sent] = await outbox(stack, "claire.dubois@demo.guichet.fr")
            assert (sent["state"], sent["attempts"]) == ("sent", 1)
            again = await stack.client.post(f"/api/v1/outbox/{dead['id']}/resend", headers=await auth(stack))
            assert again.status_code == 409 and "only a failed one" in again.json()["detail"]
            await stack.drain()
            assert len(server.received) == 1
            timeline = (await stack.ticket(accepted["reference"]))["timeline"]
            assert [e["data"]["state"] for e in timeline if e["kind"] == "delivery"] == ["failed", "queued", "sent"]
            assert any(e["reason"].startswith("resent by Claire Dubois") for e in timeline)
            missing = await stack.client.post("/api/v1/outbox/9999/resend", headers=await auth(stack))
            assert missing.status_code == 404


async def test_cancel_a_held_letter_but_not_a_sent_message(stack: Stack) -> None:
    accepted = await stack.post_request()
    await stack.drain()
    async with stack.session() as session:
        citizen = (await session.exec(select(Citizen))).one()
        citizen.address = "3 place de la Mairie"
        await session.commit()
    letter = (await reply(stack, accepted["reference"], channel="letter", text="Madame, voici la réponse.")).json()
    [ack] = [d for d in await outbox(stack, "claire.dubois@demo.guichet.fr") if d["id"] != letter["delivery_id"]]
    assert ack["state"] == "held"  # no SMTP configured: kept in the outbox
    desk = await stack.client.post(f"/api/v1/outbox/{letter['delivery_id']}/cancel", headers=await auth(stack, SOPHIE))
    assert desk.status_code == 403
    cancelled = await stack.client.post(f"/api/v1/outbox/{letter['delivery_id']}/cancel", headers=await auth(stack))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    twice = await stack.client.post(f"/api/v1/outbox/{letter['delivery_id']}/cancel", headers=await auth(stack))
    assert twice.status_code == 409
    assert (await stack.client.get("/api/v1/letters", headers=await auth(stack, SOPHIE))).json() == []
    printed = await stack.client.post(f"/api/v1/letters/{letter['delivery_id']}/printed", headers=await auth(stack))
    assert printed.status_code == 409
    not_a_letter = await stack.client.post(f"/api/v1/letters/{ack['id']}/printed", headers=await auth(stack))
    assert not_a_letter.status_code == 404
    one = await stack.client.get(f"/api/v1/outbox/{letter['delivery_id']}", headers=await auth(stack))
    assert one.status_code == 200 and "voici la réponse" in one.json()["html"]
