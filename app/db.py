"""Engine and sessions. Importing this module registers every package's tables."""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import asyncpg

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.sqlite_driver import async_creator
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
        (database,), arguments = parsed.get_dialect()().create_connect_args(parsed)
        engine = create_async_engine(url, async_creator=async_creator(database, **arguments, timeout=30), **kwargs)
        _sqlite_immediate_transactions(engine)
        return engine
    engine = create_async_engine(url, pool_size=10, max_overflow=10, **kwargs)
    _ping_idle_connections(engine)
    return engine


# A pooled connection idle this long is pinged before it is handed out; one used more recently
# is taken as alive. pool_pre_ping pinged at every checkout: ~1 ms a session on PostgreSQL (a
# fifth of a citizen resolution) to guard against a server restarted between two requests.
PING_IDLE_SECONDS = 1.0


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """SQLAlchemy's documented pessimistic check, done only after idleness: a connection that
    fails its ping is thrown away and the pool hands out another (raising DisconnectionError
    from `checkout` makes it reconnect, up to three times)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connected(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < PING_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("the connection was lost while idle in the pool") from exc


AckDatabase = asyncpg.Pool | AsyncEngine


async def make_ack_database(url: str, engine: AsyncEngine) -> AckDatabase:
    """Where the answers a provider waits on (Twilio's SMS webhook) record their raw event.

    PostgreSQL: a raw asyncpg pool, autocommit, one statement per request — no ORM session, no
    BEGIN/COMMIT round trips, no pre-ping (a `SELECT 1` per checkout would double the round
    trips: the caller retries once on a dropped connection instead), and no SQLAlchemy layer
    (~0.6 ms of CPU per post). A fixed pool of 10: each connection is held for one statement;
    connections opened under a burst and closed after it cost a connect each (min_size 0: the
    app starts while the database is down, like the engine). SQLite is one file with one
    writer: the application's engine serves, in a transaction."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return engine
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return await asyncpg.create_pool(dsn, min_size=0, max_size=10, reset=_nothing_to_reset)


async def _nothing_to_reset(_connection: asyncpg.Connection) -> None:
    """asyncpg's default reset on release is a round trip (advisory unlock, CLOSE ALL, UNLISTEN,
    RESET ALL): 11 % of the webhook's CPU in py-spy. These connections run one autocommit
    INSERT or SELECT and never change session state, so there is nothing to reset."""


async def close_ack_database(database: AckDatabase, engine: AsyncEngine) -> None:
    if database is not engine:
        await database.close() if isinstance(database, asyncpg.Pool) else await database.dispose()


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
