"""PostgreSQL's pool: a connection idle for a while is checked before use, so a server that
dropped it (a restart, an idle timeout) costs no request; one in steady use is not pinged."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from app import db
from app.db import make_engine, make_sessionmaker
from tests.conftest import PG_URL, pg_database, pg_execute

IDLE = 0.3  # the test's idle limit: long enough to tell a burst apart, short enough to wait for


@pytest.fixture(params=["postgres"] if PG_URL else [])
async def sessions(monkeypatch):
    monkeypatch.setattr(db, "PING_IDLE_SECONDS", IDLE)
    async with pg_database() as url:
        engine = make_engine(url)
        pings = []
        ping = engine.dialect.do_ping
        monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: pings.append(1) or ping(connection))
        try:
            yield make_sessionmaker(engine), pings
        finally:
            await engine.dispose()


async def backend_pid(sessions) -> int:
    async with sessions() as session:
        return (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()


async def test_a_connection_the_server_dropped_while_idle_costs_no_request(sessions) -> None:
    sessions, pings = sessions
    first = await backend_pid(sessions)
    await pg_execute(f"SELECT pg_terminate_backend({first})")
    await asyncio.sleep(IDLE * 1.5)
    assert await backend_pid(sessions) != first  # its ping failed: another connection served
    assert pings


async def test_a_connection_in_steady_use_is_not_pinged(sessions) -> None:
    sessions, pings = sessions
    first = await backend_pid(sessions)
    for _ in range(20):
        assert await backend_pid(sessions) == first
    assert pings == []
    await asyncio.sleep(IDLE * 1.5)
    assert await backend_pid(sessions) == first
    assert pings == [1]
