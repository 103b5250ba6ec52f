"""Citizens from a CSV file: read and check each row (pure), then write them in batches, or
resolve each against who is already known first (`dedupe`).

A bad value never loses a person: the row is imported without it and the value is reported
with its line; only a row with nothing that identifies anyone is refused. Rows whose
external_id is already known are skipped, so importing a file twice creates no one twice.
"""
from __future__ import annotations

import contextlib
import csv
import marshal
import operator
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import chain, repeat
from typing import NamedTuple, TextIO

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.citizen_bulk_load import STAMPED, BulkLoad, refused_whole
from crm.columns import utcnow
from crm.csv_chunks import ChunkedCsv, Records, TextChunk, dialect_format, numbered
from crm.errors import InvalidInput
from crm.identity import MATCH, REVIEW, IdentityPolicy, Resolution, resolve
from crm.identity_keys import blocking_keys, keys_for
from crm.models import Citizen, ContactKind, ContactPoint
from crm.names import fold, significant_words
from crm.normalise import (
    normalise_email,
    normalise_national_id,
    normalise_phone,
    normalise_postcode,
    parse_birth_text,
)
from crm.person import (
    IdentityRecord,
    Person,
    display_name,
    name_to_show,
    person_from_record,
    person_words,
    street_of,
)
from crm.search import name_keys, name_keys_of_parts

COLUMNS = ("external_id", "first_name", "last_name", "full_name", "email", "phone", "birth_date", "address",
           "postcode", "city", "national_id")
IDENTIFYING = ("first_name", "last_name", "full_name", "email", "phone", "national_id")
# Other names for our columns, as other systems export them.
ALIASES = {
    "id": "external_id", "rec_id": "external_id", "record_id": "external_id", "ref": "external_id",
    "reference": "external_id", "identifiant": "external_id",
    # A case file's number in the system the file comes from ('N° dossier', 'N° usager').
    "dossier": "external_id", "n_dossier": "external_id", "no_dossier": "external_id",
    "num_dossier": "external_id", "numero_dossier": "external_id", "numero_de_dossier": "external_id",
    "n_usager": "external_id", "numero_usager": "external_id", "id_usager": "external_id",
    "given_name": "first_name", "firstname": "first_name", "prenom": "first_name", "forename": "first_name",
    "fname": "first_name", "first": "first_name",
    "surname": "last_name", "lastname": "last_name", "family_name": "last_name", "nom": "last_name",
    "nom_de_famille": "last_name", "nom_de_naissance": "last_name", "lname": "last_name", "last": "last_name",
    "name": "full_name", "fullname": "full_name", "nom_complet": "full_name",
    "e_mail": "email", "mail": "email", "courriel": "email", "mel": "email", "adresse_email": "email",
    "adresse_mail": "email", "adresse_courriel": "email", "email_address": "email",
    "telephone": "phone", "tel": "phone", "mobile": "phone", "phone_number": "phone", "portable": "phone",
    "tel_portable": "phone", "telephone_portable": "phone", "tel_mobile": "phone", "gsm": "phone",
    "phone_no": "phone", "telephone_number": "phone", "mobile_phone": "phone", "cell": "phone", "cell_phone": "phone",
    "dob": "birth_date", "date_of_birth": "birth_date", "birthdate": "birth_date", "ddn": "birth_date",
    "birthday": "birth_date",
    "date_naissance": "birth_date", "date_de_naissance": "birth_date", "ne_le": "birth_date", "nee_le": "birth_date",
    "adresse": "address", "street": "address", "address_1": "address", "adresse_postale": "address",
    "street_address": "address", "address_line_1": "address", "addr": "address",
    "zip": "postcode", "zipcode": "postcode", "postal_code": "postcode", "code_postal": "postcode", "cp": "postcode",
    "town": "city", "ville": "city", "suburb": "city", "commune": "city", "localite": "city",
    "cin": "national_id", "cnie": "national_id", "nir": "national_id", "ssn": "national_id",
    "soc_sec_id": "national_id", "social_security_number": "national_id",
}
# Every name we read, without its separators: 'zip code', 'FirstName', 'national-id' all read.
_NAMES = {name.replace("_", ""): column for name, column in chain(zip(COLUMNS, COLUMNS), ALIASES.items())}
MAX_FIELD = 1000


