"""`guichet citizens …`: bring citizens in from another system, or check a file against them."""
from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import gc
import itertools
import multiprocessing
import os
import json
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import event
from crm.citizen_bulk_load import begin_bulk_load, finish_bulk_load, rollback_journal, settle, tables_empty
from crm.citizen_import import (ErrorFile, ExternalIds, Header, ImportReport, LoadChunk, Prepared, Row, RowError,
                                ignored_notice, import_row_deduped, import_rows, load_chunk, now_text, prepare_chunk,
                                raw_values, read_csv_chunks, read_rows, reserve_citizen_ids, write_load_chunk)
from crm.csv_chunks import Misaligned, Records, TextChunk, numbered, start_line
from crm.errors import DomainError
from crm.identity import IdentityPolicy, resolve
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from app.csv_file import EXCEL_HINT, CsvFile
from app.db import make_engine, make_sessionmaker
from app.settings import Settings, get_settings

citizens_cli = typer.Typer(help="Citizens: import from a CSV file, resolve a file against them.",
                           no_args_is_help=True)
out = Console()
err = Console(stderr=True)
BATCH = 2000
DEDUPE_BATCH = 200
PARALLEL_FROM_ROWS = 5000  # below, starting worker processes costs more than it saves
ENCODING = typer.Option(help=f"the file's encoding when not UTF-8 ({EXCEL_HINT}; UTF-16 is read from its mark)")


def identity_policy(settings: Settings) -> IdentityPolicy:
    return IdentityPolicy(default_region=settings.default_region,
                          match_threshold=settings.identity_match_threshold,
                          review_threshold=settings.identity_review_threshold)


@contextlib.contextmanager
def _refusing(path: Path, *, reading: bool = True) -> Iterator[None]:
    """A file that cannot be read (`reading`: OSError means the file), or not as CSV, ends the
    command with its reason (status 2)."""
    try:
        yield
    except DomainError as exc:
        err.print(f"[red]error:[/red] {path}: {exc.message}", highlight=False)
        raise typer.Exit(2) from None
    except OSError as exc:
        if not reading:
            raise
        err.print(f"[red]error:[/red] cannot read {path}: {exc.strerror}")
        raise typer.Exit(2) from None


def _source(path: Path, encoding: str | None) -> CsvFile:
    with _refusing(path):
        return CsvFile.open(path, encoding)


def _count_rows(source: CsvFile) -> int:
    with _refusing(source.path):
        return source.count_rows()


def _rows(source: CsvFile, settings: Settings) -> Iterator[Row | RowError]:
    with _refusing(source.path):
        header, rows = read_rows(source.lines(), default_region=settings.default_region)
        _tell_ignored(source.path, header)
        yield from rows


def _tell_ignored(path: Path, header: Header) -> None:
    if (notice := ignored_notice(header)) is not None:
        err.print(f"[yellow]warning:[/yellow] {path}: {notice}", markup=True, highlight=False)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]} rows/s"), TimeRemainingColumn(), console=err,
                    transient=False)


@citizens_cli.command("import")
def import_citizens(
    file: Annotated[Path, typer.Argument(help="CSV with a header: external_id, first_name, last_name, full_name, "
                                               "email, phone, birth_date, address, postcode, city, national_id")],
    encoding: Annotated[str | None, ENCODING] = None,
    dedupe: Annotated[bool, typer.Option(help="resolve each row against known citizens instead of creating blindly")]
    = False,
    errors: Annotated[Path | None, typer.Option(help="where bad rows go (default: FILE.errors.csv)")] = None,
    workers: Annotated[int | None, typer.Option(
        help="processes normalising rows (default: one per core for large files; 0: none)")] = None,
    bulk_load: Annotated[bool, typer.Option(
        help="into empty citizen tables: the whole file in one transaction, indexes built at the end "
             "(locks the citizen tables meanwhile); --no-bulk-load commits batch after batch")] = True,
) -> None:
    """Import citizens; bad values and rows are reported with their line number, the rest imported."""
    settings = get_settings()
    source = _source(file, encoding)
    total = _count_rows(source)
    if workers is None:
        workers = (os.cpu_count() or 1) if total >= PARALLEL_FROM_ROWS and not dedupe else 0
    errors_path = errors or file.with_name(file.stem + ".errors.csv")
    with _error_file(errors_path, keep_stale=errors is not None) as error_file:
        if dedupe:
            report = asyncio.run(_import_deduped(source, settings, error_file, total=total))
        else:
            # An OSError there is the database's (the file's lines raise InvalidInput).
            with _pool(workers) as pool, _no_cyclic_gc(), _refusing(file, reading=False):
                report = asyncio.run(_import(source, settings, error_file, total=total, pool=pool,
                                             bulk_load=bulk_load))
        error_file.write(report.take_errors())
    summary = {k: v for k, v in dataclasses.asdict(report).items() if k != "errors"}
    out.print(" · ".join(f"{k.replace('_', ' ')}: {v}" for k, v in summary.items()))
    if error_file.written:
        out.print(f"{error_file.written} line(s) reported in {errors_path}")


