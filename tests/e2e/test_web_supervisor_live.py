"""Browser journey of issue 8 part 6 (supervisor board, live): Claire keeps /supervisor open; a
request arrives, is moved to another agent, an agent goes away — the board shows each within
seconds without a reload, and a ticket she had ticked stays ticked."""
from __future__ import annotations

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