@dataclass(frozen=True)
class Header:
    columns: tuple[str | None, ...]  # our column for each position, None: ignored
    ignored: tuple[str, ...]  # the header's names of the columns not read ('' for a column without one)


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
    with_problems: int = 0  # imported without some of their values (reported)
    # Reported rows not yet handed to the error file (`take_errors`): a chunk's at most.
    errors: list[RowError] = field(default_factory=list)

    def take_errors(self) -> list[RowError]:
        """The rows reported since the last call, in line order, counted and forgotten."""
        taken = sorted(self.errors, key=lambda error: error.line)
        self.errors = []
        self.with_problems += sum(error.imported for error in taken)
        return taken


def _key(name: str) -> str:
    """A header name as _NAMES spells it: 'Prénom' -> 'prenom', 'E-mail' -> 'email', 'Code postal'
    -> 'codepostal' (a French spreadsheet writes the accents; they were ignored, unmatched)."""
    return "".join(fold(name.replace("_", " ")).split())


def read_header(names: list[str] | None) -> Header:
    """Our column for each header name. Raises InvalidInput when nothing identifies anyone."""
    if not names:
        raise InvalidInput("the file is empty: expected a header line of column names")
    columns: list[str | None] = []
    ignored: list[str] = []
    for name in names:
        column = _NAMES.get(_key(name or ""))
        if column is not None and column in columns:
            raise InvalidInput(f"column {name!r} appears twice (as {column})")
        columns.append(column)
        if column is None:
            ignored.append((name or "").strip())
    if not any(column in IDENTIFYING for column in columns):
        raise InvalidInput(
            f"no column identifies anyone; the header must name some of: {', '.join(COLUMNS)} "
            f"(found: {', '.join(n or '(empty)' for n in names)[:300]})")
    return Header(tuple(columns), tuple(ignored))


def ignored_notice(header: Header) -> str | None:
    """What to tell whoever imports a file with columns we do not read: a misspelt 'prenon' would
    otherwise drop every first name without a word. Names the nearest column the header lacks
    when one is close (edit distance), so the fix is obvious."""
    if not header.ignored:
        return None
    missing = [name for name, column in _NAMES.items() if column not in header.columns]
    named = []
    for name in filter(None, header.ignored):
        near = process.extractOne(_key(name), missing, scorer=fuzz.ratio, score_cutoff=75)
        named.append(f"{name!r}" + (f" (did you mean {_NAMES[near[0]]}?)" if near else ""))
    if unnamed := header.ignored.count(""):
        named.append(f"{unnamed} without a name")
    return (f"{len(header.ignored)} column(s) not read, their values ignored: {', '.join(named)}; "
            f"known columns: {', '.join(COLUMNS)}")


def sniff_dialect(sample: str) -> type[csv.Dialect]:
    """Comma, semicolon (French spreadsheets) or tab, from the header line; quoting as
    spreadsheets write it. Only the separator is taken from the Sniffer: from a header without
    quotes it also guessed that quotes inside quoted fields are not doubled, and a field
    written `"Bât. ""B"", 2e étage"` then split in two and its row was refused."""
    first = sample.splitlines()[0] if sample else ""
    try:
        sniffed = csv.Sniffer().sniff(first, delimiters=",;\t|")
    except csv.Error:
        return csv.excel
    return type("sniffed", (csv.excel,), {"delimiter": sniffed.delimiter,
                                          "skipinitialspace": sniffed.skipinitialspace})


def read_csv(text: Iterable[str]) -> tuple[Header, Iterator[tuple[int, list[str]]]]:
    """The header and the numbered records of a CSV (lines of text). Raises InvalidInput on a
    header that identifies nobody."""
    header, reader, _, _ = _header_record(text)
    return header, ((reader.line_num, values) for values in reader)


def read_csv_chunks(text: Iterable[str], size: int) -> tuple[Header, ChunkedCsv]:
    """The header and the body's chunks (crm.csv_chunks: text for workers to parse)."""
    header, reader, lines, dialect = _header_record(text)
    return header, ChunkedCsv(lines, reader.line_num + 1, dialect_format(dialect), size,
                              ((reader.line_num, values) for values in reader))


