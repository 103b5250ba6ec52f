"""`guichet demo --seed-only` (app/demo_data.py), small, run as a user runs it: every page an
agent or a supervisor opens afterwards shows something, /track works with a printed example,
and a second run adds nothing."""
from __future__ import annotations

import os
import re
import subprocess

from app.seeds import AGENTS, DEMO_PASSWORD, MORE_AGENTS
from app.settings import Settings
from tests.app.test_cli import GUICHET
from tests.conftest import running

SUPERVISOR, AGENT = "claire.dubois@demo.guichet.fr", "amina.benali@demo.guichet.fr"


def seed_demo(settings: Settings) -> tuple[str, tuple[int, int]]:
    """What `guichet demo --seed-only` prints, and the citizens and requests it says are there."""
    env = {**os.environ, "GUICHET_DATABASE_URL": settings.database_url, "GUICHET_SECRET_KEY": settings.secret_key}
    env.pop("GUICHET_REDIS_URL", None)
    result = subprocess.run([GUICHET, "demo", "--seed-only", "--citizens", "16"], env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    counts = re.search(r"(\d+) citizens, (\d+) requests", result.stdout)
    assert counts, result.stdout
    return result.stdout, (int(counts.group(1)), int(counts.group(2)))


async def test_the_demo_fills_every_page_and_a_second_run_adds_nothing(settings: Settings) -> None:
    printed, counts = seed_demo(settings)
    assert "demo data added" in printed and counts[0] >= 16 and counts[1] >= 20, printed
    for agent in (*AGENTS, *MORE_AGENTS):
        assert re.search(rf"{re.escape(agent.email)}\s+{agent.role}\s", printed), agent.email
    assert f"password for every demo agent: {DEMO_PASSWORD}" in printed
    examples = re.findall(r"(GRU-\d{4}-\d{6})\s+verification (\w{4}-\w{4})", printed)
    assert len(examples) >= 2, printed
    async with running(settings) as stack:
        await stack.sign_in(SUPERVISOR)
        queue = (await stack.client.get("/queue?tab=team")).text
        rows = re.findall(r'<tr>\s*<td><a href="/tickets/([^"]+)"', queue)
        channels = set(re.findall(r'<td><span aria-hidden="true">.</span> ([^<]+)</td>', queue))
        assert len(rows) >= 5 and len(channels) >= 3, (len(rows), channels)

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
        reference, code = examples[0]
        token = await stack.csrf_token("/track")
        tracked = await stack.client.post("/track", data={"reference": reference, "verification": code,
                                                          "_csrf_token": token})
        assert tracked.status_code == 200 and 'class="errors"' not in tracked.text
        assert re.search(rf'<span class="reference-inline" dir="ltr">{reference}</span>', tracked.text)

    again, same = seed_demo(settings)
    assert "the demo data is there already (nothing added)" in again and same == counts
