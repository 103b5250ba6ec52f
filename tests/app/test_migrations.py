"""One Alembic chain: empty -> head -> base on each database, and no drift from the models."""
from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app import migrations
from app.db import make_engine, metadata
from tests.conftest import PG_URL, pg_database

DATABASES = ["sqlite", *(["postgres"] if PG_URL else [])]


@pytest.fixture(params=DATABASES)
async def empty_database(request: pytest.FixtureRequest, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    async with pg_database() as url:
        yield url


async def _state(url: str) -> tuple[set[str], list]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            def read(sync_connection):
                tables = set(inspect(sync_connection).get_table_names())
                context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
                return tables, compare_metadata(context, metadata) + _collation_drift(sync_connection)
            return await connection.run_sync(read)
    finally:
        await engine.dispose()


def _collation_drift(sync_connection) -> list[tuple[str, str, str | None]]:
    """Columns whose collation differs from the model's: Alembic's comparison does not look at
    collations, and byte-ordered keys (crm.columns.byte_ordered) rely on theirs."""
    inspector, dialect = inspect(sync_connection), sync_connection.dialect
    drift = []
    for table in metadata.tables.values():
        if not inspector.has_table(table.name):  # after a downgrade
            continue
        found = {column["name"]: getattr(column["type"], "collation", None)
                 for column in inspector.get_columns(table.name)}
        for column in table.columns:
            expected = getattr(column.type.dialect_impl(dialect), "collation", None)
            if column.name in found and found[column.name] != expected:
                drift.append((table.name, column.name, found[column.name]))
    return drift


async def test_upgrade_matches_the_models_and_downgrade_empties(empty_database: str) -> None:
    await asyncio.to_thread(migrations.upgrade, empty_database)
    tables, drift = await _state(empty_database)
    assert set(metadata.tables) <= tables
    assert drift == [], f"models and migrations differ: {drift}"
    await asyncio.to_thread(migrations.downgrade, empty_database, "base")
    tables, _ = await _state(empty_database)
    assert tables <= {"alembic_version"}
    await asyncio.to_thread(migrations.upgrade, empty_database)  # and back up again
    tables, drift = await _state(empty_database)
    assert set(metadata.tables) <= tables and drift == []