@contextlib.contextmanager
def _error_file(path: Path, *, keep_stale: bool) -> Iterator[ErrorFile]:
    """The error file, written chunk by chunk beside `path` and put in its place only when the
    import ends and some row was reported; on failure no report is left (nothing it names may
    have been kept). Without any reported row a stale default report is removed: it would
    mislead; a path the administrator named is left alone."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        error_file = ErrorFile(handle)
        try:
            yield error_file
        except BaseException:
            handle.close()
            partial.unlink(missing_ok=True)
            raise
    if error_file.written:
        partial.replace(path)
        return
    partial.unlink()
    if not keep_stale:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """A bulk load allocates millions of short-lived tuples and keeps every external id: the
    cyclic collector kept re-walking that growing heap (a tenth of the writer's time). Nothing
    here makes reference cycles; reference counting frees the rest."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclasses.dataclass
class _Workers:
    """The worker processes, and a no-op they answer once they have started."""

    pool: ProcessPoolExecutor
    count: int
    started: Future


@contextlib.contextmanager
def _pool(workers: int) -> Iterator[_Workers | None]:
    if workers <= 0:
        yield None
        return
    # forkserver: workers never inherit the event loop's or the database driver's threads.
    # No cyclic GC there either (see _no_cyclic_gc): it re-walked every chunk's fresh tuples.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"),
                             initializer=gc.disable) as pool:
        yield _Workers(pool, workers, pool.submit(int))


async def _import(source: CsvFile, settings: Settings, error_file: ErrorFile, *, total: int,
                  pool: _Workers | None, bulk_load: bool) -> ImportReport:
    """Rows are checked and normalised in worker processes (or a thread) while earlier batches
    are written: Python's work and the database's overlap. Into empty citizen tables the whole
    file is one transaction whose indexes are built at the end (crm.citizen_bulk_load); else
    each batch is committed as it is written."""
    engine = _without_foreign_key_lookups(make_engine(settings.database_url))
    sessions = make_sessionmaker(engine)
    report = ImportReport()
    external_ids = ExternalIds()
    started = time.perf_counter()
    try:
        header, chunks = read_csv_chunks(source.lines(), BATCH)
        _tell_ignored(source.path, header)

        with _progress() as progress:
            task = progress.add_task("import", total=total, rate="-")
            pending: collections.deque = collections.deque()
            depth = (pool.count + 1) if pool is not None else 1
            async with _first_import_journal(engine, sessions, bulk_load), sessions() as session:
                load = await begin_bulk_load(session) if bulk_load else None
                if load is None:
                    await session.commit()  # let others in between batches
                    work = functools.partial(functools.partial, prepare_chunk, header,
                                             default_region=settings.default_region)
                else:
                    # Ids from the first one free on, by line (the header is line 1 at least).
                    work = _LoadChunks(header, settings.default_region, load.dialect,
                                       base=(await reserve_citizen_ids(session, 1))[0] - 2)
                while True:
                    while len(pending) < depth:
                        chunk = await asyncio.to_thread(next, chunks, None)
                        if chunk is None:
                            break
                        pending.append((_submit(pool, work(chunk)), chunk))
                    if not pending:
                        break
                    future, chunk = pending.popleft()
                    try:
                        made = await future
                    except Misaligned:
                        # A stray quote fooled the cut: from this chunk on, records are parsed here.
                        chunks.parse_in_order([chunk, *(later for _, later in pending)])
                        for later, _ in pending:
                            later.cancel()
                        pending.clear()
                        continue
                    if load is None:
                        await _tune_for_sqlite_load(session)  # a commit may have handed back the connection
                        await import_rows(session, _account(made, report, external_ids), report)
                        await session.commit()
                    else:
                        loaded = await _account_load(made, chunk, work, report, external_ids)
                        await write_load_chunk(session, load, loaded)
                    error_file.write(report.take_errors())
                    progress.update(task, completed=report.rows,
                                    rate=f"{report.rows / max(time.perf_counter() - started, 1e-9):,.0f}")
                if load is not None:
                    progress.update(task, description="import (building indexes)")
                    await finish_bulk_load(session, load)
                    await session.commit()
                    progress.update(task, description="import")
        await settle(engine, created=report.created > 0)
    finally:
        await engine.dispose()
    return report


