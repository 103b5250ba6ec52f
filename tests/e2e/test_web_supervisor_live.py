"""Browser journey of issue 8 part 6 (supervisor board, live): Claire keeps /supervisor open; a
request arrives, is moved to another agent, an agent goes away — the board shows each within
seconds without a reload, and a ticket she had ticked stays ticked."""
from __future__ import annotations

import time

import httpx

from tests.e2e.browser import axe_check, browser_page, served
from tests.e2e.test_web_queue import _sign_in, _token

CLAIRE = "claire.dubois@demo.guichet.fr"
LIVE_TIMEOUT = 15_000  # ms: the stream polls every 2 s; a loaded machine needs slack


def _request(base: str, n: int) -> str:
    created = httpx.post(f"{base}/api/v1/requests", json={
        "name": f"Citoyen Live {n}", "email": f"live{n}@example.org", "category": "etat_civil",
        "subject": "Acte de mariage", "message": "Bonjour, il me faut une copie de mon acte de mariage."})
    assert created.status_code == 201, created.text
    return created.json()["reference"]


def test_the_supervisor_board_follows_arrivals_moves_and_presence_without_reload(tmp_path) -> None:
    with served(tmp_path) as (base, settings):
        headers = {"Authorization": f"Bearer {_token(settings, CLAIRE)}"}
        first = _request(base, 1)
        with browser_page() as page:
            _sign_in(page, base, CLAIRE, "/supervisor")
            page.wait_for_function("document.documentElement.getAttribute('data-live') === 'ready'",
                                   timeout=10_000)
            page.evaluate("window.__notReloaded = true")
            page.check(f"#pick-{first}")

            reference = _request(base, 2)
            page.wait_for_selector(f'#tickets tr[data-reference="{reference}"]', timeout=LIVE_TIMEOUT)
            assert page.is_checked(f"#pick-{first}"), "a refresh lost the supervisor's ticked ticket"

            agents = httpx.get(f"{base}/api/v1/supervisor/workload", headers=headers).json()["agents"]
            ids = {a["name"]: a["agent_id"] for a in agents}
            row = page.locator(f'#tickets tr[data-reference="{reference}"]')
            holder = row.get_attribute("data-assignee")
            target = "Karim Haddad" if holder != "Karim Haddad" else "Amina Benali"
            moved = httpx.post(f"{base}/api/v1/tickets/{reference}/assign", headers=headers,
                               json={"agent_id": ids[target], "why": "elsewhere"})
            assert moved.status_code == 200, moved.text
            page.wait_for_selector(f'#tickets tr[data-reference="{reference}"][data-assignee="{target}"]',
                                   timeout=LIVE_TIMEOUT)

            away = httpx.put(f"{base}/api/v1/agents/{ids['Amina Benali']}/presence", headers=headers,
                             json={"presence": "away", "why": "gone home", "redistribute": False})
            assert away.status_code == 200, away.text
            page.wait_for_selector(f'#agent-{ids["Amina Benali"]}[data-presence="away"]', timeout=LIVE_TIMEOUT)

            assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
            assert page.is_checked(f"#pick-{first}")
            axe_check(page, "supervisor-board-live")


def test_the_barometer_and_an_attachment_pass_axe(tmp_path) -> None:
    """The stats page with survey answers (the barometer's charts and tables) and the ticket page
    with a scanned letter shown inline: zero serious or critical axe violations, French and Arabic."""
    import base64

    from app.db import in_transaction
    from replies.survey import record_answer
    from tests.e2e.test_web_queue import _run

    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
    with served(tmp_path) as (base, settings):
        sophie = {"Authorization": f"Bearer {_token(settings, 'sophie.martin@demo.guichet.fr')}"}
        letter = httpx.post(f"{base}/api/v1/contacts", headers=sophie, json={
            "channel": "letter", "full_name": "Yasmine Tazi", "phone": "06 12 34 56 78", "category": "etat_civil",
            "subject": "Courrier", "note": "Courrier reçu avec une pièce jointe.",
            "attachments": [{"filename": "courrier.png", "content_type": "image/png",
                             "data": base64.b64encode(png).decode()}]})
        assert letter.status_code == 201, letter.text
        reference = letter.json()["reference"]
        others = [_request(base, n) for n in range(3)]
        time.sleep(1.5)  # the jobs run in process

        async def answers(session):
            from crm.models import Ticket
            from sqlmodel import select
            for ref, score in zip([reference, *others], (5, 4, 2, 3)):
                ticket = (await session.exec(select(Ticket).where(Ticket.reference == ref))).one()
                await record_answer(session, ticket.id, score, channel="email")
        _run(in_transaction(settings.database_url, answers))
        with browser_page() as page:
            _sign_in(page, base, CLAIRE, "/supervisor/stats")
            assert page.locator("#satisfaction figure").count() == 4
            axe_check(page, "supervisor-stats-barometer")
            page.goto(f"{base}/tickets/{reference}")
            page.wait_for_function("document.querySelector('img.attachment-preview').naturalWidth > 0")
            axe_check(page, "ticket-attachment")
            page.goto(f"{base}/supervisor/stats?lang=ar")
            assert page.locator("html").get_attribute("dir") == "rtl"
            assert "مؤشر الرضا" in page.locator("#satisfaction h2").inner_text()
            axe_check(page, "supervisor-stats-barometer-ar")
