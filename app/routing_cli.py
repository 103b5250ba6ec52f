"""`guichet routing …`: the router's offline tools."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.table import Table
from routing.agents import get_agent_by_email
from routing.scenario import ScenarioError, load_scenario
from routing.simulate import POLICIES, simulate
from routing.teams import add_member, get_team, upsert_team

from app.cli_session import in_session
from app.settings import get_settings

routing_cli = typer.Typer(help="Skills routing: simulation.", no_args_is_help=True)
teams_cli = typer.Typer(help="Teams: their agents, opening hours and holidays.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _read_scenario(path: Path):
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot read {path}: {exc.strerror}")
        raise typer.Exit(2) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        err.print(f"[red]error:[/red] {path} is not valid YAML: {exc}")
        raise typer.Exit(2) from None
    try:
        return load_scenario(data)
    except ScenarioError as exc:
        err.print(f"[red]error:[/red] {path}: {exc}")
        raise typer.Exit(2) from None


@routing_cli.command("simulate")
def routing_simulate(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML (format: docs/routing.md)")],
    policy: Annotated[str, typer.Option(help="skills, round_robin or least_loaded")] = "skills",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Run the scenario on virtual time with the real router (or a baseline) and print the figures."""
    if policy not in POLICIES:
        err.print(f"[red]error:[/red] unknown policy {policy!r}; one of: {', '.join(POLICIES)}")
        raise typer.Exit(2)
    result = simulate(_read_scenario(scenario), policy)
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    table = Table(title=f"{scenario.name} — policy {policy}", show_header=False)
    for key, value in result.items():
        if key != "utilisation":
            table.add_row(key, str(value))
    for name, share in result["utilisation"].items():
        table.add_row(f"utilisation {name}", f"{share:.0%}")
    out.print(table)


@teams_cli.command("add")
def teams_add(
    slug: str,
    name: Annotated[str, typer.Option(help="team name")],
    hours: Annotated[str | None, typer.Option(
        help='opening hours as JSON, e.g. \'{"days": ["mon","tue","wed","thu","fri"], "start": "08:30", '
             '"end": "17:00"}\'; unset: always open')] = None,
    country: Annotated[str | None, typer.Option(help="public holidays of this country, e.g. FR or MA")] = None,
    holidays: Annotated[str, typer.Option(help="extra closed dates, e.g. 2026-12-24,2026-12-31")] = "",
) -> None:
    """Add or update a team and its business calendar (SLA due times count its open hours)."""
    try:
        opening = json.loads(hours) if hours else None
    except json.JSONDecodeError as exc:
        err.print(f"[red]error:[/red] --hours is not valid JSON: {exc}")
        raise typer.Exit(2) from None
    extra = [d.strip() for d in holidays.split(",") if d.strip()]

    async def work(session):
        return (await upsert_team(session, slug=slug, name=name, opening_hours=opening, holiday_country=country,
                                  extra_holidays=extra, tz=get_settings().timezone)).id

    in_session(work)
    out.print(f"team {slug} saved")


@teams_cli.command("join")
def teams_join(slug: str, emails: Annotated[list[str], typer.Argument(help="agents' emails")]) -> None:
    """Put agents in a team."""
    async def work(session):
        team = await get_team(session, slug)
        for email in emails:
            await add_member(session, team, (await get_agent_by_email(session, email)).id)

    in_session(work)
    out.print(f"{len(emails)} agent(s) in team {slug}")
