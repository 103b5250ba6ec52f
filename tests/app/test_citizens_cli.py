"""`guichet citizens import` and `resolve`, run as an administrator runs them: a real process,
a real CSV, a real database; then what agents see through the API."""
from __future__ import annotations

import asyncio
import codecs
import contextlib
import csv
import json
import os
import sqlite3
import subprocess
import time
from datetime import date
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from app import migrations
from app.citizens_cli import DEDUPE_BATCH
from app.db import make_engine
from crm.citizen_import import Prepared, _same, prepare_chunk, read_csv, table_rows
from tests.app.test_cli import GUICHET, guichet
from tests.conftest import Stack
from tests.crm.test_citizen_bulk_load import citizen_schema

HEADER = ["external_id", "first_name", "last_name", "email", "phone", "birth_date", "address", "postcode",
          "city", "national_id"]
PEOPLE = [
    ["P1", "Mohamed", "El Amrani", "m.amrani@example.org", "0612345678", "1980-03-12", "12 rue de la Paix",
     "75002", "Paris", "AB123456"],
    ["P2", "Fatima", "Alaoui", "famille.alaoui@example.org", "0611111111", "1985-01-01", "3 avenue Hassan II",
     "20000", "Casablanca", ""],
    ["P3", "Mohamed", "Alaoui", "famille.alaoui@example.org", "0611111111", "1955-06-01", "3 avenue Hassan II",
     "20000", "Casablanca", ""],
    ["P4", "Jean", "Dupont", "not-an-email", "06 22 33 44 55", "31/02/1990", "", "", "", ""],
    ["P5", "", "", "", "", "", "", "", "", ""],
    ["P6", "Amélie", "Martin", "amelie@example.fr", "+33 6 98 76 54 32", "08/07/1992", "", "69001", "Lyon", ""],
]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER, delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def resolved(stack: Stack, path: Path) -> dict[str, dict]:
    result = guichet(stack, "citizens", "resolve", str(path))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    for line in lines:
        assert {"row", "external_id", "decision", "citizen_id", "matched_external_id", "score",
                "reasons"} <= set(line)
    return {line["external_id"]: line for line in lines}


async def test_import_keeps_good_rows_reports_bad_lines_and_never_imports_twice(stack: Stack, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "people.csv", PEOPLE)
    # Worker processes normalise the rows (what large files get by default); errors keep their lines.
    result = guichet(stack, "citizens", "import", "--workers", "2", str(source))
    assert result.returncode == 0, result.stderr
    assert "created: 5" in result.stdout and "refused: 1" in result.stdout
    errors = list(csv.DictReader((tmp_path / "people.errors.csv").open(encoding="utf-8")))
    by_line = {row["line"]: row for row in errors}
    assert set(by_line) == {"5", "6"}  # header is line 1
    assert by_line["5"]["imported"] == "yes" and "email" in by_line["5"]["error"] and "birth_date" in by_line["5"]["error"]
    assert by_line["6"]["imported"] == "no" and by_line["6"]["external_id"] == "P5"

    token = await stack.token()
    headers = {"Authorization": f"Bearer {token}"}
    found = (await stack.client.get("/api/v1/citizens/search", params={"q": "amrani"}, headers=headers)).json()
    assert [hit["full_name"] for hit in found["results"]] == ["Mohamed El Amrani"]
    record = (await stack.client.get(f"/api/v1/citizens/{found['results'][0]['id']}", headers=headers)).json()
    assert record["external_id"] == "P1" and record["birth_date"] == "1980-03-12"
    assert {(p["kind"], p["value"]) for p in record["contact_points"]} >= {
        ("email", "m.amrani@example.org"), ("phone", "+33612345678"), ("national_id", "AB123456")}

    again = guichet(stack, "citizens", "import", str(source))
    assert again.returncode == 0 and "created: 0" in again.stdout and "skipped: 5" in again.stdout


