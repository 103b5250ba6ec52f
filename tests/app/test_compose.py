"""compose.yaml cannot run here (no Docker engine): keep it right by reading it against Settings."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]


def _env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in SERVICES[service]["environment"].items()}


def test_the_five_services() -> None:
    assert set(SERVICES) == {"app", "worker", "postgres", "redis", "mail"}


@pytest.mark.parametrize("service", ["app", "worker"])
def test_every_guichet_variable_is_a_setting(service: str) -> None:
    names = {name.removeprefix("GUICHET_").lower() for name in _env(service) if name.startswith("GUICHET_")}
    assert names and names <= set(Settings.model_fields)


@pytest.mark.parametrize("service", ["app", "worker"])
def test_urls_point_at_the_compose_services(service: str) -> None:
    env = _env(service)
    database = urlsplit(env["GUICHET_DATABASE_URL"])
    assert database.scheme == "postgresql+asyncpg" and database.hostname == "postgres"
    assert urlsplit(env["GUICHET_REDIS_URL"]).hostname == "redis"
    assert urlsplit(env["GUICHET_SMTP_URL"]).hostname == "mail"
    Settings(_env_file=None, **{k.removeprefix("GUICHET_").lower(): v for k, v in env.items()})


def test_app_migrates_before_serving_and_worker_runs_jobs() -> None:
    command = SERVICES["app"]["command"]
    assert re.search(r"guichet db upgrade\s*&&\s*guichet serve", command)
    assert SERVICES["worker"]["command"] == "guichet worker"


def test_health_checks_and_start_order() -> None:
    for name, service in SERVICES.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    assert "/ready" in " ".join(SERVICES["app"]["healthcheck"]["test"])
    for name in ("app", "worker"):
        depends = SERVICES[name]["depends_on"]
        assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy"


def test_image_installs_from_the_lock_file() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r requirements.lock" in dockerfile
    for package in ("app", "crm", "channels", "routing", "replies", "alembic"):
        assert f"COPY {package} " in dockerfile


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    listed = set(re.findall(r"^#?\s*GUICHET_([A-Z_]+)=", (ROOT / ".env.example").read_text(), flags=re.M))
    assert listed == {name.upper() for name in Settings.model_fields}
