"""`guichet routing …`: the router's offline tools."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.table import Table
from routing.scenario import ScenarioError, load_scenario
from routing.simulate import POLICIES, simulate

routing_cli = typer.Typer(help="Skills routing: simulation.", no_args_is_help=True)
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
