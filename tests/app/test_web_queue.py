"""/queue and /tickets/{reference} over HTTP (issue 8): tabs and filters, take (and the clear
refusal when someone was quicker), status change, internal note, reply preview and send."""
from __future__ import annotations

import re

from app.seeds import AGENTS
from tests.conftest import Stack

EMAIL = {a.role: a.email for a in AGENTS}
AMINA, KARIM = "amina.benali@demo.guichet.fr", "karim.haddad@demo.guichet.fr"


async def _agent_id(stack: Stack, email: str) -> int:
    from routing.agents import get_agent_by_email

    async with stack.session() as session:
        return (await get_agent_by_email(session, email)).id


async def _away(stack: Stack, *emails: str) -> None:
    headers = {"Authorization": f"Bearer {await stack.token()}"}
    for email in emails:
        response = await stack.client.put(f"/api/v1/agents/{await _agent_id(stack, email)}/presence", headers=headers,
                                          json={"presence": "away", "why": "test", "redistribute": False})
        assert response.status_code == 200, response.text


async def _unassigned_ticket(stack: Stack) -> str:
    """Everybody away: a birth-certificate request waits in the queue."""
    await _away(stack, AMINA, KARIM, EMAIL["supervisor"], EMAIL["frontdesk"])
    reference = (await stack.post_request())["reference"]
    await stack.drain()
    assert (await stack.ticket(reference))["assignee"] is None
    return reference


async def _form_token(stack: Stack, path: str) -> str:
    page = await stack.client.get(path)
    return re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)


async def test_take_from_the_unassigned_tab_then_a_second_take_is_refused_clearly(stack: Stack) -> None:
    reference = await _unassigned_ticket(stack)
    await stack.sign_in(AMINA)
    mine = await stack.client.get("/queue")
    assert mine.status_code == 200 and reference not in mine.text
    waiting = await stack.client.get("/queue?tab=unassigned")
    assert reference in waiting.text and "Nadia Amrani" in waiting.text and 'action="/queue/take"' in waiting.text
    token = await _form_token(stack, "/queue?tab=unassigned")
    taken = await stack.client.post("/queue/take", data={"_csrf_token": token, "reference": reference})
    assert taken.status_code == 303 and taken.headers["location"] == f"/tickets/{reference}"
    assert (await stack.ticket(reference))["assignee"]["email"] == AMINA
    assert reference in (await stack.client.get("/queue?tab=mine")).text

    stack.client.cookies.clear()
    await stack.sign_in(EMAIL["supervisor"])
    token = await _form_token(stack, "/queue?tab=unassigned")
    again = await stack.client.post("/queue/take", data={"_csrf_token": token, "reference": reference})
    assert again.status_code == 409
    assert f"{reference}: ticket {reference} is already assigned" in again.text


async def test_filters_channel_category_sla_language(stack: Stack) -> None:
    reference = await _unassigned_ticket(stack)
    await stack.sign_in(AMINA)
    base = "/queue?tab=unassigned"
    assert reference in (await stack.client.get(f"{base}&channel=webform&category=etat_civil&sla=ok")).text
    assert reference not in (await stack.client.get(f"{base}&channel=sms")).text
    assert reference not in (await stack.client.get(f"{base}&category=voirie")).text
    assert reference not in (await stack.client.get(f"{base}&sla=breached")).text
    assert reference not in (await stack.client.get(f"{base}&language=ar")).text
    partial = await stack.client.get(f"{base}&partial=true")
    assert reference in partial.text and "<html" not in partial.text


async def test_ticket_page_status_note_and_reply(stack: Stack) -> None:
    reference = (await stack.post_request())["reference"]
    await stack.drain()
    holder = (await stack.ticket(reference))["assignee"]["email"]
    await stack.sign_in(holder)
    page = await stack.client.get(f"/tickets/{reference}")
    assert page.status_code == 200
    assert "Bonjour, il me faut une copie." in page.text and 'id="reply-form"' in page.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)

    note = await stack.client.post(f"/tickets/{reference}/notes",
                                   data={"_csrf_token": token, "note": "Rappeler <b>lundi</b>"})
    assert note.status_code == 303
    page = await stack.client.get(f"/tickets/{reference}")
    assert "Rappeler &lt;b&gt;lundi&lt;/b&gt;" in page.text

    status = await stack.client.post(f"/tickets/{reference}/status", data={"_csrf_token": token, "status": "pending"})
    assert status.status_code == 303
    assert (await stack.ticket(reference))["status"] == "pending"

    preview = await stack.client.post(f"/tickets/{reference}/reply", data={
        "_csrf_token": token, "action": "preview", "text": "Votre acte est prêt.", "partial": "true"})
    assert preview.status_code == 200 and "Votre acte est prêt." in preview.text and "<html" not in preview.text
    sent = await stack.client.post(f"/tickets/{reference}/reply", data={
        "_csrf_token": token, "action": "send", "text": "Votre acte est prêt.", "idempotency_key": "k1"})
    assert sent.status_code == 303, sent.text
    await stack.drain()
    messages = (await stack.ticket(reference))["messages"]
    assert any(m["direction"] == "out" and "Votre acte est prêt." in m["text"] for m in messages)


async def test_another_agent_may_read_but_not_change_the_ticket(stack: Stack) -> None:
    reference = (await stack.post_request())["reference"]
    await stack.drain()
    holder = (await stack.ticket(reference))["assignee"]["email"]
    other = KARIM if holder != KARIM else AMINA
    await stack.sign_in(other)
    page = await stack.client.get(f"/tickets/{reference}")
    assert page.status_code == 200 and 'id="reply-form"' not in page.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    refused = await stack.client.post(f"/tickets/{reference}/status", data={"_csrf_token": token, "status": "closed"})
    assert refused.status_code == 403
    assert (await stack.client.get("/tickets/GRU-2026-999999")).status_code == 404
