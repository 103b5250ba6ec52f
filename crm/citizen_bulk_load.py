"""Citizens loaded into empty tables in one transaction, their indexes built once at the end.

Inserting into a B-tree at random places costs a page search and often a split per entry; an
index built over a finished table is one sort. An import into an empty database therefore drops
the secondary indexes, primary keys and foreign keys of the citizen tables, writes every row,
then builds them again, all in the transaction that writes the rows: DDL is transactional on
PostgreSQL and SQLite, so a crash or a kill leaves the tables empty with every index in place.
What is dropped and rebuilt is read from the models' own metadata, never written out here, so
it cannot drift from the migrations. Rebuilt unique keys and primary keys check every row: a
duplicate is refused as a whole, with a clear error, and nothing is written. SQLite cannot drop a
primary key: the composite ones lead with the citizen id (crm.models.KEYED_BY_CITIZEN) and
citizens are written in id order, so their B-trees are only ever appended to. PostgreSQL's
foreign keys come back NOT VALID (enforced for every later write) and `settle` checks the loaded
rows after the commit, table by table side by side; a kill in between leaves that check to the
next import's `settle`.
"""
from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

from sqlalchemy import ForeignKeyConstraint, Index, Table, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.errors import InvalidInput
from crm.models import Citizen, CitizenNameToken, ContactPoint, IdentityKey

TABLES: tuple[Table, ...] = (Citizen.__table__, ContactPoint.__table__, CitizenNameToken.__table__,  # type: ignore[attr-defined]
                             IdentityKey.__table__)  # type: ignore[attr-defined]
# Columns holding the load's own time on every row. PostgreSQL: the load makes now() (its
# transaction's start) their default while it runs, and COPY leaves them out: parsing three
# timestamps a citizen cost the server 0.75 s a million citizens. Put back as the migrations
# have them (no default) before the load commits.
STAMPED = {"citizen": ("created_at", "updated_at"), "contact_point": ("created_at",)}
# SQLite: the load's page cache, in KiB (SQLite's default is about 2 MB). Its index builds sort
# in runs as large as the page cache: with 256 MB they took twice as long as with 2 to 8 MB
# (identity_key's 7.9-9.1 against 3.6-4.1 s at 1,000,000 citizens), the runs no longer fitting
# the CPU's caches; the load's own writes only append.
LOAD_CACHE_KIB = 4096


@dataclass
class BulkLoad:
    """What a bulk load took away, to put back before it commits; where the rows go meanwhile."""

    dialect: str
    indexes: list[Index] = field(default_factory=list)
    constraints: list[UniqueConstraint | ForeignKeyConstraint] = field(default_factory=list)
    # PostgreSQL: tables emptied by this transaction, which COPY may write already frozen (FREEZE):
    # their pages are then all-visible at once, and the VACUUM after the load has nothing to do
    # there (index-only lookups of keys need the visibility map that VACUUM otherwise writes).
    frozen: frozenset[str] = frozenset()


def _composite_primary_key(table: Table) -> bool:
    return len(table.primary_key.columns) > 1


def _rebuilt_constraints(table: Table) -> list[UniqueConstraint | ForeignKeyConstraint]:
    """Keys PostgreSQL rebuilds after the load: unique keys, composite primary keys (a serial id
    only ever grows: appending to its index is cheap) and foreign keys."""
    keys: list = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
    if _composite_primary_key(table):
        keys.append(table.primary_key)
    return keys + sorted(table.foreign_key_constraints, key=lambda c: c.name or "")


async def _unreferenced(connection) -> list[str]:
    """The load's tables that no foreign key points to, as the database has them (TRUNCATE
    would refuse the others)."""
    names = [table.name for table in TABLES]
    found = await connection.exec_driver_sql(
        "SELECT DISTINCT confrelid::regclass::text FROM pg_constraint "
        f"WHERE contype = 'f' AND confrelid::regclass::text IN ({', '.join(repr(name) for name in names)})")
    referenced = {row[0] for row in found.all()}
    return [name for name in names if name not in referenced]