def _header_record(text: Iterable[str]):
    """The header, the reader that read it, the lines after it and the dialect."""
    lines = iter(text)
    first = next(lines, "")
    dialect = sniff_dialect(first)
    reader = csv.reader(_chain(first, lines), dialect)
    return read_header(next(reader, None)), reader, lines, dialect


def check_row(header: Header, line: int, values: list[str], *, default_region: str) -> list[Row | RowError]:
    """One CSV record checked and normalised: a Row (preceded by a RowError naming the values it
    lost, if any), a refusal, or nothing for a blank line."""
    if not "".join(values).strip():
        return []
    raw = raw_values(header, values)
    if len(values) != len(header.columns):
        return [RowError(line, f"expected {len(header.columns)} fields, found {len(values)}", raw, imported=False)]
    record = IdentityRecord(**{name: value.strip()[:MAX_FIELD] or None for name, value in raw.items()})
    person = person_from_record(record, default_region=default_region)
    if not person.words and not person.emails and not person.phones and not person.national_ids:
        why = "; ".join(person.problems) or "no name, email, phone or national id"
        return [RowError(line, f"nothing identifies this person: {why}", raw, imported=False)]
    row = Row(line, record, person, raw)
    if person.problems:
        return [RowError(line, "imported without " + "; ".join(person.problems), raw, imported=True), row]
    return [row]


def raw_values(header: Header, values: list[str]) -> dict[str, str]:
    """A record's values by our column names, as the error file shows them."""
    return {name: value for name, value in zip(header.columns, values, strict=False) if name}


