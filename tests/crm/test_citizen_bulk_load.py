"""crm.citizen_bulk_load against the real databases (SQLite and PostgreSQL): a load into empty
tables gives back every index and key it took away, refuses rows that break a unique key as a
whole, and stays out of the way when citizens are already there."""
from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.citizen_bulk_load import (TABLES, begin_bulk_load, finish_bulk_load, rollback_journal, settle,
                                   unvalidated_foreign_keys)
from crm.citizen_import import ExternalIds, ImportReport, Prepared, import_rows
from crm.errors import InvalidInput

Sessions = async_sessionmaker[AsyncSession]


async def citizen_schema(connection: AsyncConnection) -> dict[str, tuple]:
    """Every index, key and column default of the citizen tables, as the database itself
    describes them; on PostgreSQL, which foreign keys are not validated."""

    def read(sync_connection) -> dict[str, tuple]:
        found = inspect(sync_connection)
        return {table.name: (
            sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in found.get_indexes(table.name)),
            tuple(found.get_pk_constraint(table.name)["constrained_columns"]),
            sorted(tuple(u["column_names"]) for u in found.get_unique_constraints(table.name)),
            sorted((tuple(f["constrained_columns"]), f["referred_table"]) for f in found.get_foreign_keys(table.name)),
            sorted((c["name"], c["default"]) for c in found.get_columns(table.name)),
        ) for table in TABLES}

    schema = await connection.run_sync(read)
    if connection.dialect.name == "postgresql":
        schema["not validated"] = tuple(sorted(
            name for names in (await unvalidated_foreign_keys(connection)).values() for name in names))
    return schema


def person(line: int, name: str, keys: list[str]) -> Prepared:
    citizen = (name, None, None, None, None, None, None, f"X{line}", None, "[]")  # CITIZEN_COLUMNS
    return Prepared(line, {}, citizen, [("email", f"p{line}@example.org", f"p{line}@example.org")],
                    name.lower().split(), keys)


async def counts(sessions: Sessions) -> dict[str, int]:
    async with sessions() as session:
        return {table.name: (await session.execute(text(f"SELECT count(*) FROM {table.name}"))).scalar_one()
                for table in TABLES}


async def test_a_bulk_load_rebuilds_every_index_and_key_it_took_away(sessions: Sessions) -> None:
    async with sessions() as session:
        before = await citizen_schema(await session.connection())
    async with sessions() as session:
        load = await begin_bulk_load(session)
        assert load is not None and load.indexes
        during = await citizen_schema(await session.connection())
        assert during != before  # the indexes really were gone while the rows went in
        report = ImportReport()
        await import_rows(session, [person(2, "Nadia Amrani", ["n:amrani", "b:1980-01-01"]),
                                     person(3, "Nadia Amrani", ["n:amrani", "b:1981-01-01"])], report, load)
        await finish_bulk_load(session, load)
        await session.commit()
    assert report.created == 2
    async with sessions() as session:
        after = await citizen_schema(await session.connection())
    if "not validated" in after:  # PostgreSQL: the foreign keys are back, enforced, checked by settle
        assert after["not validated"] and after | {"not validated": ()} == before
    await settle(sessions.kw["bind"], created=True)
    async with sessions() as session:
        assert await citizen_schema(await session.connection()) == before
    assert await counts(sessions) == {"citizen": 2, "contact_point": 2, "citizen_name_token": 4, "identity_key": 4}


async def test_rows_breaking_a_unique_key_are_refused_whole_and_the_indexes_stay(sessions: Sessions) -> None:
    async with sessions() as session:
        before = await citizen_schema(await session.connection())
    async with sessions() as session:
        load = await begin_bulk_load(session)
        assert load is not None
        # The same blocking key twice for one citizen: (citizen_id, key) is the table's primary key,
        # checked as the rows arrive on SQLite (which cannot drop it), when it is rebuilt on PostgreSQL.
        with pytest.raises(InvalidInput, match="uniqueness rule.*nothing was imported") as refused:
            await import_rows(session, [person(2, "Jean Dupont", ["n:dpnt"]), person(3, "Marc Roux", ["n:rx", "n:rx"])],
                              ImportReport(), load)
            await finish_bulk_load(session, load)
        assert "n:rx" not in refused.value.message  # the database's words, not the row's values
        await session.rollback()
    async with sessions() as session:
        assert await citizen_schema(await session.connection()) == before
    assert set((await counts(sessions)).values()) == {0}


async def test_no_bulk_load_once_citizens_are_there(sessions: Sessions) -> None:
    async with sessions() as session:
        await import_rows(session, [person(2, "Jean Dupont", ["n:dpnt"])], ImportReport())
        await session.commit()
    async with sessions() as session:
        assert await begin_bulk_load(session) is None
        await session.rollback()


def test_repeated_external_ids_are_found_within_a_chunk_and_across_chunks() -> None:
    """The bulk load checks a whole chunk's external ids at once: repeats are named with the line
    that used the id first, rows without one are never repeats, the rest are remembered."""
    ids = ExternalIds()
    assert ids.repeats([2, 3, 4], ["A", "B", None]) == {}
    assert ids.repeats([5, 6, 7, 8], ["C", "A", "C", None]) == {
        6: "external_id 'A' already on line 2", 7: "external_id 'C' already on line 5"}
    assert ids.repeats([9, 10], ["D", "E"]) == {}
    assert ids.seen == {"A": 2, "B": 3, "C": 5, "D": 9, "E": 10}


async def journal_mode(engine) -> str:
    async with engine.connect() as connection:
        return (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar_one()


async def test_a_first_load_on_sqlite_leaves_the_wal_only_when_nobody_else_is_there(sessions: Sessions) -> None:
    """Alone on the database, the load's transaction goes to a rollback journal (each page
    written once) and the WAL comes back after; with another connection open, it stays in WAL,
    at once, instead of waiting for that connection."""
    engine = sessions.kw["bind"]
    sqlite = engine.dialect.name == "sqlite"
    async with rollback_journal(engine) as switched:
        assert switched == sqlite
        if sqlite:
            assert await journal_mode(engine) == "delete"
    if not sqlite:
        return
    assert await journal_mode(engine) == "wal"
    reader = sqlite3.connect(engine.url.database)
    try:
        assert reader.execute("SELECT count(*) FROM citizen").fetchone() == (0,)
        started = time.monotonic()
        async with rollback_journal(engine) as switched:
            assert not switched and await journal_mode(engine) == "wal"
        assert time.monotonic() - started < 5
    finally:
        reader.close()
