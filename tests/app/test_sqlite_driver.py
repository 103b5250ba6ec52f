"""SQLite through app.sqlite_driver: every statement does what sqlite3 does, in one trip to the
connection's thread."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.db import make_engine, make_sessionmaker
from app.sqlite_driver import OneTripConnection


@pytest.fixture
async def sessions(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as connection:
        await connection.exec_driver_sql("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)")
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_rows_counts_ids_and_errors_are_sqlite3s(sessions) -> None:
    async with sessions() as session:
        inserted = await session.execute(text("INSERT INTO item (name) VALUES (:name)"), [{"name": "a"}, {"name": "b"}])
        assert inserted.rowcount == 2
        third = await session.execute(text("INSERT INTO item (name) VALUES ('c')"))
        assert third.lastrowid == 3
        assert (await session.execute(text("UPDATE item SET name = name || '!' WHERE id > 1"))).rowcount == 2
        assert (await session.execute(text("SELECT id, name FROM item ORDER BY id"))).all() == [
            (1, "a"), (2, "b!"), (3, "c!")]
        streamed = await session.stream(text("SELECT name FROM item ORDER BY id"))
        assert [row async for row in streamed.scalars()] == ["a", "b!", "c!"]
        with pytest.raises(IntegrityError, match="UNIQUE"):
            await session.execute(text("INSERT INTO item (name) VALUES ('a')"))


async def test_rollback_discards_and_commit_keeps(sessions) -> None:
    async with sessions() as session:
        await session.execute(text("INSERT INTO item (name) VALUES ('kept')"))
        await session.commit()
        await session.execute(text("INSERT INTO item (name) VALUES ('dropped')"))
        await session.rollback()
    async with sessions() as session:
        assert (await session.execute(text("SELECT name FROM item"))).scalars().all() == ["kept"]


async def test_a_session_with_one_query_crosses_three_times(sessions, monkeypatch) -> None:
    """BEGIN, the query (executed, fetched, its cursor closed) and the ROLLBACK that ends the
    session: one trip each (aiosqlite through SQLAlchemy's adapter made nine: four a statement,
    and the pool's second rollback)."""
    async with sessions() as session:  # the pool's connection opened (its PRAGMAs are trips of their own)
        await session.execute(text("SELECT 1"))
    trips = []
    original = OneTripConnection._execute

    async def counted(self, function, *args, **kwargs):
        trips.append(getattr(function, "__name__", repr(function)))
        return await original(self, function, *args, **kwargs)

    monkeypatch.setattr(OneTripConnection, "_execute", counted)
    async with sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM item"))).scalar_one() == 0
    assert trips == ["_execute", "_execute", "rollback"]
