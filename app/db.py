"""Engine and sessions. Importing this module registers every package's tables."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

import crm.models  # noqa: F401  (registers tables)
import crm.identity  # noqa: F401  (keeps citizens' blocking keys in step with them)
import crm.search  # noqa: F401  (keeps the citizen name index in step with citizens)
import replies.models  # noqa: F401
import routing.models  # noqa: F401

metadata = SQLModel.metadata
T = TypeVar("T")


def sync_url(url: str) -> str:
    """The same database through a synchronous driver (for alembic's offline tooling)."""
    return url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")


def make_engine(url: str, **kwargs) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _sqlite_immediate_transactions(engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, **kwargs)


def _sqlite_immediate_transactions(engine: AsyncEngine) -> None:
    """Writers queue on SQLite's lock instead of failing with 'database is locked'.

    pysqlite's own BEGIN is deferred; a read transaction that later writes can
    then fail at once. Taking the write lock at BEGIN makes every transaction
    wait its turn (busy timeout), which is what the embedded mode needs.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def in_transaction(database_url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """One unit of work on its own engine, committed: for commands and scripts that run once
    and exit (an engine outliving its event loop would fail at exit)."""
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


def hold_loaded(session: AsyncSession) -> None:
    """Keep every row this session loads or inserts referenced until the session ends.

    The identity map holds rows weakly: a row the code has stopped referencing is collected
    and the next `session.get` of it is a SELECT again (the inbound job re-read its ticket,
    message, citizen, agent and routing row that way, five statements per email). For the
    short sessions of jobs that revisit their rows."""
    held: list[object] = []
    sync = session.sync_session

    def hold(_session, instance) -> None:
        held.append(instance)

    event.listen(sync, "loaded_as_persistent", hold)
    event.listen(sync, "pending_to_persistent", hold)
    sync.info["held"] = held
