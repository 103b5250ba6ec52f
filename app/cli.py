"""The `guichet` command."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from crm.errors import DomainError
from replies.outbox import list_outbox
from rich.console import Console
from rich.table import Table
from routing.agents import create_agent, get_agent_by_email, issue_token, parse_skill_levels
from routing.categories import upsert_category
from routing.teams import get_team
from sqlmodel.ext.asyncio.session import AsyncSession

from app import migrations
from app.cli_session import in_session as _in_session
from app.citizens_cli import citizens_cli
from app.routing_cli import routing_cli, teams_cli
from app.settings import get_settings

T = TypeVar("T")
cli = typer.Typer(help="Guichet: one citizen record, one history, every channel.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
agents_cli = typer.Typer(help="Agents and their API tokens.", no_args_is_help=True)
outbox_cli = typer.Typer(help="Outbound messages.", no_args_is_help=True)
categories_cli = typer.Typer(help="Request categories.", no_args_is_help=True)
email_cli = typer.Typer(help="Email in and out.", no_args_is_help=True)
inbound_cli = typer.Typer(help="The raw inbound log and its quarantine.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(agents_cli, name="agents")
cli.add_typer(outbox_cli, name="outbox")
cli.add_typer(categories_cli, name="categories")
cli.add_typer(email_cli, name="email")
cli.add_typer(inbound_cli, name="inbound")
cli.add_typer(routing_cli, name="routing")
cli.add_typer(teams_cli, name="teams")
cli.add_typer(citizens_cli, name="citizens")
out = Console()
err = Console(stderr=True)


@cli.command()
def serve(host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="TCP port")] = 8000,
          workers: Annotated[int, typer.Option(min=1, help="server processes (more than 1 needs Redis)")] = 1,
          ) -> None:
    """Serve the web pages and the API (and, without Redis, run the jobs in process)."""
    import uvicorn

    from app.logs import configure_logging
    from app.main import create_app, freeze_startup_heap

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    if workers > 1 and not settings.redis_url:
        # Without Redis each process would run its own in-process job queue, sweep and mailbox
        # watchers: every mailbox polled N times, and jobs lost with the process that held them.
        err.print("[red]error:[/red] --workers above 1 needs GUICHET_REDIS_URL (the job queue and the "
                  "pages' sessions must be shared by the processes)")
        raise typer.Exit(2)
    try:
        if migrations.ensure_schema(settings.database_url) == "upgraded":
            err.print("database schema upgraded to the latest revision")
    except migrations.SchemaOutOfDate as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    # No access log: it would record citizens' IP addresses, which are personal data.
    if workers > 1:  # each process builds its own app (pools, Redis client) from the same settings
        uvicorn.run("app.main:create_served_app", factory=True, workers=workers, host=host, port=port,
                    log_config=None, proxy_headers=True, access_log=False)
        return
    app = create_app(settings)
    freeze_startup_heap()
    uvicorn.run(app, host=host, port=port, log_config=None, proxy_headers=True, access_log=False)


@cli.command()
def worker(burst: Annotated[bool, typer.Option(help="stop when the queue is empty")] = False) -> None:
    """Run background jobs from Redis (needs GUICHET_REDIS_URL)."""
    from app.worker import run_worker

    try:
        run_worker(get_settings(), burst=burst)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


@db_cli.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Bring the database schema to the latest revision."""
    migrations.upgrade(get_settings().database_url, revision)
    out.print(f"database at {revision}")