@contextlib.asynccontextmanager
async def _first_import_journal(engine, sessions, bulk_load: bool) -> AsyncIterator[None]:
    """SQLite's rollback journal for a bulk load (crm.citizen_bulk_load.rollback_journal), only
    when one will run: into empty citizen tables."""
    if bulk_load:
        async with sessions() as session:
            empty = await tables_empty(session)
        if empty:
            async with rollback_journal(engine):
                yield
            return
    yield


def _without_foreign_key_lookups(engine):
    """SQLite checks a foreign key by looking its parent up, row by row: 14 lookups a citizen, a
    sixth of the writer's time in a bulk load (the one serial stage). This import writes each
    citizen's contact points, name words and keys with the citizen, in the same batch, under ids
    it numbered itself: their parents cannot be missing. PostgreSQL still checks them once, when
    the load rebuilds its foreign keys."""
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine.sync_engine, "connect")
        def _no_foreign_key_lookups(dbapi_connection, _record) -> None:
            dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    return engine


def _submit(pool: _Workers | None, work: functools.partial) -> asyncio.Future:
    """A chunk's work in a worker process; in a thread of this one without a pool, or while the
    workers start (a second at first: a fresh interpreter imports the command's modules), so
    that the load begins at once instead of leaving both cores to the start-up."""
    if pool is None or not pool.started.done():
        return asyncio.ensure_future(asyncio.to_thread(work))
    return asyncio.wrap_future(pool.pool.submit(work))


@dataclasses.dataclass
class _LoadChunks:
    """The work of each chunk of a bulk load: `load_chunk` with the citizen ids the chunk may use,
    `base` + its start line on (crm.csv_chunks.start_line: gaps where rows are refused or span
    lines), so that workers number the citizens, before anyone knows how many records a chunk
    of text holds, and the writer does nothing a row."""

    header: Header
    default_region: str
    dialect: str
    base: int
    now: str = dataclasses.field(default="")

    def __post_init__(self) -> None:
        self.now = now_text(self.dialect)

    def __call__(self, chunk: Records | TextChunk, *, skip: frozenset[int] = frozenset()) -> functools.partial:
        return functools.partial(load_chunk, self.header, chunk, self.default_region, self.base + start_line(chunk),
                                 self.dialect, self.now, skip)


async def _account_load(loaded: LoadChunk, chunk: Records | TextChunk, work: _LoadChunks, report: ImportReport,
                        external_ids: ExternalIds) -> LoadChunk:
    """Count a chunk made for the bulk load into the report. Rows whose external_id an earlier
    row used are refused: the chunk is made again without them (rare: in this process)."""
    repeated = external_ids.repeats(loaded.lines, loaded.external_ids)
    if repeated:
        values = dict(numbered(chunk))
        report.errors += [RowError(line, error, raw_values(work.header, values[line]), imported=False)
                          for line, error in repeated.items()]
        loaded = await asyncio.to_thread(work(chunk, skip=frozenset(repeated)))
    report.errors += loaded.errors
    refused = len(repeated) + sum(not error.imported for error in loaded.errors)
    report.refused += refused
    report.rows += refused + len(loaded.lines)
    report.created += len(loaded.lines)
    return loaded