class ExternalIds:
    """Refuses a row whose external_id an earlier row of the same file already used."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def check(self, line: int, external_id: str | None, raw: dict[str, str]) -> RowError | None:
        if not external_id:
            return None
        if external_id in self.seen:
            return RowError(line, f"external_id {external_id!r} already on line {self.seen[external_id]}", raw,
                            imported=False)
        self.seen[external_id] = line
        return None

    def repeats(self, lines: list[int], external_ids: list[str | None]) -> dict[int, str]:
        """Of a chunk's rows (in order), what is wrong with each whose external_id an earlier row
        used, by line; the others are remembered. Usually none: a few passes in C."""
        if None not in external_ids and self.seen.keys().isdisjoint(external_ids) \
                and len(set(external_ids)) == len(external_ids):
            self.seen.update(zip(external_ids, lines))
            return {}
        found = {}
        for line, external_id in zip(lines, external_ids, strict=True):
            if (error := self.check(line, external_id, {})) is not None:
                found[line] = error.error
        return found


def read_rows(text: Iterable[str], *, default_region: str) -> tuple[Header, Iterator[Row | RowError]]:
    """The header, and the rows of a CSV, checked and normalised, in order; errors carry their
    line number. Raises InvalidInput on a header that identifies nobody."""
    header, records = read_csv(text)
    return header, _checked_rows(header, records, default_region)


def _checked_rows(header: Header, records: Iterator[tuple[int, list[str]]], default_region: str
                  ) -> Iterator[Row | RowError]:
    external_ids = ExternalIds()
    for line, values in records:
        for item in check_row(header, line, values, default_region=default_region):
            repeated = external_ids.check(line, item.record.external_id, item.raw) if isinstance(item, Row) else None
            yield repeated or item


class Prepared(NamedTuple):
    """A row ready to write, every derived value computed (in a worker process, for speed).
    Plain values in a named tuple because results come back from the workers pickled: as a
    dataclass holding a dict and a date, pickling and unpickling cost ~55 µs a row, more than
    writing it."""

    line: int
    raw: dict[str, str]
    citizen: tuple  # CITIZEN_COLUMNS' values, birth_date as ISO text
    contacts: list[tuple[str, str, str]]
    name_keys: list[str]
    blocking_keys: list[str]

    @property
    def external_id(self) -> str | None:
        return self.citizen[EXTERNAL_ID]


def prepare(row: Row) -> Prepared:
    values = citizen_values(row)
    if values["birth_date"] is not None:
        values["birth_date"] = values["birth_date"].isoformat()
    return Prepared(row.line, row.raw, _citizen_columns(values), contact_values(row), name_keys(values["full_name"]),
                    blocking_keys(row.person))


def prepare_chunk(header: Header, records: Records | TextChunk, default_region: str) -> list[Prepared | RowError]:
    """Check, normalise and derive a chunk of CSV records: the CPU-bound part of an import,
    pure, run in worker processes."""
    out: list[Prepared | RowError] = []
    for line, values in numbered(records):
        for item in check_row(header, line, values, default_region=default_region):
            out.append(prepare(item) if isinstance(item, Row) else item)
    return out


class LoadChunk(NamedTuple):
    """A chunk of the file made ready for a bulk load in a worker process: the rows of every table
    in the form the writer hands to the database as is, so that the writer (the one serial stage
    of an import) only forwards a few objects a chunk. Citizen ids are `first_id`, `first_id + 1`,
    … in the order of `lines`."""

    errors: list[RowError]
    lines: list[int]  # line of each citizen made
    external_ids: list[str | None]
    first_id: int
    tables: dict[str, bytes]  # table -> COPY text (PostgreSQL) or `sqlite_payload` (SQLite)


def load_chunk(header: Header, records: Records | TextChunk, default_region: str, first_id: int,
               dialect: str, now: str, skip: frozenset[int] = frozenset()) -> LoadChunk:
    """`prepare_chunk`, then every table's rows built and encoded for `dialect` (pure, run in
    worker processes); rows on the lines in `skip` are left out. `now`: the creation time as
    SQLite stores it (PostgreSQL's load gives it as the columns' default: STAMPED)."""
    errors, rows = _load_rows(header, numbered(records), default_region, skip)
    ids = range(first_id, first_id + len(rows))
    if dialect == "postgresql":
        tables = _copy_tables(ids, rows)
    else:
        tables = {table: sqlite_payload(values)
                  for table, values in zip(LOAD_TABLES, table_rows(ids, rows, now, _same), strict=True) if values}
    return LoadChunk(errors, [row.line for row in rows], [row.external_id for row in rows], first_id, tables)


def _load_rows(header: Header, records: list[tuple[int, list[str]]], default_region: str, skip: frozenset[int]
               ) -> tuple[list[RowError], list[Prepared]]:
    """`prepare_chunk`'s errors and rows (those not in `skip`), the same values: a row with
    nothing to report goes straight from its values to its Prepared tuple, without the
    IdentityRecord, Person and Row objects that cost a third of its time; any other (a blank
    line, a wrong number of fields, a value dropped, nobody identified) is left to `check_row`."""
    errors: list[RowError] = []
    rows: list[Prepared] = []
    width = len(header.columns)
    # Each of COLUMNS from a record's stripped values, those the header lacks from the None
    # appended at the end.
    columns = operator.itemgetter(*(header.columns.index(name) if name in header.columns else -1
                                    for name in COLUMNS))
    for line, values in records:
        if len(values) == width:
            fields = [value.strip()[:MAX_FIELD] or None for value in values]
            fields.append(None)
            external_id, first, last, full, email, phone, birth, address, postcode, city, national_id = columns(fields)
            try:
                email_value = normalise_email(email) if email else None
                phone_value = normalise_phone(phone, default_region) if phone else None
                id_value = normalise_national_id(national_id) if national_id else None
                birth_date = parse_birth_text(birth) if birth else None
                postcode = normalise_postcode(postcode) if postcode else None
            except InvalidInput:
                words = email_value = phone_value = id_value = None  # check_row names the value dropped
            else:
                words = person_words(significant_words(first) if first else (),
                                     significant_words(last) if last else (), full)
            if words or email_value or phone_value or id_value:
                if line in skip:
                    continue
                if full or not (first and last):
                    full_name = name_to_show(full, first, last) or email_value or ""
                    tokens = name_keys(full_name)
                else:  # name_to_show's, for two values stripped and not blank
                    full_name = " ".join(f"{first} {last}".split())[:200]
                    tokens = name_keys_of_parts(first, last) if len(full_name) < 200 else name_keys(full_name)
                contacts = []
                if email_value:
                    contacts.append((_EMAIL, email_value, email[:320]))
                if phone_value:
                    contacts.append((_PHONE, phone_value, phone[:320]))
                if id_value:
                    contacts.append((_NATIONAL_ID, id_value, national_id[:320]))
                number, street = street_of(address) if postcode and address else (None, None)
                rows.append(Prepared(
                    line, None,
                    (full_name, first and first[:100], last and last[:100], birth_date and birth_date.isoformat(),
                     address and " ".join(address.split())[:320], postcode, city and city[:100],
                     external_id and external_id[:100], None, "[]"),
                    contacts, tokens, keys_for(words, birth_date, postcode, number, street)))
                continue
        for item in check_row(header, line, values, default_region=default_region):
            if isinstance(item, RowError):
                errors.append(item)
            elif item.line not in skip:
                rows.append(prepare(item))
    return errors, rows


_COPY_NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_tables(ids: range, rows: list[Prepared]) -> dict[str, bytes]:
    """Each table's rows in PostgreSQL's COPY text format (COPY_TABLES' columns), written straight
    from the prepared rows (a few string joins a row), then checked: as many tabs, newlines and
    backslashes as the format itself puts there means that no value held one (the usual case).
    Else every value is escaped, from `table_rows`."""
    citizens, contacts, tokens, keys = [], [], [], []
    nulls = token_count = key_count = 0
    for citizen_id, (_, _, citizen, points, names, blocking) in zip(ids, rows, strict=True):
        cid = str(citizen_id)
        nulls += citizen.count(None)
        citizens.append(cid + "\t" + "\t".join([_COPY_NULL if value is None else value for value in citizen]) + "\n")
        contacts += [f"{cid}\t{kind}\t{value}\t{raw}\tf\n" for kind, value, raw in points]
        end = "\t" + cid + "\n"
        if names:
            tokens.append(end.join(names) + end)
            token_count += len(names)
        if blocking:
            keys.append(end.join(blocking) + end)
            key_count += len(blocking)
    texts = {"citizen": "".join(citizens), "contact_point": "".join(contacts), "citizen_name_token": "".join(tokens),
             "identity_key": "".join(keys)}
    counts = {"citizen": len(rows), "contact_point": len(contacts), "citizen_name_token": token_count,
              "identity_key": key_count}
    backslashes = {"citizen": nulls}
    if any(text.count("\n") != counts[table] or text.count("\t") != counts[table] * (len(COPY_TABLES[table]) - 1)
           or text.count("\\") != backslashes.get(table, 0) or "\r" in text for table, text in texts.items()):
        texts = {table: "".join("\t".join(_COPY_NULL if value is None else str(value).translate(_COPY_ESCAPES)
                                          for value in _copied[table](values)) + "\n" for values in table_values)
                 for table, table_values in zip(LOAD_TABLES, table_rows(ids, rows, None, _same), strict=True)}
    return {table: text.encode() for table, text in texts.items() if text}


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


CITIZEN_COLUMNS = ("full_name", "first_name", "last_name", "birth_date", "address", "postcode", "city",
                   "external_id", "language", "alternates")
BIRTH_DATE, EXTERNAL_ID = CITIZEN_COLUMNS.index("birth_date"), CITIZEN_COLUMNS.index("external_id")
_citizen_columns = operator.itemgetter(*CITIZEN_COLUMNS)  # citizen_values' dict -> CITIZEN_COLUMNS' tuple
# The tables an import writes and their columns, in the order of `table_rows`.
LOAD_TABLES = {"citizen": ("id", *CITIZEN_COLUMNS, "created_at", "updated_at"),
               "contact_point": ("citizen_id", "kind", "value", "raw_value", "verified", "created_at"),
               "citizen_name_token": ("token", "citizen_id"),
               "identity_key": ("key", "citizen_id")}
# What a PostgreSQL bulk load's COPY gives: the rest are its columns' defaults (STAMPED).
COPY_TABLES = {table: tuple(name for name in columns if name not in STAMPED.get(table, ()))
               for table, columns in LOAD_TABLES.items()}
# A `table_rows` tuple -> its COPY_TABLES values.
_copied = {table: operator.itemgetter(*(columns.index(name) for name in COPY_TABLES[table]))
           for table, columns in LOAD_TABLES.items()}


def citizen_values(row: Row) -> dict:
    """The citizen's columns from a row (alternates as JSON text, as the driver writes them)."""
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
        "language": None, "alternates": "[]",
    }