@db_cli.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Take the schema back to REVISION (`base` empties it)."""
    migrations.downgrade(get_settings().database_url, revision)
    out.print(f"database at {revision}")


@cli.command()
def demo(host: str = "127.0.0.1", port: int = 8000,
         seed_only: Annotated[bool, typer.Option("--seed-only", help="seed, print the logins, and exit")] = False,
         citizens: Annotated[int, typer.Option(min=1, max=5000, help="how many citizens (about 4/3 as many "
                                                                      "requests)")] = 300) -> None:
    """Migrate, seed demo categories, agents, templates and a few hundred citizens with their
    requests (once: an empty database only), print the logins, then serve."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from app.demo_data import seed_demo_data

    settings = get_settings()
    migrations.upgrade(settings.database_url)
    with Progress(TextColumn("demo data"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("steps", total=None)
        report = asyncio.run(seed_demo_data(settings, citizens=citizens,
                                            progress=lambda done, total: bar.update(task, completed=done,
                                                                                    total=total)))
    base = f"http://{host}:{port}"
    logins = "\n".join(f"    {email:<36} {role:<11} {name}" for email, role, name in report.logins)
    tracking = "\n".join(f"    {reference}   verification {code}   ({status})"
                         for reference, code, status in report.tracking)
    print(f"""
Guichet demo — {settings.service_name}
  {report.message}: {report.citizens} citizens, {report.tickets} requests ({report.seconds:.0f} s)

  Agents sign in   {base}/login   password for every demo agent: {report.password}
{logins}

  Citizen form     {base}/request   (English: {base}/request?lang=en)
  Track a request  {base}/track   for instance:
{tracking}
  API docs         {base}/schema   (an API token: .venv/bin/guichet agents token EMAIL)
  Outbox           .venv/bin/guichet outbox list   (the demo sends nothing: answers stay in the outbox)
""")
    if not seed_only:
        serve(host=host, port=port)


@agents_cli.command("create")
def agents_create(
    email: str,
    name: Annotated[str, typer.Option(help="full name")],
    role: Annotated[str, typer.Option(help="agent, frontdesk, supervisor or admin")] = "agent",
    skills: Annotated[str, typer.Option(help="skill[:level],… e.g. etat_civil:5,urbanisme")] = "",
    capacity: Annotated[int, typer.Option(help="open tickets at once")] = 20,
    languages: Annotated[str, typer.Option(help="languages spoken, e.g. fr,ar")] = "",
) -> None:
    """Create an agent with skills."""

    async def work(session: AsyncSession) -> int:
        agent = await create_agent(session, email=email, name=name, role=role,
                                   skills=parse_skill_levels(skills), capacity=capacity,
                                   languages=languages.split(","))
        return agent.id

    agent_id = _in_session(work)
    out.print(f"agent {agent_id} created: {email} ({role})")


@agents_cli.command("token")
def agents_token(email: str) -> None:
    """Print a new API token for the agent (shown once; only its hash is kept)."""

    async def work(session: AsyncSession) -> str:
        return await issue_token(session, await get_agent_by_email(session, email))

    print(_in_session(work))


@agents_cli.command("password")
def agents_password(
    email: str,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="read the password from the first line of standard input")] = False,
) -> None:
    """Set the password the agent signs in to the pages with (asked twice, never echoed)."""
    import sys

    from routing.agents import check_password_rules, set_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        check_password_rules(password)
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None

    async def work(session: AsyncSession) -> None:
        await set_password(session, await get_agent_by_email(session, email), password)

    _in_session(work)
    out.print(f"password set for {email}; their other sessions are signed out")


@categories_cli.command("add")
def categories_add(
    slug: str,
    name: Annotated[str, typer.Option(help="name shown to citizens (French)")],
    skill: Annotated[str, typer.Option(help="skill slug that handles it (created if new)")],
    name_en: Annotated[str | None, typer.Option(help="English name")] = None,
    name_ar: Annotated[str | None, typer.Option(help="Arabic name")] = None,
    min_level: Annotated[int, typer.Option(min=1, max=5, help="lowest skill level that may handle it")] = 1,
    priority: Annotated[str, typer.Option(help="low, normal, high or urgent")] = "normal",
    team: Annotated[str | None, typer.Option(help="team slug whose queue and calendar it uses")] = None,
    sla_first_response: Annotated[int | None, typer.Option(help="first-response target, business minutes")] = None,
    sla_resolution: Annotated[int | None, typer.Option(help="resolution target, business minutes")] = None,
    escalate: Annotated[str, typer.Option(help="on breach: raise_priority,supervisor_queue")] = "",
    notify: Annotated[str | None, typer.Option(
        help="steps the citizen is told about, e.g. acknowledgement,more_information_needed,status_changed,"
             "resolved,satisfaction_survey; 'none' for none; unset: unchanged (new: all but status_changed)")] = None,
) -> None:
    """Add or update a category of requests."""
    names = {"fr": name, **({"en": name_en} if name_en else {}), **({"ar": name_ar} if name_ar else {})}

    async def work(session: AsyncSession) -> int:
        team_id = (await get_team(session, team)).id if team else None
        return (await upsert_category(
            session, slug=slug, name=name, names=names, skill_slug=skill, min_level=min_level, priority=priority,
            team_id=team_id, sla_first_response_minutes=sla_first_response,
            sla_resolution_minutes=sla_resolution, escalation=[r.strip() for r in escalate.split(",") if r.strip()],
            notify_steps=None if notify is None else [s.strip() for s in notify.split(",")
                                                      if s.strip() and s.strip() != "none"],
        )).id

    _in_session(work)
    out.print(f"category {slug} saved")


