"""aiosqlite connections that cross to their thread once per statement.

aiosqlite runs each call on the connection's own thread and waits for the answer: a thread
handing work to another and back. SQLAlchemy's adapter makes four such trips per statement
(open a cursor, execute, fetch the rows, close the cursor) and two per session end (its
rollback, then the pool's on return). On a virtual machine a trip costs 120-160 µs when the
other thread must be woken on the other core (p99 600 µs; 15 µs when both share one), so
the trips were a third of a citizen resolution on SQLite (1.2 ms to begin a session, 1 ms
to end it). Here a statement is one trip: executed, its rows fetched and its cursor closed
on the thread; a commit or rollback with no transaction open (which sqlite3 itself skips)
makes none.

Used through `create_async_engine(async_creator=...)` (app.db), with the dialect's own
connect arguments; SQLAlchemy's adapter and error mapping stay as they are. A statement's
rows are fetched whole, as SQLAlchemy's adapter does for every cursor except server-side
ones, which this application does not use on SQLite (a server-side cursor still works: it
reads the fetched rows).
"""
from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Iterable
from functools import partial
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager


def _execute(connection: sqlite3.Connection, sql: str, parameters: Any) -> tuple:
    """On the connection's thread: the statement run, its rows and counts read, its cursor closed."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql) if parameters is None else cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _execute_many(connection: sqlite3.Connection, sql: str, parameters: Iterable[Any]) -> tuple:
    cursor = connection.cursor()
    try:
        cursor.executemany(sql, parameters)
        return None, cursor.rowcount, cursor.lastrowid, []
    finally:
        cursor.close()


class OneTripCursor:
    """The part of aiosqlite's Cursor that SQLAlchemy's adapter uses, a statement per trip."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: deque = deque()

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_exc) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        await self._run(_execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneTripCursor:
        await self._run(_execute_many, sql, parameters)
        return self

    async def _run(self, work, sql: str, parameters: Any) -> None:
        connection = self._connection
        self.description, self.rowcount, self.lastrowid, rows = await connection._execute(
            work, connection._conn, sql, parameters)
        self._rows = deque(rows)

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list:
        count = min(len(self._rows), self.arraysize if size is None else size)
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> list:
        rows, self._rows = list(self._rows), deque()
        return rows

    def __aiter__(self) -> OneTripCursor:
        return self

    async def __anext__(self) -> Any:
        if not self._rows:
            raise StopAsyncIteration
        return self._rows.popleft()

    async def close(self) -> None:
        self._rows.clear()


class OneTripConnection(aiosqlite.Connection):
    @contextmanager
    async def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    async def commit(self) -> None:
        # Read on this thread, as aiosqlite's own `in_transaction` does: the connection's
        # thread only runs what this one hands it and waits for, so nothing changes meanwhile.
        if self.in_transaction:
            await super().commit()

    async def rollback(self) -> None:
        if self.in_transaction:
            await super().rollback()


def async_creator(database: str, **arguments: Any):
    """`create_async_engine`'s async_creator: a OneTripConnection opened with the arguments the
    dialect would give sqlite3.connect."""
    async def connect() -> OneTripConnection:
        connection = OneTripConnection(partial(sqlite3.connect, database, **arguments), iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy does: a forgotten connection never holds up exit
        return await connection
    return connect