async def test_resolve_finds_people_written_another_way_and_keeps_households_apart(
        stack: Stack, tmp_path: Path) -> None:
    assert guichet(stack, "citizens", "import", str(write_csv(tmp_path / "people.csv", PEOPLE))).returncode == 0
    queries = write_csv(tmp_path / "queries.csv", [
        ["Q1", "Muhammad", "Amrani", "", "+33 6 12 34 56 78", "12/03/1980", "", "", "", ""],
        ["Q2", "Khadija", "Alaoui", "famille.alaoui@example.org", "0611111111", "1987-02-02", "3 avenue Hassan II",
         "20000", "Casablanca", ""],
        ["Q3", "Martin", "Amelie", "", "", "1992-07-08", "", "69001", "Lyon", ""],
        ["Q4", "Paul", "Inconnu", "", "", "1970-01-01", "", "", "", ""],
    ])
    lines = resolved(stack, queries)
    assert lines["Q1"]["decision"] == "match" and lines["Q1"]["matched_external_id"] == "P1"
    assert "same phone" in lines["Q1"]["reasons"] and lines["Q1"]["score"] >= 0.9
    assert lines["Q2"]["decision"] != "match"  # same phone, email and address: the sister is not her father
    assert lines["Q3"]["decision"] == "match" and lines["Q3"]["matched_external_id"] == "P6"
    assert "first and last names swapped" in lines["Q3"]["reasons"]
    assert lines["Q4"]["decision"] == "new" and lines["Q4"]["citizen_id"] is None


async def test_dedupe_completes_known_citizens_and_files_doubtful_ones_for_review(
        stack: Stack, tmp_path: Path) -> None:
    assert guichet(stack, "citizens", "import", str(write_csv(tmp_path / "people.csv", PEOPLE))).returncode == 0
    second = write_csv(tmp_path / "second.csv", [
        # the same man, a second address and a new email: completes P1
        ["S1", "Mohammed", "El-Amrani", "mohamed.elamrani@example.net", "06 12 34 56 78", "1980-03-12", "", "", "",
         ""],
        # same name and town, nothing else: an agent decides
        ["S2", "Amelie", "Martin", "", "", "", "", "69001", "Lyon", ""],
    ], delimiter=";")
    result = guichet(stack, "citizens", "import", "--dedupe", str(second))
    assert result.returncode == 0, result.stderr
    assert "matched: 1" in result.stdout and "created: 1" in result.stdout and "review: 1" in result.stdout

    token = await stack.token()
    headers = {"Authorization": f"Bearer {token}"}
    hits = (await stack.client.get("/api/v1/citizens/search", params={"q": "amrani"}, headers=headers)).json()
    assert len(hits["results"]) == 1
    record = (await stack.client.get(f"/api/v1/citizens/{hits['results'][0]['id']}", headers=headers)).json()
    assert ("email", "mohamed.elamrani@example.net") in {(p["kind"], p["value"]) for p in record["contact_points"]}
    pairs = (await stack.client.get("/api/v1/duplicates", headers=headers)).json()
    assert len(pairs["pairs"]) == 1