def _account(items: list[Prepared | RowError], report: ImportReport, external_ids: ExternalIds) -> list[Prepared]:
    """Count a prepared chunk into the report; refuse external ids an earlier row used."""
    rows: list[Prepared] = []
    for item in items:
        if isinstance(item, Prepared):
            repeated = external_ids.check(item.line, item.external_id, item.raw)
            if repeated is None:
                rows.append(item)
                report.rows += 1
                continue
            item = repeated
        report.errors.append(item)
        if not item.imported:
            report.refused += 1
            report.rows += 1
    return rows


async def _import_deduped(source: CsvFile, settings: Settings, error_file: ErrorFile, *, total: int) -> ImportReport:
    """Row after row, each resolved against everyone known, earlier rows of the file included."""
    from crm.duplicates import file_duplicate

    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    report = ImportReport()
    policy = identity_policy(settings)
    started = time.perf_counter()
    try:
        with _progress() as progress:
            task = progress.add_task("import --dedupe", total=total, rate="-")
            batch: list[Row] = []
            for item in itertools.chain(_rows(source, settings), [None]):
                if isinstance(item, RowError):
                    report.errors.append(item)
                    report.refused += not item.imported
                    report.rows += not item.imported
                elif item is not None:
                    batch.append(item)
                    report.rows += 1
                if batch and (item is None or len(batch) >= DEDUPE_BATCH):
                    async with sessions() as session:
                        for row in batch:
                            await import_row_deduped(session, row, report, policy, file_duplicate)
                            await session.flush()
                        await session.commit()
                    batch.clear()
                    error_file.write(report.take_errors())
                    progress.update(task, completed=report.rows,
                                    rate=f"{report.rows / max(time.perf_counter() - started, 1e-9):,.0f}")
    finally:
        await engine.dispose()
    return report


async def _tune_for_sqlite_load(session) -> None:
    """Batch by batch, SQLite's default page cache (2 MB) thrashes on index inserts at random
    places. Not for a bulk load: it has no such inserts, and its index builds want a small
    cache (crm.citizen_bulk_load.LOAD_CACHE_KIB)."""
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        await connection.exec_driver_sql("PRAGMA cache_size = -262144")  # 256 MB, this connection


@citizens_cli.command("resolve")
def resolve_citizens(
    file: Annotated[Path, typer.Argument(help="CSV with the same columns as `citizens import`")],
    encoding: Annotated[str | None, ENCODING] = None,
) -> None:
    """Read-only: one JSON line per row — row, external_id, decision, citizen_id,
    matched_external_id, score, reasons (and problems: values that could not be read)."""
    settings = get_settings()
    source = _source(file, encoding)
    _count_rows(source)  # an undecodable byte refused before the first line is printed
    asyncio.run(_resolve(source, settings))


async def _resolve(source: CsvFile, settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    policy = identity_policy(settings)
    number = 0
    try:
        async with sessions() as session:
            for item in _rows(source, settings):
                if isinstance(item, RowError) and item.imported:
                    continue  # the row itself follows, with its problems
                number += 1
                if isinstance(item, RowError):
                    line = {"row": number, "line": item.line, "external_id": item.raw.get("external_id"),
                            "decision": "new", "citizen_id": None, "matched_external_id": None, "score": 0.0,
                            "reasons": [], "error": item.error}
                else:
                    resolution = await resolve(session, item.person, policy=policy)
                    line = {"row": number, "line": item.line, "external_id": item.record.external_id,
                            "decision": resolution.decision, "citizen_id": resolution.citizen_id,
                            "matched_external_id": resolution.external_id, "score": resolution.score,
                            "reasons": list(resolution.reasons)}
                    if resolution.problems:
                        line["problems"] = list(resolution.problems)
                print(json.dumps(line, ensure_ascii=False), flush=False)
            await session.rollback()
    finally:
        await engine.dispose()
