"""One Alembic chain: empty -> head -> base on each database, and no drift from the models."""
from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

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
                return tables, (compare_metadata(context, metadata) + _collation_drift(sync_connection)
                                + _primary_key_drift(sync_connection))
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


def _primary_key_drift(sync_connection) -> list[tuple[str, object]]:
    """Primary keys whose column order differs from the model's, and SQLite tables with or without
    a rowid against the model's wish: Alembic's comparison sees neither, and a bulk load relies
    on both (crm.models.KEYED_BY_CITIZEN)."""
    inspector, sqlite = inspect(sync_connection), sync_connection.dialect.name == "sqlite"
    drift: list[tuple[str, object]] = []
    for table in metadata.tables.values():
        if not inspector.has_table(table.name):
            continue
        found = inspector.get_pk_constraint(table.name)["constrained_columns"]
        if found != [column.name for column in table.primary_key.columns]:
            drift.append((table.name, found))
        if sqlite:
            sql = sync_connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table.name,)).scalar_one()
            wanted = table.dialect_options["sqlite"]["with_rowid"] is not False
            if ("WITHOUT ROWID" not in sql.upper()) != wanted:
                drift.append((table.name, "with rowid" if wanted else "without rowid"))
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


async def test_keys_and_name_words_are_kept_when_their_order_changes(empty_database: str) -> None:
    """0016 stores blocking keys and name words in citizen order: every row is still there after
    the upgrade, found by its value, and again after the downgrade."""
    await asyncio.to_thread(migrations.upgrade, empty_database, "0015")
    rows = {"identity_key": [("b:1980-01-02", 1), ("n:mhmd:bnl", 1), ("n:mhmd:bnl", 2)],
            "citizen_name_token": [("mohamed", 1), ("mohamed", 2), ("benali", 2)]}
    engine = make_engine(empty_database)
    try:
        async with engine.begin() as connection:
            for citizen_id in (1, 2):
                await connection.execute(text(
                    "INSERT INTO citizen (id, full_name, created_at, updated_at, alternates) "
                    "VALUES (:id, 'Mohamed Benali', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, '[]')"), {"id": citizen_id})
            for table, values in rows.items():
                column = "key" if table == "identity_key" else "token"
                await connection.execute(text(f'INSERT INTO {table} ("{column}", citizen_id) VALUES (:v, :c)'),
                                         [{"v": v, "c": c} for v, c in values])

        async def stored() -> dict[str, list[tuple[str, int]]]:
            async with engine.connect() as connection:
                found = {}
                for table in rows:
                    column = "key" if table == "identity_key" else "token"
                    result = await connection.execute(text(f'SELECT "{column}", citizen_id FROM {table}'))
                    found[table] = sorted(map(tuple, result.all()))
                found["by value"] = [tuple(row) for row in (await connection.execute(text(
                    "SELECT key, citizen_id FROM identity_key WHERE key = 'n:mhmd:bnl' ORDER BY citizen_id"))).all()]
                return found

        expected = {table: sorted(values) for table, values in rows.items()} | {
            "by value": [("n:mhmd:bnl", 1), ("n:mhmd:bnl", 2)]}
        await asyncio.to_thread(migrations.upgrade, empty_database)
        assert await stored() == expected
        await asyncio.to_thread(migrations.downgrade, empty_database, "0015")
        assert await stored() == expected
    finally:
        await engine.dispose()
