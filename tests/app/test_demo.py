"""`guichet demo`'s data set (app/demo_data.py, the function the command calls), small: every page
an agent or a supervisor opens after `make demo` shows something, /track works with a printed
example, and a second run adds nothing."""
from __future__ import annotations

import re

from app.demo_data import AWAY, seed_demo_data
from app.settings import Settings
from tests.conftest import running

SUPERVISOR, AGENT = "claire.dubois@demo.guichet.fr", "amina.benali@demo.guichet.fr"


async def test_the_demo_fills_every_page_and_a_second_run_adds_nothing(settings: Settings) -> None:
    report = await seed_demo_data(settings, citizens=16)
    assert report.seeded and report.tickets >= 20 and report.citizens >= 16, report
    assert {role for _, role, _ in report.logins} == {"agent", "frontdesk", "supervisor", "admin"}
    assert len(report.tracking) >= 2
    async with running(settings) as stack:
        await stack.sign_in(SUPERVISOR)
        queue = (await stack.client.get("/queue?tab=team")).text
        rows = re.findall(r'<tr>\s*<td><a href="/tickets/([^"]+)"', queue)
        channels = set(re.findall(r'<td><span aria-hidden="true">.</span> ([^<]+)</td>', queue))
        assert len(rows) >= 10 and len(channels) >= 3, (len(rows), channels)

        ticket = (await stack.client.get(f"/tickets/{rows[0]}")).text
        history = ticket[ticket.index('id="ticket-history"'):]
        assert history.count("<li") >= 2 or history.count("<article") >= 2, history[:2000]

        board = (await stack.client.get("/supervisor")).text
        opened = {name: int(n) for name, n in re.findall(r'data-agent="([^"]+)" data-open="(\d+)"', board)}
        assert sum(n > 0 for n in opened.values()) >= 2, opened
        away_row = board[board.index('data-agent="Mehdi Khelifi"'):][:3000]
        assert re.search(r'<option value="away" selected>', away_row), away_row[:1500]

        duplicates = (await stack.client.get("/supervisor/duplicates")).text
        assert re.search(r'/supervisor/duplicates/\d+/merge', duplicates)
        outbox = (await stack.client.get("/supervisor/outbox")).text
        assert "550 5.1.1" in outbox and re.search(r"/supervisor/outbox/\d+/resend", outbox)
        inbound = (await stack.client.get("/supervisor/inbound")).text
        assert "no From number" in inbound
        stats = (await stack.client.get("/supervisor/stats")).text
        received = re.search(r"<dd>(\d+)</dd>", stats[stats.index("<dl"):])
        assert received and int(received.group(1)) > 0

        stack.client.cookies.clear()
        await stack.sign_in(AGENT)
        mine = (await stack.client.get("/queue")).text
        assert re.search(r'<a href="/tickets/GRU-\d{4}-\d{6}"', mine)

        stack.client.cookies.clear()
        reference, code, status = report.tracking[0]
        token = await stack.csrf_token("/track")
        tracked = await stack.client.post("/track", data={"reference": reference, "verification": code,
                                                          "_csrf_token": token})
        assert tracked.status_code == 200 and 'class="errors"' not in tracked.text
        assert re.search(rf'<span class="reference-inline" dir="ltr">{reference}</span>', tracked.text)

    again = await seed_demo_data(settings, citizens=16)
    assert not again.seeded and "already" in again.message
    assert (again.citizens, again.tickets) == (report.citizens, report.tickets)
    assert again.tracking == report.tracking
    assert AWAY in {email for email, _, _ in again.logins}