async def test_a_wrong_file_gets_a_clear_message_and_nothing_is_written(stack: Stack, tmp_path: Path) -> None:
    wrong = write_csv(tmp_path / "wrong.csv", [["1", "blue"]], header=["order", "colour"])
    result = guichet(stack, "citizens", "import", str(wrong))
    assert result.returncode == 2 and "no column identifies anyone" in result.stderr
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("first_name,last_name\nZoé,Lefèvre\n".encode("latin-1"))
    result = guichet(stack, "citizens", "import", str(latin1))
    assert result.returncode == 2 and "UTF-8" in result.stderr
    missing = guichet(stack, "citizens", "import", str(tmp_path / "nowhere.csv"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    for outcome in (result, missing):
        assert "Traceback" not in outcome.stderr
    assert resolved(stack, write_csv(tmp_path / "q.csv", [["Q", "Zoé", "Lefèvre"]],
                                     header=["external_id", "first_name", "last_name"]))["Q"]["decision"] == "new"


async def test_columns_not_read_are_named_with_the_nearest_known_one(stack: Stack, tmp_path: Path) -> None:
    """A misspelt 'Prenon' would drop every first name silently: each reader says so, and how to
    fix it; separators and capitals ('FirstName', 'zip code') are read as they are."""
    source = write_csv(tmp_path / "people.csv", [["P1", "Mohamed", "El Amrani", "0612345678", "75002", "VIP", ""]],
                       header=["Référence", "Prenon", "Last-Name", "Telphone", "Zip Code", "Notes", ""])
    for command in (["import"], ["import", "--dedupe"], ["resolve"]):
        result = guichet(stack, "citizens", *command, str(source))
        assert result.returncode == 0, result.stderr
        notice = " ".join(result.stderr.split())
        assert ("4 column(s) not read, their values ignored: 'Prenon' (did you mean first_name?), "
                "'Telphone' (did you mean phone?), 'Notes', 1 without a name") in notice, notice
    assert json.loads(result.stdout)["external_id"] == "P1"  # resolve's output stays JSON lines
    fixed = write_csv(tmp_path / "fixed.csv", [["P2", "Fatima", "Alaoui", "0611111111", "20000"]],
                      header=["Référence", "FirstName", "Last-Name", "Phone", "Zip Code"])
    result = guichet(stack, "citizens", "import", str(fixed))
    assert result.returncode == 0 and "not read" not in result.stderr
    token = await stack.token()
    found = (await stack.client.get("/api/v1/citizens/search", params={"q": "fatima alaoui"},
                                    headers={"Authorization": f"Bearer {token}"})).json()
    record = found["results"][0]
    assert record["full_name"] == "Fatima Alaoui"


FILLER = max(DEDUPE_BATCH + 50, 1000)


@pytest.mark.parametrize("dedupe", [False, True])
async def test_a_file_saved_by_excel_is_read_in_its_encoding_or_refused_before_anything_is_written(
        stack: Stack, tmp_path: Path, dedupe: bool) -> None:
    """A French Excel saves 'CSV (séparateur: point-virgule)' in Windows-1252: refused with the
    line of the first byte that is not UTF-8, nothing imported (not even the rows above it, which
    --dedupe would otherwise have committed), and read whole when its encoding is named."""
    # More rows above the bad byte than --dedupe commits at a time, and than a read decodes.
    filler = "".join(f"F{i};Paul;Durand;06{i:08d}\r\n" for i in range(FILLER))
    rows = f"external_id;first_name;last_name;phone\r\nA1;Jean;Martin;0612345678\r\n{filler}A2;Zoé;Lefèvre;0611223344\r\n"
    excel = tmp_path / "excel.csv"
    excel.write_bytes(rows.encode("cp1252"))
    token = await stack.token()

    async def names() -> set[str]:
        found = []
        for query in ("martin", "lefevre"):
            found += (await stack.client.get("/api/v1/citizens/search", params={"q": query},
                                             headers={"Authorization": f"Bearer {token}"})).json()["results"]
        return {hit["full_name"] for hit in found}

    dedupe_flag = ["--dedupe"] if dedupe else []
    refused = guichet(stack, "citizens", "import", *dedupe_flag, str(excel))
    message = " ".join(refused.stderr.split())
    assert refused.returncode == 2 and f"line {FILLER + 3} is not UTF-8 text" in message and "--encoding cp1252" in message, message
    assert await names() == set()
    read = guichet(stack, "citizens", "import", *dedupe_flag, "--encoding", "cp1252", str(excel))
    assert read.returncode == 0, read.stderr
    assert await names() == {"Jean Martin", "Zoé Lefèvre"}

    # Excel's 'Texte Unicode': UTF-16 with its byte-order mark, tab-separated, read without asking.
    unicode_text = tmp_path / "unicode.txt"
    unicode_text.write_bytes(codecs.BOM_UTF16_LE + rows.replace(";", "\t").encode("utf-16-le"))
    lines = resolved(stack, unicode_text)
    assert lines["A2"]["decision"] == "match" and lines["A2"]["matched_external_id"] == "A2"
    unknown = guichet(stack, "citizens", "resolve", "--encoding", "ansi-fr", str(excel))
    assert unknown.returncode == 2 and "unknown encoding 'ansi-fr'" in unknown.stderr and not unknown.stdout


async def test_after_a_merge_the_old_name_finds_the_survivor_once(stack: Stack, tmp_path: Path) -> None:
    people = write_csv(tmp_path / "two.csv", [
        ["A1", "Nadia", "Bennani", "nadia.b@example.org", "", "1990-04-05", "", "", "", ""],
        ["A2", "Nadia", "Bennani-Squalli", "", "0655443322", "", "", "", "", ""],
    ])
    # Batch after batch (what a live service's first import would choose): the same citizens.
    assert guichet(stack, "citizens", "import", "--no-bulk-load", str(people)).returncode == 0
    headers = {"Authorization": f"Bearer {await stack.token()}"}
    hits = (await stack.client.get("/api/v1/citizens/search", params={"q": "squalli"}, headers=headers)).json()
    (other,) = [hit["id"] for hit in hits["results"]]
    hits = (await stack.client.get("/api/v1/citizens/search", params={"q": "nadia.b@example.org"},
                                   headers=headers)).json()
    (survivor,) = [hit["id"] for hit in hits["results"]]
    merged = await stack.client.post(f"/api/v1/citizens/{survivor}/merge", headers=headers,
                                     json={"other_id": other, "reason": "same person, married name"})
    assert merged.status_code == 200, merged.text
    hits = (await stack.client.get("/api/v1/citizens/search", params={"q": "squalli"}, headers=headers)).json()
    assert [hit["id"] for hit in hits["results"]] == [survivor]
    assert hits["results"][0]["matched"].endswith("(merged record)")
    # and the resolver links the old record's phone to the survivor
    query = write_csv(tmp_path / "q.csv", [["Q", "Nadia", "Bennani", "", "06 55 44 33 22", "", "", "", "", ""]])
    line = resolved(stack, query)["Q"]
    assert line["citizen_id"] == survivor


async def test_a_first_import_keeps_todays_rules_for_repeated_ids_and_shared_emails(
        stack: Stack, tmp_path: Path) -> None:
    """Into empty tables the whole file is one bulk load: a repeated external_id is still refused
    with its line, a family email still gives two people, and the indexes are all back."""
    source = write_csv(tmp_path / "family.csv", [
        ["F1", "Karim", "Tazi", "famille.tazi@example.org", "0611223344", "", "", "", "", ""],
        ["F2", "Salma", "Tazi", "famille.tazi@example.org", "0611223344", "", "", "", "", ""],
        ["F1", "Karim", "Tazi", "karim@example.org", "", "", "", "", "", ""],
    ])
    async with stack.session() as session:
        before = await citizen_schema(await session.connection())
    result = guichet(stack, "citizens", "import", str(source))
    assert result.returncode == 0, result.stderr
    assert "created: 2" in result.stdout and "refused: 1" in result.stdout
    (error,) = csv.DictReader((tmp_path / "family.errors.csv").open(encoding="utf-8"))
    assert error["line"] == "4" and "already on line 2" in error["error"] and error["imported"] == "no"
    headers = {"Authorization": f"Bearer {await stack.token()}"}
    hits = (await stack.client.get("/api/v1/citizens/search", params={"q": "famille.tazi@example.org"},
                                   headers=headers)).json()
    assert sorted(hit["full_name"] for hit in hits["results"]) == ["Karim Tazi", "Salma Tazi"]
    async with stack.session() as session:
        assert await citizen_schema(await session.connection()) == before


async def test_a_bulk_load_keeps_tabs_newlines_and_backslashes_and_later_ids_come_after(
        stack: Stack, tmp_path: Path) -> None:
    """The bulk load's rows reach the database as text the workers wrote (COPY text on
    PostgreSQL): values holding that format's own separators come back as written, and the
    citizens made after the load take ids after the ones it numbered itself."""
    source = write_csv(tmp_path / "odd.csv", [
        ["Q1", "Anne\tMarie", "Roux\\N", "anne@example.org", "", "", "", "", "Paris\n1er", ""],
        ["Q2", "Paul", "Roux", "paul@example.org", "", "", "", "", "", ""],
    ])
    result = guichet(stack, "citizens", "import", str(source))
    assert result.returncode == 0, result.stderr
    assert "created: 2" in result.stdout
    later = guichet(stack, "citizens", "import", str(write_csv(tmp_path / "later.csv", [
        ["Q3", "Lina", "Roux", "lina@example.org", "", "", "", "", "", ""]])))
    assert later.returncode == 0 and "created: 1" in later.stdout, later.stderr
    async with stack.session() as session:
        rows = (await session.execute(text(
            "SELECT external_id, first_name, last_name, city, language FROM citizen ORDER BY id"))).all()
        emails = (await session.execute(text(
            "SELECT c.external_id, p.raw_value FROM contact_point p JOIN citizen c ON c.id = p.citizen_id "
            "ORDER BY c.id"))).all()
    assert [tuple(row) for row in rows] == [("Q1", "Anne\tMarie", "Roux\\N", "Paris\n1er", None),
                                            ("Q2", "Paul", "Roux", None, None), ("Q3", "Lina", "Roux", None, None)]
    assert [tuple(row) for row in emails] == [("Q1", "anne@example.org"), ("Q2", "paul@example.org"),
                                              ("Q3", "lina@example.org")]


def quoted_over_lines(rows: list[list[str]]) -> list[list[str]]:
    """Every 7th address written over two lines with quotes in it: fields the CSV must quote."""
    for i in range(0, len(rows), 7):
        rows[i][6] = f'{rows[i][6]}\nBât. "B", 2e étage'
    return rows


def with_stray_quotes(rows: list[list[str]]) -> list[list[str]]:
    """Quoted addresses over two lines, and now and then a quote inside a bare name (O"Brien, as
    spreadsheets write it unquoted): the quotes no longer pair, so a cut between two lines that
    looks balanced can fall inside a quoted address."""
    rows = quoted_over_lines(rows)
    for i in range(3, len(rows), 2_400):  # one in the first chunk: its quotes are odd
        rows[i][2] = 'O"Brien'
    return rows


def write_raw(path: Path, rows: list[list[str]]) -> Path:
    """Rows written as a spreadsheet would: a field quoted only when it holds a comma, a line
    break or starts with a quote (a quote inside a bare field stays as it is)."""
    def field(value: str) -> str:
        if "," in value or "\n" in value or value.startswith('"'):
            return '"' + value.replace('"', '""') + '"'
        return value
    path.write_text("\n".join(",".join(map(field, row)) for row in [HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("shape", ["plain", "quoted_over_lines", "stray_quotes"])
async def test_a_bulk_load_writes_each_row_every_table_should_hold_once(stack: Stack, tmp_path: Path,
                                                                     shape: str) -> None:
    """Chunks of about 2,000 lines of text cross two workers, which parse them, and on SQLite
    each chunk's rows go in many to a statement with the rest one by one: whatever the
    boundaries, and however the file quotes its fields, every citizen, contact point, name
    word and blocking key the file makes is in the database once, with its citizen, as the
    pure functions make them from the file read in order; bad rows are reported on their line."""
    people = {"plain": many_people, "quoted_over_lines": lambda n: quoted_over_lines(many_people(n)),
              "stray_quotes": lambda n: with_stray_quotes(many_people(n))}[shape](4_999)
    source = write_raw(tmp_path / "many.csv", people)
    result = guichet(stack, "citizens", "import", "--workers", "2", str(source))
    assert result.returncode == 0, result.stderr
    assert "created: 4999" in result.stdout
    with source.open(newline="", encoding="utf-8") as handle:
        header, records = read_csv(handle)
        rows = [item for item in prepare_chunk(header, list(records), "FR") if isinstance(item, Prepared)]
    citizens, contacts, tokens, keys = table_rows([row.external_id for row in rows], rows, "", _same)
    want = {
        "citizen": sorted(values[:8] for values in citizens),
        "contact_point": sorted(values[:4] for values in contacts),
        "citizen_name_token": sorted((external_id, token) for token, external_id in tokens),
        "identity_key": sorted((external_id, key) for key, external_id in keys),
    }
    queries = {
        "citizen": "SELECT external_id, full_name, first_name, last_name, birth_date, address, postcode, city "
                   "FROM citizen",
        "contact_point": "SELECT c.external_id, p.kind, p.value, p.raw_value FROM contact_point p "
                         "JOIN citizen c ON c.id = p.citizen_id",
        "citizen_name_token": "SELECT c.external_id, t.token FROM citizen_name_token t "
                              "JOIN citizen c ON c.id = t.citizen_id",
        "identity_key": "SELECT c.external_id, k.key FROM identity_key k JOIN citizen c ON c.id = k.citizen_id",
    }
    async with stack.session() as session:
        for table, query in queries.items():
            found = sorted(tuple(str(v) if isinstance(v, date) else v for v in row)
                           for row in (await session.execute(text(query))).all())
            assert found == want[table], table
    assert len(want["identity_key"]) > 5 * 4_999  # thousands of statements' worth, not one


def many_people(count: int) -> list[list[str]]:
    first = ["Nadia", "Youssef", "Marie", "Jean", "Fatima", "Pierre", "Khadija", "Lucas", "Amina", "Hugo"]
    last = ["Amrani", "Dupont", "Alaoui", "Martin", "Bennani", "Durand", "Tazi", "Moreau", "Idrissi", "Laurent"]
    return [[f"K{i}", first[i % 10], f"{last[i // 10 % 10]}{i // 100}", f"person{i}@example.org", f"06{i:08d}",
             f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}", f"{i % 90 + 1} rue de la Paix", f"{75001 + i % 20}", "Paris",
             ""] for i in range(count)]


async def write_lock_taken(url: str) -> bool:
    """Whether another connection holds the write lock of the citizen tables (a load is going on)."""
    if url.startswith("sqlite"):
        probe = sqlite3.connect(url.split("///", 1)[1], timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        return bool(await connection.fetchval(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'identity_key' AND l.mode = 'AccessExclusiveLock' AND l.granted"))
    finally:
        await connection.close()


async def test_an_import_killed_mid_load_leaves_no_partial_rows_and_every_index(
        stack: Stack, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "many.csv", many_people(60_000))
    async with stack.session() as session:
        before = await citizen_schema(await session.connection())
    url = stack.settings.database_url
    env = {**os.environ, "GUICHET_DATABASE_URL": url}
    env.pop("GUICHET_REDIS_URL", None)
    running = await asyncio.create_subprocess_exec(GUICHET, "citizens", "import", "--workers", "0", str(source),
                                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not await write_lock_taken(url):
            assert running.returncode is None, "the import ended before it could be interrupted"
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # thousands of rows written by now (of a few seconds' work), none committed
        assert running.returncode is None, "the import ended before it could be interrupted"
    finally:
        if running.returncode is None:
            running.kill()
        await running.wait()
    async with stack.session() as session:
        for table in ("citizen", "contact_point", "citizen_name_token", "identity_key"):
            assert (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one() == 0, table
        assert await citizen_schema(await session.connection()) == before
    again = guichet(stack, "citizens", "import", str(source))
    assert again.returncode == 0, again.stderr
    assert "created: 60000" in again.stdout



async def test_a_first_import_alone_on_sqlite_goes_through_a_rollback_journal_and_survives_a_kill(
        tmp_path: Path) -> None:
    """Nobody else on the database: the load's pages are written once, through a rollback journal
    instead of the WAL. Killed mid-load, the next connection rolls the journal back (empty
    tables, every index) and puts the WAL back; run again, the import completes in WAL."""
    database = tmp_path / "alone.db"
    url = f"sqlite+aiosqlite:///{database}"
    await asyncio.to_thread(migrations.upgrade, url)
    engine = make_engine(url)
    async with engine.connect() as connection:
        before = await citizen_schema(connection)
    await engine.dispose()  # the import must be alone
    source = write_csv(tmp_path / "many.csv", many_people(60_000))
    env = {**os.environ, "GUICHET_DATABASE_URL": url}
    env.pop("GUICHET_REDIS_URL", None)
    journal = Path(f"{database}-journal")
    running = await asyncio.create_subprocess_exec(GUICHET, "citizens", "import", "--workers", "0", str(source),
                                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not journal.exists():
            assert running.returncode is None, "the import ended without a rollback journal"
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)
        assert running.returncode is None, "the import ended before it could be interrupted"
    finally:
        if running.returncode is None:
            running.kill()
        await running.wait()
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar_one() == "wal"
            for table in ("citizen", "contact_point", "citizen_name_token", "identity_key"):
                assert (await connection.exec_driver_sql(f"SELECT count(*) FROM {table}")).scalar_one() == 0
            assert await citizen_schema(connection) == before
    finally:
        await engine.dispose()
    again = await asyncio.to_thread(subprocess.run, [GUICHET, "citizens", "import", str(source)], env=env,
                                    capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "created: 60000" in again.stdout
    assert not journal.exists()
    check = sqlite3.connect(database)
    try:
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        check.close()


async def test_many_bad_rows_are_each_reported_with_their_line_and_the_good_ones_imported(
        stack: Stack, tmp_path: Path) -> None:
    """Bug: every reported row was held in memory until the end of the import. The error file is
    now written chunk by chunk (chunks of 2,000 records, in worker processes) while the import
    runs, and put in place at the end: it still lists every bad row once, with its line, in
    line order."""
    rows = many_people(12_000)
    refused, with_problems = set(), set()
    for i in range(0, len(rows), 3):
        line = i + 2  # the header is line 1
        if i % 2:
            rows[i] = [f"K{i}", "", "", "", "", "", "", "", "", ""]
            refused.add(line)
        else:
            rows[i][4] = "not a phone"
            with_problems.add(line)
    rows[4_501][0] = "K7"  # an external_id seen in an earlier chunk
    refused.add(4_503)
    source = write_csv(tmp_path / "messy.csv", rows)
    env = {**os.environ, "GUICHET_DATABASE_URL": stack.settings.database_url}
    env.pop("GUICHET_REDIS_URL", None)
    running = await asyncio.create_subprocess_exec(GUICHET, "citizens", "import", "--workers", "2", str(source),
                                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    partial, written_meanwhile = tmp_path / "messy.errors.csv.partial", 0
    while running.returncode is None:
        with contextlib.suppress(FileNotFoundError):
            written_meanwhile = max(written_meanwhile, partial.read_text(encoding="utf-8").count("\n") - 1)
        await asyncio.sleep(0.01)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(running.wait(), 0.001)
    stdout, stderr = (stream.decode() for stream in await running.communicate())
    assert running.returncode == 0, stderr
    stdout = " ".join(stdout.split())  # the console wraps long lines
    assert written_meanwhile >= 500, "rows were reported only at the end"
    good = len(rows) - len(refused)
    assert f"created: {good}" in stdout and f"refused: {len(refused)}" in stdout
    assert f"with problems: {len(with_problems)}" in stdout
    errors = list(csv.DictReader((tmp_path / "messy.errors.csv").open(encoding="utf-8")))
    assert [int(error["line"]) for error in errors] == sorted(refused | with_problems)
    for error in errors:
        line = int(error["line"])
        assert error["imported"] == ("yes" if line in with_problems else "no"), error
        assert error["external_id"] == rows[line - 2][0]
    assert "already on line 9" in next(e["error"] for e in errors if e["line"] == "4503")
    assert not partial.exists()
    async with stack.session() as session:
        assert (await session.execute(text("SELECT count(*) FROM citizen"))).scalar_one() == good
        phones = "SELECT count(*) FROM contact_point WHERE kind = 'phone'"
        assert (await session.execute(text(phones))).scalar_one() == good - len(with_problems)
