"""The `guichet` command, run as a user runs it: a real process against a real database."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Stack

GUICHET = str(Path(sys.executable).with_name("guichet"))


def guichet(stack: Stack, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GUICHET_DATABASE_URL": stack.settings.database_url}
    env.pop("GUICHET_REDIS_URL", None)
    return subprocess.run([GUICHET, *args], env=env, capture_output=True, text=True, timeout=60)


async def test_agents_create_and_token_work_against_the_api(stack: Stack) -> None:
    created = guichet(stack, "agents", "create", "Omar.Tazi@Mairie.fr", "--name", "Omar Tazi",
                      "--role", "agent", "--skills", "urbanisme:5,voirie")
    assert created.returncode == 0, created.stderr
    token = guichet(stack, "agents", "token", "omar.tazi@mairie.fr")
    assert token.returncode == 0, token.stderr
    accepted = await stack.post_request()
    await stack.drain()
    response = await stack.client.get(f"/api/v1/tickets/{accepted['reference']}",
                                      headers={"Authorization": f"Bearer {token.stdout.strip()}"})
    assert response.status_code == 200
    # A second token is a new one; the first still works.
    again = guichet(stack, "agents", "token", "omar.tazi@mairie.fr")
    assert again.stdout.strip() != token.stdout.strip()


async def test_agents_create_refuses_bad_input_with_a_message(stack: Stack) -> None:
    unknown_skill = guichet(stack, "agents", "create", "x@mairie.fr", "--name", "X", "--skills", "astrologie")
    assert unknown_skill.returncode == 1 and "unknown skill" in unknown_skill.stderr
    bad_role = guichet(stack, "agents", "create", "y@mairie.fr", "--name", "Y", "--role", "king")
    assert bad_role.returncode == 1 and "unknown role" in bad_role.stderr
    duplicate = guichet(stack, "agents", "create", "amina.benali@demo.guichet.fr", "--name", "A")
    assert duplicate.returncode == 1 and "exists" in duplicate.stderr
    nobody = guichet(stack, "agents", "token", "nobody@mairie.fr")
    assert nobody.returncode == 1 and "no agent" in nobody.stderr
    for result in (unknown_skill, bad_role, duplicate, nobody):
        assert "Traceback" not in result.stderr


async def test_outbox_list_json_shows_the_acknowledgement(stack: Stack) -> None:
    accepted = await stack.post_request(email="Leila@Example.org")
    await stack.drain()
    result = guichet(stack, "outbox", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 1
    row = rows[0]
    assert set(row) == {"id", "channel", "to", "subject", "body", "state", "ticket_reference", "segments",
                        "encoding", "provider_status", "error_code", "error", "not_before"}
    assert row["channel"] == "email" and row["to"] == "leila@example.org"
    assert row["not_before"] is None  # leaves now (a held SMS says when: docs/notifications.md)
    assert row["ticket_reference"] == accepted["reference"] and accepted["reference"] in row["subject"]
    assert row["state"] == "held"  # no SMTP configured: kept in the outbox
    assert row["segments"] is None  # an email
    table = guichet(stack, "outbox", "list")
    assert accepted["reference"] in table.stdout


async def test_outbox_list_json_shows_what_an_sms_costs(stack: Stack) -> None:
    """Counted before sending: no Twilio here, the SMS is held, its cost is known."""
    french = await stack.post_request(email=None, phone="06 12 34 56 78", message="Bonjour")
    arabic = (await stack.client.post("/api/v1/requests?lang=ar", json={
        "name": "Hind Alaoui", "phone": "06 99 99 99 99", "category": "voirie", "message": "مرحبا"})).json()
    await stack.drain()
    result = guichet(stack, "outbox", "list", "--json")
    rows = {row["ticket_reference"]: row for row in map(json.loads, result.stdout.splitlines())}
    sms = rows[french["reference"]]
    assert (sms["channel"], sms["to"], sms["state"]) == ("sms", "+33612345678", "held")
    assert (sms["encoding"], sms["segments"]) == ("GSM-7", 1)
    assert len(sms["body"]) <= 160
    sms = rows[arabic["reference"]]
    assert sms["encoding"] == "UCS-2" and sms["segments"] == (1 if len(sms["body"]) <= 70 else 2)
    assert "تم استلام طلبكم" in sms["body"]


def test_db_upgrade_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    env = {**os.environ, "GUICHET_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'sub' / 'new.db'}"}
    result = subprocess.run([GUICHET, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sub" / "new.db").exists()


def test_serve_refuses_an_unmigrated_postgres_and_migrates_sqlite(tmp_path: Path) -> None:
    """A fresh embedded install just works; a production database is migrated by an operator."""
    env = {**os.environ, "GUICHET_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
           "GUICHET_REDIS_URL": ""}
    if os.environ.get("GUICHET_TEST_DATABASE_URL"):
        refused = subprocess.run([GUICHET, "serve", "--port", "1"], env=env, capture_output=True,
                                 text=True, timeout=60)
        assert refused.returncode == 1 and "guichet db upgrade" in refused.stderr
    from app.migrations import ensure_schema

    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    assert ensure_schema(url) == "upgraded"
    assert ensure_schema(url) == "current"


async def test_a_team_with_its_calendar_routes_and_times_a_new_category(stack: Stack) -> None:
    hours = '{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}'
    steps = [
        ("teams", "add", "etat_civil_b", "--name", "État civil B", "--hours", hours, "--country", "FR"),
        ("categories", "add", "naturalisation", "--name", "Naturalisation", "--skill", "naturalisation",
         "--min-level", "3", "--team", "etat_civil_b", "--sla-first-response", "120", "--escalate",
         "raise_priority"),
        ("agents", "create", "rachid@mairie.fr", "--name", "Rachid Alaoui", "--skills", "naturalisation:4",
         "--languages", "fr,ar"),
        ("teams", "join", "etat_civil_b", "rachid@mairie.fr"),
    ]
    for step in steps:
        run = guichet(stack, *step)
        assert run.returncode == 0, (step, run.stderr)
    accepted = await stack.post_request(category="naturalisation")
    await stack.drain()
    ticket = await stack.ticket(accepted["reference"])
    assert ticket["assignee"]["name"] == "Rachid Alaoui"
    bad = [guichet(stack, "teams", "add", "x", "--name", "X", "--hours", '{"days": ["lundi"], "start": "08:00", "end": "12:00"}'),
           guichet(stack, "teams", "add", "y", "--name", "Y", "--hours", "{not json"),
           guichet(stack, "teams", "join", "nowhere", "rachid@mairie.fr"),
           guichet(stack, "categories", "add", "z", "--name", "Z", "--skill", "s", "--escalate", "fire")]
    assert [b.returncode for b in bad] == [1, 2, 1, 1]
    assert "lundi" in bad[0].stderr and "not valid JSON" in bad[1].stderr and "no team" in bad[2].stderr
    assert "unknown escalation" in bad[3].stderr


def test_serve_with_several_workers_needs_redis() -> None:
    """Without Redis each process would run its own job queue and mailbox watchers."""
    env = {**os.environ, "GUICHET_DATABASE_URL": "sqlite+aiosqlite:///var/never.db", "GUICHET_REDIS_URL": ""}
    refused = subprocess.run([GUICHET, "serve", "--workers", "2", "--port", "1"], env=env, capture_output=True,
                             text=True, timeout=60)
    assert refused.returncode == 2 and "GUICHET_REDIS_URL" in refused.stderr
