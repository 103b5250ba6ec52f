"""Citizens from a CSV file: read and check each row (pure), then write them in batches, or
resolve each against who is already known first (`dedupe`).

A bad value never loses a person: the row is imported without it and the value is reported
with its line; only a row with nothing that identifies anyone is refused. Rows whose
external_id is already known are skipped, so importing a file twice creates no one twice.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.columns import utcnow
from crm.errors import InvalidInput
from crm.identity import MATCH, REVIEW, IdentityPolicy, Resolution, resolve
from crm.identity_keys import TABLE as KEYS
from crm.identity_keys import identity_key_rows
from crm.models import Citizen, CitizenNameToken, ContactKind, ContactPoint
from crm.person import IdentityRecord, Person, display_name, person_from_record
from crm.search import name_token_rows

COLUMNS = ("external_id", "first_name", "last_name", "full_name", "email", "phone", "birth_date", "address",
           "postcode", "city", "national_id")
IDENTIFYING = ("first_name", "last_name", "full_name", "email", "phone", "national_id")
# Other names for our columns, as other systems export them.
ALIASES = {
    "id": "external_id", "rec_id": "external_id", "record_id": "external_id", "ref": "external_id",
    "given_name": "first_name", "firstname": "first_name", "prenom": "first_name", "forename": "first_name",
    "surname": "last_name", "lastname": "last_name", "family_name": "last_name", "nom": "last_name",
    "name": "full_name", "fullname": "full_name", "nom_complet": "full_name",
    "e_mail": "email", "mail": "email", "courriel": "email",
    "telephone": "phone", "tel": "phone", "mobile": "phone", "phone_number": "phone",
    "dob": "birth_date", "date_of_birth": "birth_date", "birthdate": "birth_date",
    "date_naissance": "birth_date", "date_de_naissance": "birth_date",
    "adresse": "address", "street": "address", "address_1": "address",
    "zip": "postcode", "zipcode": "postcode", "postal_code": "postcode", "code_postal": "postcode",
    "town": "city", "ville": "city", "suburb": "city", "commune": "city",
    "cin": "national_id", "nir": "national_id", "ssn": "national_id", "soc_sec_id": "national_id",
}
MAX_FIELD = 1000


@dataclass(frozen=True)
class Header:
    columns: tuple[str | None, ...]  # our column for each position, None: ignored
    ignored: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    line: int
    record: IdentityRecord
    person: Person
    raw: dict[str, str]


@dataclass(frozen=True)
class RowError:
    line: int
    error: str
    raw: dict[str, str]
    imported: bool  # True: the row was imported without the values named in `error`


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    matched: int = 0  # dedupe: the row was an existing citizen, completed
    review: int = 0  # dedupe: created, and the pair filed for an agent
    skipped: int = 0  # external_id already imported
    refused: int = 0
    errors: list[RowError] = field(default_factory=list)


def _key(name: str) -> str:
    return "_".join(name.strip().lstrip("\ufeff").lower().replace("-", "_").split())


def read_header(names: list[str] | None) -> Header:
    """Our column for each header name. Raises InvalidInput when nothing identifies anyone."""
    if not names:
        raise InvalidInput("the file is empty: expected a header line of column names")
    columns: list[str | None] = []
    ignored: list[str] = []
    for name in names:
        key = _key(name or "")
        column = key if key in COLUMNS else ALIASES.get(key)
        if column in columns:
            raise InvalidInput(f"column {name!r} appears twice (as {column})")
        columns.append(column)
        if column is None:
            ignored.append(name or "(empty)")
    if not any(column in IDENTIFYING for column in columns):
        raise InvalidInput(
            f"no column identifies anyone; the header must name some of: {', '.join(COLUMNS)} "
            f"(found: {', '.join(n or '(empty)' for n in names)[:300]})")
    return Header(tuple(columns), tuple(ignored))


def sniff_dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    """Comma, semicolon (French spreadsheets) or tab, from the header line."""
    first = sample.splitlines()[0] if sample else ""
    try:
        return csv.Sniffer().sniff(first, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def read_rows(text: Iterable[str], *, default_region: str) -> Iterator[Row | RowError]:
    """Rows of a CSV (lines of text), checked and normalised; errors carry their line number.
    The first item read is the header: a header error raises InvalidInput."""
    lines = iter(text)
    first = next(lines, "")
    dialect = sniff_dialect(first)
    reader = csv.reader(_chain(first, lines), dialect)
    header = read_header(next(reader, None))
    width = len(header.columns)
    seen_external: dict[str, int] = {}
    for values in reader:
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        raw = {name: value for name, value in zip(header.columns, values) if name}
        if len(values) != width:
            yield RowError(line, f"expected {width} fields, found {len(values)}", raw, imported=False)
            continue
        fields = {name: value.strip()[:MAX_FIELD] or None for name, value in raw.items()}
        record = IdentityRecord(**{name: value for name, value in fields.items() if name})
        person = person_from_record(record, default_region=default_region)
        external_id = record.external_id
        if external_id and external_id in seen_external:
            yield RowError(line, f"external_id {external_id!r} already on line {seen_external[external_id]}", raw,
                           imported=False)
            continue
        if not person.words and not person.emails and not person.phones and not person.national_ids:
            why = "; ".join(person.problems) or "no name, email, phone or national id"
            yield RowError(line, f"nothing identifies this person: {why}", raw, imported=False)
            continue
        if external_id:
            seen_external[external_id] = line
        if person.problems:
            yield RowError(line, "imported without " + "; ".join(person.problems), raw, imported=True)
        yield Row(line, record, person, raw)


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def citizen_values(row: Row) -> dict:
    record, person = row.record, row.person
    return {
        "full_name": display_name(record) or (person.emails[0] if person.emails else ""),
        "first_name": (record.first_name or None) and record.first_name[:100],
        "last_name": (record.last_name or None) and record.last_name[:100],
        "birth_date": person.birth_date,
        "address": (record.address or None) and " ".join(record.address.split())[:320],
        "postcode": person.postcode,
        "city": (record.city or None) and record.city[:100],
        "external_id": (record.external_id or None) and record.external_id[:100],
        "language": None, "alternates": [], "created_at": utcnow(), "updated_at": utcnow(),
    }


def contact_rows(citizen_id: int, row: Row) -> list[dict]:
    person, record = row.person, row.record
    points = [(ContactKind.EMAIL, value, record.email) for value in person.emails]
    points += [(ContactKind.PHONE, value, record.phone) for value in person.phones]
    points += [(ContactKind.NATIONAL_ID, value, record.national_id) for value, _ in person.national_ids]
    now = utcnow()
    return [{"citizen_id": citizen_id, "kind": kind.value, "value": value, "raw_value": (raw or value)[:320],
             "verified": False, "created_at": now} for kind, value, raw in points]


async def known_external_ids(session: AsyncSession, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    rows = await session.execute(select(Citizen.external_id, Citizen.id).where(Citizen.external_id.in_(ids)))
    return {external_id: citizen_id for external_id, citizen_id in rows.all()}


async def insert_citizens(session: AsyncSession, rows: list[Row]) -> list[int]:
    """Write citizens with their contact points, name words and blocking keys, a few statements
    for the whole batch (the ORM's per-object work would cost more than everything else)."""
    if not rows:
        return []
    table = Citizen.__table__
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = list((await session.execute(statement, [citizen_values(row) for row in rows])).scalars().all())
    contacts: list[dict] = []
    tokens: list[dict] = []
    keys: list[dict] = []
    for citizen_id, row in zip(ids, rows):
        contacts += contact_rows(citizen_id, row)
        tokens += name_token_rows(citizen_id, citizen_values(row)["full_name"])
        keys += identity_key_rows(citizen_id, row.person)
    for target, values in ((ContactPoint.__table__, contacts), (CitizenNameToken.__table__, tokens), (KEYS, keys)):
        if values:
            await session.execute(insert(target), values)
    return ids


async def import_rows(session: AsyncSession, rows: list[Row], report: ImportReport) -> None:
    """A batch without dedupe: every row not imported before becomes a citizen."""
    known = await known_external_ids(session, [row.record.external_id for row in rows if row.record.external_id])
    fresh = [row for row in rows if not (row.record.external_id and row.record.external_id in known)]
    report.skipped += len(rows) - len(fresh)
    report.created += len(await insert_citizens(session, fresh))


async def import_row_deduped(session: AsyncSession, row: Row, report: ImportReport, policy: IdentityPolicy,
                             file_duplicate) -> Resolution | None:
    """One row resolved against everyone known (earlier rows of the file included): a match
    completes that citizen, a review creates the person and files the pair, else a new citizen."""
    if row.record.external_id and await known_external_ids(session, [row.record.external_id]):
        report.skipped += 1
        return None
    resolution = await resolve(session, row.person, policy=policy)
    if resolution.decision == MATCH and resolution.citizen_id is not None:
        await complete_citizen(session, resolution.citizen_id, row)
        report.matched += 1
        return resolution
    (citizen_id,) = await insert_citizens(session, [row])
    report.created += 1
    if resolution.decision == REVIEW and resolution.citizen_id is not None:
        await file_duplicate(session, citizen_id, resolution.citizen_id, score=resolution.score,
                             reasons=list(resolution.reasons))
        report.review += 1
    return resolution


async def complete_citizen(session: AsyncSession, citizen_id: int, row: Row) -> None:
    """Add what the row knows and the citizen lacks: contact points, empty fields. A value that
    disagrees is kept as an alternate, never overwritten."""
    citizen = await session.get(Citizen, citizen_id)
    assert citizen is not None
    known = set((await session.execute(select(ContactPoint.kind, ContactPoint.value)
                                       .where(ContactPoint.citizen_id == citizen_id))).all())
    new_points = [point for point in contact_rows(citizen_id, row) if (point["kind"], point["value"]) not in known]
    if new_points:
        await session.execute(insert(ContactPoint.__table__), new_points)
    values = citizen_values(row)
    alternates = list(citizen.alternates or [])
    changed = False
    for name in ("first_name", "last_name", "birth_date", "address", "postcode", "city", "external_id"):
        value, current = values[name], getattr(citizen, name)
        if value in (None, ""):
            continue
        if current in (None, ""):
            setattr(citizen, name, value)
            changed = True
        elif _differs(current, value):
            alternates.append({"field": name, "value": value.isoformat() if isinstance(value, date) else value,
                               "from": "import"})
    if alternates != (citizen.alternates or []):
        citizen.alternates = alternates
        changed = True
    if changed:
        citizen.updated_at = utcnow()
    await session.flush()


def _differs(current, value) -> bool:
    if isinstance(current, str) and isinstance(value, str):
        return " ".join(current.casefold().split()) != " ".join(value.casefold().split())
    return current != value


def errors_csv(errors: list[RowError]) -> str:
    """The error file: line, what was wrong, whether the row was imported anyway, the row itself."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "error", "imported", *COLUMNS])
    for error in errors:
        writer.writerow([error.line, error.error, "yes" if error.imported else "no",
                         *(error.raw.get(column, "") for column in COLUMNS)])
    return out.getvalue()