def contact_values(row: Row) -> list[tuple[str, str, str]]:
    """(kind, normalised value, value as written) of each identifier the row gives."""
    person, record = row.person, row.record
    points = []
    if person.emails:
        points += [(_EMAIL, value, (record.email or value)[:320]) for value in person.emails]
    if person.phones:
        points += [(_PHONE, value, (record.phone or value)[:320]) for value in person.phones]
    if person.national_ids:
        points += [(_NATIONAL_ID, value, (record.national_id or value)[:320]) for value, _ in person.national_ids]
    return points


_EMAIL, _PHONE, _NATIONAL_ID = ContactKind.EMAIL.value, ContactKind.PHONE.value, ContactKind.NATIONAL_ID.value


async def known_external_ids(session: AsyncSession, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    rows = await session.execute(select(Citizen.external_id, Citizen.id).where(Citizen.external_id.in_(ids)))
    return {external_id: citizen_id for external_id, citizen_id in rows.all()}


async def insert_citizens(session: AsyncSession, rows: list[Prepared]) -> list[int]:
    """Write citizens with their contact points, name words and blocking keys: ids reserved at
    once, then one bulk statement per table straight through the driver (the ORM's per-object
    work, even Core's per-row parameter handling, would cost more than the database's)."""
    if not rows:
        return []
    connection = await session.connection()
    postgres = connection.dialect.name == "postgresql"
    ids = await reserve_citizen_ids(session, len(rows))
    # Values in the driver's own form: asyncpg takes dates, SQLite the text UTCDateTime stores.
    now = utcnow() if postgres else utcnow().strftime(SQLITE_TIMESTAMP)
    day = _date if postgres else _same
    for name, values in zip(LOAD_TABLES, table_rows(ids, rows, now, day), strict=True):
        await bulk_insert(session, name, LOAD_TABLES[name], values)
    return ids


def table_rows(ids: Iterable[int], rows: list[Prepared], now, day) -> tuple[list[tuple], ...]:
    """The rows of citizen, contact_point, citizen_name_token and identity_key (LOAD_TABLES) for
    prepared rows, values in the driver's form (`day` makes a birth date of its ISO text)."""
    citizens, contacts, tokens, keys = [], [], [], []
    for citizen_id, (_, _, values, points, names, blocking) in zip(ids, rows, strict=True):
        if day is _same:  # the text as it is (SQLite)
            citizens.append((citizen_id, *values, now, now))
        else:
            citizens.append((citizen_id, *values[:BIRTH_DATE], day(values[BIRTH_DATE]), *values[BIRTH_DATE + 1:],
                             now, now))
        contacts += [(citizen_id, kind, value, raw, False, now) for kind, value, raw in points]
        tokens += zip(names, repeat(citizen_id))
        keys += zip(blocking, repeat(citizen_id))
    return citizens, contacts, tokens, keys


SQLITE_TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f"


def now_text(dialect: str) -> str:
    """The time now as the database reads it from text (COPY on PostgreSQL, UTCDateTime's
    stored form on SQLite)."""
    now = utcnow()
    return now.isoformat(sep=" ") if dialect == "postgresql" else now.strftime(SQLITE_TIMESTAMP)


def _same(value):
    return value


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None


async def reserve_citizen_ids(session: AsyncSession, count: int) -> list[int]:
    """`count` new citizen ids. PostgreSQL: from the table's sequence (safe beside other
    writers). SQLite: after the largest, under the write lock this transaction holds."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        rows = await connection.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence('citizen', 'id')) FROM generate_series(1, %d)" % count)
        return [row[0] for row in rows.all()]
    start = (await connection.exec_driver_sql("SELECT coalesce(max(id), 0) FROM citizen")).scalar_one()
    return list(range(start + 1, start + 1 + count))


async def bulk_insert(session: AsyncSession, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Rows into `table` through the driver, values already in its form: COPY on PostgreSQL,
    multi-row INSERTs on SQLite."""
    if not rows:
        return
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    if connection.dialect.name == "postgresql":
        await raw.copy_records_to_table(table, records=rows, columns=list(columns))
        return
    await _sqlite_insert(raw, table, columns, *_grouped(rows))


# SQLite's limit on a statement's parameters before 3.32 (32,766 since): a multi-row INSERT
# binds at most this many values.
_SQLITE_PARAMETERS = 999


def _grouped(rows: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """Rows as parameter tuples of as many whole rows as one statement may bind, and the rows
    left over. One statement per row cost 1.17 µs a row written (binding, stepping and resetting
    it, in the writer: the one serial stage of a bulk load); one per hundreds of rows 0.42 µs."""
    width = len(rows[0])
    per_statement = max(1, _SQLITE_PARAMETERS // width)
    whole = len(rows) - len(rows) % per_statement
    flat = list(chain.from_iterable(rows[:whole]))
    step = per_statement * width
    return [tuple(flat[at:at + step]) for at in range(0, len(flat), step)], rows[whole:]


def sqlite_payload(rows: list[tuple]) -> bytes:
    """A table's rows for a SQLite bulk load, grouped in the worker (`_grouped`), marshalled:
    the fastest form to load back in the writer."""
    return marshal.dumps(_grouped(rows))


async def _sqlite_insert(raw, table: str, columns: tuple[str, ...], groups: list[tuple], rest: list[tuple]) -> None:
    one = f"({', '.join('?' * len(columns))})"
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    if groups:
        await raw.executemany(head + ", ".join([one] * (len(groups[0]) // len(columns))), groups)
    if rest:
        await raw.executemany(head + one, rest)


async def import_rows(session: AsyncSession, rows: list[Prepared], report: ImportReport,
                      load: BulkLoad | None = None) -> None:
    """A batch without dedupe: every row not imported before becomes a citizen. A bulk load
    started on empty tables, and repeats within the file are refused before: nothing to look up
    (and no index to look it up with)."""
    known = {} if load is not None else await known_external_ids(
        session, [row.external_id for row in rows if row.external_id])
    fresh = [row for row in rows if not (row.external_id and row.external_id in known)]
    report.skipped += len(rows) - len(fresh)
    with refused_whole() if load is not None else contextlib.nullcontext():
        report.created += len(await insert_citizens(session, fresh))


async def write_load_chunk(session: AsyncSession, load: BulkLoad, chunk: LoadChunk) -> None:
    """A chunk `load_chunk` made, into the tables of a bulk load: the COPY text goes to the
    server as is (PostgreSQL), the row tuples to executemany (SQLite)."""
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    with refused_whole():
        await _write_payloads(raw, load, chunk.tables)


async def _write_payloads(raw, load: BulkLoad, tables: dict[str, bytes]) -> None:
    for table, payload in tables.items():
        if load.dialect == "postgresql":
            # A memoryview: asyncpg would take bytes for a file name.
            await raw.copy_to_table(table, source=memoryview(payload), columns=list(COPY_TABLES[table]),
                                    format="text", freeze=table in load.frozen)
        else:
            await _sqlite_insert(raw, table, LOAD_TABLES[table], *marshal.loads(payload))


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
    (citizen_id,) = await insert_citizens(session, [prepare(row)])
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
    now = utcnow()
    for kind, value, raw in contact_values(row):
        if (kind, value) not in known:
            session.add(ContactPoint(citizen_id=citizen_id, kind=kind, value=value, raw_value=raw, created_at=now))
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


class ErrorFile:
    """The error file, written as the import goes: line, what was wrong, whether the row was
    imported anyway, the row itself. Rows come chunk by chunk in line order, so that no more
    than a chunk's bad rows are ever held (a file of a million bad rows used to be kept whole)."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out)
        self._writer.writerow(["line", "error", "imported", *COLUMNS])
        self.written = 0  # rows reported

    def write(self, errors: list[RowError]) -> None:
        self.written += len(errors)
        self._writer.writerows([error.line, error.error, "yes" if error.imported else "no",
                                *(error.raw.get(column, "") for column in COLUMNS)] for error in errors)