@asynccontextmanager
async def rollback_journal(engine: AsyncEngine) -> AsyncIterator[bool]:
    """SQLite: a bulk load's transaction in a rollback journal instead of the WAL, when nobody
    else has the database open (leaving WAL needs that; otherwise nothing changes). Yields
    whether it switched. In WAL every page of the load is written twice: into the WAL as the
    page cache spills, then into the database by the checkpoint at the commit (4 s with one
    core idle at a million citizens). A rollback journal writes a new page once, into the
    database: the pages of empty tables hold nothing to save. Meanwhile nobody else can open the
    database (app.db's connections ask for WAL, which waits for the load): the citizen tables
    are locked for the load anyway. The WAL comes back after the load; after a killed load, the
    next connection rolls the journal back and puts the WAL back itself (app.db)."""
    switched = engine.dialect.name == "sqlite" and await _journal_mode(engine, "DELETE") == "delete"
    try:
        yield switched
    finally:
        if switched:
            await _journal_mode(engine, "WAL")


async def _journal_mode(engine: AsyncEngine, mode: str) -> str:
    """Ask for a journal mode outside any transaction, without waiting on another connection."""
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        (patience,) = await (await raw.execute("PRAGMA busy_timeout")).fetchone()
        await raw.execute("PRAGMA busy_timeout = 0")
        try:
            (found,) = await (await raw.execute(f"PRAGMA journal_mode = {mode}")).fetchone()
        except sqlite3.OperationalError:  # locked: another connection is using the database
            found = ""
        finally:
            await raw.execute(f"PRAGMA busy_timeout = {int(patience)}")
        return str(found).lower()


async def tables_empty(session: AsyncSession) -> bool:
    """Whether a bulk load would start now (begin_bulk_load looks again, under its lock)."""
    connection = await session.connection()
    for table in TABLES:
        found = await connection.exec_driver_sql(f"SELECT 1 FROM {table.name} LIMIT 1")
        if found.first() is not None:
            return False
    return True


async def begin_bulk_load(session: AsyncSession) -> BulkLoad | None:
    """In the session's transaction: when the citizen tables are empty, take their indexes away
    and return what to rebuild; else None (the caller imports row batches as usual). The tables
    stay locked until the transaction ends (on SQLite, the whole database is)."""
    connection = await session.connection()
    dialect = connection.dialect.name
    if not await tables_empty(session):
        return None  # without locking anything: a live service's later imports never wait on it
    if dialect == "postgresql":
        # Then look again under the lock: nobody may add a citizen between the look and the load.
        await connection.exec_driver_sql(
            f"LOCK TABLE {', '.join(t.name for t in TABLES)} IN ACCESS EXCLUSIVE MODE")
        if not await tables_empty(session):
            return None
    load = BulkLoad(dialect)
    if dialect == "sqlite":
        await connection.exec_driver_sql(f"PRAGMA cache_size = -{LOAD_CACHE_KIB}")
    if dialect == "postgresql":
        # The index builds sort in the server's own maintenance_work_mem: 256 MB instead of the
        # default 64 MB made them slower (rebuild 14.5-15.5 against 13.0-13.2 s at 1,000,000
        # citizens, 2 cores): smaller sorted runs stay in the CPU's caches. The server also
        # starts parallel build workers only while each gets 32 MB of it: its administrator's
        # setting sizes both for the server's own cores.
        load.frozen = frozenset(await _unreferenced(connection))
        if load.frozen:  # empty already: truncating them is what lets COPY freeze their rows
            await connection.exec_driver_sql(f"TRUNCATE {', '.join(sorted(load.frozen))}")
        for table in TABLES:
            load.constraints += _rebuilt_constraints(table)
        await _stamp_defaults(connection, "now()")
        # Foreign keys first: a unique key cannot go while a foreign key leans on it.
        for constraint in sorted(load.constraints, key=lambda c: not isinstance(c, ForeignKeyConstraint)):
            await connection.execute(DropConstraint(constraint))
    for table in TABLES:
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            await connection.execute(DropIndex(index))
            load.indexes.append(index)
    return load