@outbox_cli.command("list")
def outbox_list(as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
                limit: int = 200) -> None:
    """Outbound messages, newest first."""

    async def work(session: AsyncSession) -> list[dict]:
        return [
            {"id": d.id, "channel": d.channel, "to": d.to, "subject": d.subject, "body": d.body,
             "state": d.state, "ticket_reference": reference, "segments": d.segments,
             "not_before": d.not_before.isoformat() if d.not_before else None,
             "encoding": d.encoding, "provider_status": d.provider_status, "error_code": d.error_code,
             "error": d.last_error}
            for d, reference in await list_outbox(session, limit=limit)
        ]

    rows = _in_session(work)
    if as_json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return
    table = Table("id", "ticket", "channel", "to", "subject", "state")
    for row in rows:
        code = f" {row['error_code']}" if row["error_code"] else ""
        # A queued message held back (SMS quiet hours, a retry's backoff) says when it leaves.
        until = (f" until {row['not_before'][:16].replace('T', ' ')} UTC"
                 if row["not_before"] and row["state"] == "queued" else "")
        table.add_row(str(row["id"]), row["ticket_reference"] or "-", row["channel"], row["to"],
                      row["subject"] or row["body"][:40], row["state"] + code + until)
    out.print(table if rows else "the outbox is empty")


@email_cli.command("parse")
def email_parse(
    files: Annotated[list[Path], typer.Argument(help=".eml files")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = True,
) -> None:
    """Parse raw emails (read-only): one JSON line per file; a bad file gets `error`, never a crash."""
    from app.email_report import parse_file

    for path in files:
        print(json.dumps(parse_file(path), ensure_ascii=False))


@email_cli.command("ingest")
def email_ingest(files: Annotated[list[Path], typer.Argument(help=".eml files")]) -> None:
    """Run raw emails through the whole pipeline (recorded, identified, threaded, assigned,
    acknowledged); one JSON line per file. Jobs run in this process."""
    from app.email_ingest import ingest_files

    for row in asyncio.run(ingest_files(get_settings(), files)):
        print(json.dumps(row, ensure_ascii=False))


@email_cli.command("poll")
def email_poll(once: Annotated[bool, typer.Option("--once", help="poll every mailbox once")] = True) -> None:
    """Poll the configured IMAP mailboxes (GUICHET_IMAP_MAILBOXES) and process what came in."""
    from app.email_ingest import poll_once

    settings = get_settings()
    if not settings.imap_mailboxes:
        err.print("[red]error:[/red] no mailbox configured (GUICHET_IMAP_MAILBOXES)")
        raise typer.Exit(1)
    print(json.dumps(asyncio.run(poll_once(settings)), ensure_ascii=False))


@inbound_cli.command("list")
def inbound_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Quarantined inbound messages (kept raw, with the reason), newest first."""
    from crm.inbound import quarantined

    async def work(session: AsyncSession) -> list[dict]:
        return [{"id": e.id, "channel": e.channel, "received_at": e.received_at.isoformat(),
                 "size": len(e.payload), "error": e.error} for e in await quarantined(session)]

    rows = _in_session(work)
    if as_json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return
    table = Table("id", "channel", "received", "bytes", "why")
    for row in rows:
        table.add_row(str(row["id"]), row["channel"], row["received_at"][:19], str(row["size"]),
                      row["error"] or "")
    out.print(table if rows else "nothing in quarantine")


@inbound_cli.command("replay")
def inbound_replay(event_id: int) -> None:
    """Process a quarantined inbound message again (after a fix)."""
    from app.email_ingest import replay_inbound

    try:
        print(json.dumps(asyncio.run(replay_inbound(get_settings(), event_id)), ensure_ascii=False))
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None


def main() -> None:
    cli()
