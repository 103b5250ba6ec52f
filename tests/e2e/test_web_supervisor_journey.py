"""Browser journey of issue 8 (supervisor): Claire signs in, sees Amina overloaded on the board,
applies the rebalance plan and sees the moved tickets on the board; merges a suspected duplicate;
axe-core on every page visited (screenshots in var/test-artifacts/)."""
from __future__ import annotations

import asyncio
import re
import time

import httpx

from app.db import in_transaction
from app.seeds import DEMO_PASSWORD
from app.settings import routing_config
from crm.duplicates import file_duplicate
from crm.models import Ticket
from routing.agents import get_agent_by_email
from routing.supervision import edit_agent, set_presence
from sqlmodel import select
from tests.e2e.browser import axe_check, browser_page, served

AMINA, CLAIRE, SOPHIE = "amina.benali@demo.guichet.fr", "claire.dubois@demo.guichet.fr", "sophie.martin@demo.guichet.fr"
TICKETS = 6


def overload_amina(base: str, settings) -> None:
    config = routing_config(settings)

    async def away(session):
        claire = await get_agent_by_email(session, CLAIRE)
        for email in (CLAIRE, SOPHIE):
            await set_presence(session, (await get_agent_by_email(session, email)).id, "away", by=claire,
                               why="meeting", redistribute=False, config=config)
    asyncio.run(in_transaction(settings.database_url, away))
    for n, name in enumerate(["Nadia Amrani", "Nadia Amrany", "Youssef El Idrissi", "Camille Laurent",
                              "Fatima Zahra Bennani", "Julien Moreau"][:TICKETS]):
        response = httpx.post(f"{base}/api/v1/requests", json={
            "name": name, "email": f"citizen{n}@example.org", "category": "etat_civil",
            "subject": "Copie d'acte de naissance", "message": "Bonjour, il me faut une copie."})
        assert response.status_code == 201, response.text

    async def assigned(session):
        return len((await session.exec(select(Ticket.id).where(Ticket.assignee_id.is_not(None)))).all())
    deadline = time.monotonic() + 20
    while asyncio.run(in_transaction(settings.database_url, assigned)) < TICKETS:
        assert time.monotonic() < deadline, "the requests were not assigned"
        time.sleep(0.2)

    async def back(session):
        claire, amina = await get_agent_by_email(session, CLAIRE), await get_agent_by_email(session, AMINA)
        await edit_agent(session, amina.id, by=claire, why="half day", capacity=TICKETS)
        await set_presence(session, claire.id, "available", by=claire, why="back", redistribute=False, config=config)
        tickets = (await session.exec(select(Ticket).order_by(Ticket.id))).all()
        await file_duplicate(session, tickets[1].citizen_id, tickets[0].citizen_id, score=0.93,
                             reasons=["similar name", "same family name"])
    asyncio.run(in_transaction(settings.database_url, back))


def open_counts(page) -> dict[str, int]:
    return {row.get_attribute("data-agent"): int(row.get_attribute("data-open"))
            for row in page.locator("#agents tbody tr").all()}


def test_a_supervisor_rebalances_an_overloaded_agent_and_merges_a_duplicate(tmp_path) -> None:
    with served(tmp_path) as (base, settings):
        overload_amina(base, settings)  # before the browser: Playwright's sync API holds an event loop
        with browser_page() as page:
            journey(page, base)


def journey(page, base: str) -> None:
    page.goto(f"{base}/supervisor")
    page.fill("#email", CLAIRE)
    page.fill("#password", DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/supervisor")
    before = open_counts(page)
    assert before["Amina Benali"] == TICKETS and before["Claire Dubois"] == 0
    assert page.locator("#agents tr.overloaded th").first.inner_text() == "Amina Benali"
    axe_check(page, "supervisor-board")

    page.click("nav.subnav a[href='/supervisor/rebalance']")
    page.wait_for_url(f"{base}/supervisor/rebalance")
    moves = page.locator("#plan tbody tr").count()
    assert moves >= 2
    axe_check(page, "supervisor-rebalance")
    page.click("button[value=all]")
    page.wait_for_url(re.compile(r".*/supervisor\?done=rebalanced.*"))
    after = open_counts(page)
    assert after["Amina Benali"] == TICKETS - moves and after["Claire Dubois"] == moves
    moved_to_claire = page.locator('#tickets tr[data-assignee="Claire Dubois"]').count()
    assert moved_to_claire == moves
    axe_check(page, "supervisor-board-after-rebalance")

    page.goto(f"{base}/supervisor/duplicates")
    assert "Nadia Amrany" in page.content()
    axe_check(page, "supervisor-duplicates")
    pair = page.locator("section.pair").first
    pair.locator("input[name=reason]").first.fill("same person, two spellings")
    pair.locator("button", has_text="Fusionner").click()  # French first
    page.wait_for_url(f"{base}/supervisor/duplicates?done=merged")
    assert "same person, two spellings" in page.content()
    axe_check(page, "supervisor-duplicates-merged")

    for path, name in (("/supervisor/outbox", "supervisor-outbox"), ("/supervisor/inbound", "supervisor-inbound"),
                       ("/supervisor/stats", "supervisor-stats")):
        page.goto(f"{base}{path}")
        axe_check(page, name)
