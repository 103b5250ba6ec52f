"""Run Alembic from code (the CLI, the demo, the tests)."""
from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from app.db import make_engine

def _project_root() -> Path:
    """The checkout (editable install, tests) or the working directory (an installed image)."""
    for candidate in (Path(__file__).resolve().parent.parent, Path.cwd()):
        if (candidate / "alembic.ini").exists() and (candidate / "alembic" / "env.py").exists():
            return candidate
    raise FileNotFoundError("alembic.ini and alembic/ not found next to the code nor here")


def alembic_config(database_url: str) -> Config:
    root = _project_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "alembic"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Call from synchronous code: Alembic's env runs its own event loop."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


async def current_revision(database_url: str) -> str | None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision())
    finally:
        await engine.dispose()


def ensure_schema(database_url: str) -> str:
    """Before serving: SQLite (the embedded default) is migrated in place; any other
    database must have been migrated by `guichet db upgrade` (an operator's decision)."""
    head = head_revision()
    current = asyncio.run(current_revision(database_url))
    if current == head:
        return "current"
    if make_url(database_url).get_backend_name() == "sqlite":
        upgrade(database_url)
        return "upgraded"
    raise SchemaOutOfDate(f"the database schema is at {current or 'nothing'}, not {head}: "
                          "run `guichet db upgrade` first")


class SchemaOutOfDate(RuntimeError):
    pass
