"""Browser journeys of the back office (issue 8): an agent finds the ticket in the queue, sees the
citizen's email AND SMS history, picks a suggested answer, previews the SMS (segments), sends it,
and the outbox shows it; and the queue updates live (SSE) when a ticket is assigned to them."""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import httpx

from app.email_ingest import ingest_files
from app.seeds import DEMO_PASSWORD
from routing.agents import get_agent_by_email, issue_token
from tests.e2e.browser import axe_check, browser_page, served

AMINA = "amina.benali@demo.guichet.fr"
CITIZEN_EMAIL, CITIZEN_PHONE = "nadia.amrani@example.org", "+33612345678"
EML = f"""From: Nadia Amrani <{CITIZEN_EMAIL}>
To: mairie@example.org
Subject: Acte de naissance
Message-ID: <e2e-queue-1@example.org>
Date: Wed, 02 Dec 2026 09:00:00 +0100
Content-Type: text/plain; charset=utf-8

Bonjour, je voudrais une copie de mon acte de naissance, s'il vous plait.
"""


def _run(coroutine):
    """Playwright's sync API holds this thread's event loop: our coroutines run in another thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _token(settings, email: str = "claire.dubois@demo.guichet.fr") -> str:
    from app.db import in_transaction

    async def issue(session) -> str:
        return await issue_token(session, await get_agent_by_email(session, email))

    return _run(in_transaction(settings.database_url, issue))


def _sign_in(page, base: str, email: str, then: str) -> None:
    page.goto(f"{base}{then}")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}{then}")


def _history(base: str, settings, tmp_path) -> str:
    """The citizen writes by web form (email + phone), by email, then by SMS; the reference."""
    client = httpx.Client(base_url=base, timeout=20)
    created = client.post("/api/v1/requests", json={
        "name": "Nadia Amrani", "email": CITIZEN_EMAIL, "phone": CITIZEN_PHONE, "category": "etat_civil",
        "subject": "Acte de naissance", "message": "Bonjour, il me faut une copie de mon acte de naissance."})
    assert created.status_code == 201, created.text
    eml = tmp_path / "nadia.eml"
    eml.write_text(EML)
    _run(ingest_files(settings, [eml]))
    sms = client.post("/webhooks/twilio/sms", content=urlencode({
        "MessageSid": "SM" + "1" * 32, "From": CITIZEN_PHONE, "To": "+33198765432",
        "Body": "Bonjour, c'est pour mon acte de naissance, merci.", "NumMedia": "0"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert sms.status_code == 200, sms.text
    time.sleep(1.5)  # the jobs run in process
    return created.json()["reference"]


def test_an_agent_answers_by_sms_from_the_queue(tmp_path) -> None:
    with served(tmp_path, twilio_allow_unsigned=True) as (base, settings), browser_page() as page:
        reference = _history(base, settings, tmp_path)
        headers = {"Authorization": f"Bearer {_token(settings)}"}
        holder = httpx.get(f"{base}/api/v1/tickets/{reference}", headers=headers).json()["assignee"]
        assert holder and holder["email"] == AMINA, holder
        _sign_in(page, base, AMINA, "/queue")
        page.wait_for_selector(f"a:has-text('{reference}')")
        axe_check(page, "queue")
        page.click(f"a:has-text('{reference}')")
        page.wait_for_url(f"{base}/tickets/{reference}")
        history = page.locator("#ticket-history").inner_text()
        assert "SMS" in history and "Courriel" in history, history  # the pages are in French by default
        assert "c'est pour mon acte de naissance" in history and "je voudrais une copie" in history
        axe_check(page, "ticket")
        page.locator("#reply-form input[name=pick]").first.check()
        page.select_option("#reply-channel", "sms")
        page.click("#reply-preview-button")
        page.wait_for_selector("#sms-cost")
        assert "segment" in page.locator("#sms-cost").inner_text()
        axe_check(page, "ticket-preview")
        page.click("#reply-send")
        page.wait_for_url(f"{base}/tickets/{reference}?done=sent")
        time.sleep(1)
        outbox = httpx.get(f"{base}/api/v1/outbox?channel=sms", headers=headers).json()
        rows = outbox if isinstance(outbox, list) else outbox.get("items") or outbox.get("deliveries") or []
        assert any(r.get("to") == CITIZEN_PHONE for r in rows), outbox
        axe_check(page, "ticket-sent")


def test_the_queue_shows_a_new_ticket_without_reload(tmp_path) -> None:
    with served(tmp_path) as (base, settings), browser_page() as page:
        _sign_in(page, base, AMINA, "/queue")
        page.wait_for_function("document.documentElement.getAttribute('data-live') === 'ready'", timeout=10_000)
        page.evaluate("window.__notReloaded = true")
        created = httpx.post(f"{base}/api/v1/requests", json={
            "name": "Karima Belhaj", "email": "karima@example.org", "category": "etat_civil",
            "subject": "Livret de famille", "message": "Bonjour, il me faut un duplicata du livret de famille."})
        assert created.status_code == 201
        reference = created.json()["reference"]
        page.wait_for_selector(f"#queue-table a:has-text('{reference}')", timeout=15_000)
        assert page.evaluate("window.__notReloaded === true")
        axe_check(page, "queue-live")