async def finish_bulk_load(session: AsyncSession, load: BulkLoad) -> None:
    """Build every index and key again, in the load's transaction. Raises InvalidInput when the
    rows break a unique key (the caller rolls back: nothing is written)."""
    connection = await session.connection()
    with refused_whole():
        # Unique and primary keys before the foreign keys that need them; indexes in between.
        for constraint in load.constraints:
            if not isinstance(constraint, ForeignKeyConstraint):
                await connection.execute(AddConstraint(constraint))
        for index in load.indexes:
            await connection.execute(CreateIndex(index))
        for constraint in load.constraints:
            if isinstance(constraint, ForeignKeyConstraint):
                # NOT VALID: enforced from now on, the loaded rows checked after the commit
                # (settle), each table on its own connection instead of one
                # after the other here with a core idle. The load numbered every citizen id it
                # wrote itself: the check cannot fail, and a crash before it leaves keys that
                # the next import validates.
                add = AddConstraint(constraint).compile(dialect=connection.dialect)
                await connection.exec_driver_sql(f"{add} NOT VALID")
        if load.dialect == "postgresql":
            await _stamp_defaults(connection, None)
            # The load numbered the citizens itself (after the sequence's next value, taken
            # when it began): the sequence goes on after the last of them.
            await connection.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('citizen', 'id'), max(id)) FROM citizen HAVING count(*) > 0")


async def _stamp_defaults(connection, default: str | None) -> None:
    for table, columns in STAMPED.items():
        for column in columns:
            change = f"SET DEFAULT {default}" if default else "DROP DEFAULT"
            await connection.exec_driver_sql(f"ALTER TABLE {table} ALTER COLUMN {column} {change}")


async def unvalidated_foreign_keys(connection) -> dict[str, list[str]]:
    """PostgreSQL: each citizen table's foreign keys not validated yet (by name): those a bulk load
    added, or left behind when it was killed between its commit and their validation."""
    names = ", ".join(repr(table.name) for table in TABLES)
    found = await connection.exec_driver_sql(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint "
        f"WHERE contype = 'f' AND NOT convalidated AND conrelid::regclass::text IN ({names}) ORDER BY 1, 2")
    keys: dict[str, list[str]] = {}
    for table, name in found.all():
        keys.setdefault(table, []).append(name)
    return keys


async def settle(engine: AsyncEngine, *, created: bool) -> None:
    """After an import has committed. PostgreSQL, for each citizen table: its foreign keys
    validated (finish_bulk_load adds them NOT VALID), then, when citizens were created, VACUUM
    (ANALYZE): the planner's statistics and the visibility map describe the tables as they were
    before, and key lookups would fetch a heap page per entry instead of reading the index alone
    (at a million citizens: 1.5 ms instead of 0.14 ms for a common key), until autovacuum gets
    there. The tables side by side, each on its own connection: one after the other, this left a
    core idle for 4.7 s at a million citizens. SQLite: refresh its statistics."""
    if engine.dialect.name != "postgresql":
        if created:
            async with engine.connect() as connection:
                await connection.exec_driver_sql("PRAGMA optimize")
                await connection.commit()
        return
    async with engine.connect() as connection:
        keys = await unvalidated_foreign_keys(connection)
    tables = [table.name for table in TABLES if created or table.name in keys]
    await asyncio.gather(*(_settle_table(engine, table, keys.get(table, []), vacuum=created) for table in tables))


async def _settle_table(engine: AsyncEngine, table: str, keys: list[str], *, vacuum: bool) -> None:
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for key in keys:
            await autocommit.exec_driver_sql(f'ALTER TABLE {table} VALIDATE CONSTRAINT "{key}"')
        if vacuum:
            await autocommit.exec_driver_sql(f"VACUUM (ANALYZE) {table}")


@contextmanager
def refused_whole() -> Iterator[None]:
    """A unique key broken by the load's rows (when a key is rebuilt, or as rows arrive where a
    key could not be dropped) refuses the whole load: InvalidInput, and the caller rolls back."""
    try:
        yield
    except (IntegrityError, sqlite3.IntegrityError) as exc:  # the second: from the driver's own connection
        raise InvalidInput("the rows break a uniqueness rule of the citizen tables "
                           f"({_reason(exc)}); nothing was imported") from None


def _reason(exc: IntegrityError | sqlite3.IntegrityError) -> str:
    """The constraint's name and the database's own words, without the row's values."""
    error = exc.orig if isinstance(exc, IntegrityError) else exc
    text = str(error).splitlines()[0] if error is not None else "integrity error"
    return text.split("DETAIL")[0].strip()[:200]
