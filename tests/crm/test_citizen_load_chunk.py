"""A bulk load's chunk (`load_chunk`) holds exactly what `check_row` and `prepare` make of the
same records, whatever the values: it derives clean rows by a shorter road of its own."""
from __future__ import annotations

import csv
import io
import marshal
import random
import sys
import unicodedata

import pytest

from crm import citizen_import
from crm.citizen_import import (
    check_row,
    COPY_TABLES,
    LOAD_TABLES,
    Prepared,
    RowError,
    _copy_tables,
    _same,
    load_chunk,
    prepare_chunk,
    read_csv,
    sqlite_payload,
    table_rows,
)
from crm.identity_keys import MAX_KEY, _name_sounds, _name_sounds_of, keys_for
from crm.names import _LIGATURES, _NON_WORD, fold
from crm.person import split_address, street_of
from crm.search import name_keys, name_keys_of_parts

FIRST = ["Marie", "Jean-Luc", "Amélie", "ZOË", "Ðorđe", "Œdipe", "محمد", "Ahmed\tTab", "back\\slash", "new\nline",
         "  spaced  out  ", "", "El", "Ben Ali", "Mohammed", "Ǆemal", "x" * 120, "Ａｎｎａ", "D'Artagnan", "le", "ı",
         "\r\ncr", "李", "__", "-", "Nguyễn", "a" * 70 + " " + "b" * 70 + " " + "c" * 70]
LAST = ["Bernard", "El Amrani", "Aït Ali", "de la Fontaine", "عبد القادر", "Müller", "ben\\ali", "tab\there",
        "multi\nline", "", "L", "y" * 300, "Ñúñez", "Dupont-Aignan", "   ", "Marie", "Bernard Bernard"]
FULL = ["", "", "", "Nadia  Amrani", "محمد بن علي", "Dr. Jean\tPaul", "a\\b c", "   ", "x" * 250]
EMAIL = ["a@b.fr", "bad@", "x@localhost", "ok.name+tag@gmail.com", "UPPER@EXAMPLE.ORG", "tëst@exämple.fr",
         "a..b@c.fr", "tab\t@x.fr", "back\\@x.fr", "", "x@y.invalid", "n\new@x.fr"]
PHONE = ["0612345678", "06 12 34 56 78", "+33612345678", "0033612345678", "+212 6 17 26 41 43", "12", "abc",
         "+1 202 555 0199", "0612\t345678", "06\\12", "", "+44 20 7946 0958", "0800 123 456", "٠٦١٢٣٤٥٦٧٨"]
BIRTH = ["1980-01-02", "31/12/1980", "1980-02-30", "2099-01-01", "19800102", "bad", "", "\t1980-01-02"]
ADDRESS = ["12 bis rue de la Paix", "Appt 12, 52 rue de Paris", "حي السلام", "tab\taddr", "back\\addr",
           "line1\nline2", "", "1 A", "z" * 500, "7b", "  ", "3 allée des Érables"]
POSTCODE = ["75001", "75 001", "abc", "SW1A 1AA", "", "9" * 20, "\t75001", "٧٥٠٠١"]
CITY = ["Paris", "Saint-Étienne", "الرباط", "tab\tcity", "back\\city", "new\ncity", "", "Z" * 150]
NATIONAL_ID = ["AB 123-456", "12", "x" * 50, "", "ÉÑ1234", "tab\t1234"]
HEADER = ["ref", "first_name", "nom", "full_name", "email", "phone", "dob", "address", "postcode", "city", "cin",
          "ignored"]


def hostile_csv(rows: int, seed: int) -> str:
    """Rows of every kind of value a file brings: escapes, newlines in quoted fields, other
    scripts, unreadable values, wrong numbers of fields, blank lines, empty rows."""
    pick = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for i in range(rows):
        row = [pick.choice([f"H{i}", f"H{i}", "", "tab\tid", "x" * 150]),
               *(pick.choice(values) for values in (FIRST, LAST, FULL, EMAIL, PHONE, BIRTH, ADDRESS, POSTCODE,
                                                     CITY, NATIONAL_ID)), "junk"]
        chance = pick.random()
        if chance < 0.04:
            row = row[:5]
        elif chance < 0.08:
            row = [""] * len(HEADER)
        writer.writerow(row)
        if pick.random() < 0.03:
            out.write("\r\n")
    return out.getvalue()


def expected(header, records, first_id: int, dialect: str, now: str, skip: frozenset[int]):
    """What a chunk holds by the long road: `prepare_chunk`, then the same encoding."""
    items = prepare_chunk(header, records, "FR")
    errors = [item for item in items if isinstance(item, RowError)]
    rows = [item for item in items if isinstance(item, Prepared) and item.line not in skip]
    ids = range(first_id, first_id + len(rows))
    if dialect == "postgresql":
        tables = _copy_tables(ids, rows)
    else:
        tables = {table: marshal.loads(sqlite_payload(values))
                  for table, values in zip(LOAD_TABLES, table_rows(ids, rows, now, _same), strict=True) if values}
    return errors, [row.line for row in rows], [row.external_id for row in rows], tables


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_chunk_holds_what_check_row_and_prepare_make_of_hostile_rows(dialect: str, seed: int) -> None:
    header, records = read_csv(io.StringIO(hostile_csv(400, seed), newline=""))
    records = list(records)
    now = "2026-01-02 03:04:05.000006"
    for skip in (frozenset(), frozenset(line for line, _ in records[::5])):
        chunk = load_chunk(header, records, "FR", 7, dialect, now, skip)
        tables = chunk.tables if dialect == "postgresql" else {
            table: marshal.loads(payload) for table, payload in chunk.tables.items()}
        errors, lines, external_ids, want = expected(header, records, 7, dialect, now, skip)
        assert chunk.errors == errors
        assert (chunk.lines, chunk.external_ids) == (lines, external_ids)
        assert tables == want
        assert len(errors) > 50 and len(lines) > 100  # both roads were taken, often


def original_fold(text: str) -> str:
    """`fold` as first written: a Python test of each character for a combining mark."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", bare).split())


def test_folding_drops_the_combining_marks_of_every_character() -> None:
    # Every combining mark is below U+20000 (Unicode 14); the planes above hold none.
    assert not any(unicodedata.combining(chr(code)) for code in range(0x20000, sys.maxunicode + 1))
    characters = [chr(code) for code in range(0x20000) if not 0xD800 <= code < 0xE000]
    for start in range(0, len(characters), 4096):
        # Each character alone, after a letter, and a run of them (stacked marks).
        text = " ".join(characters[start:start + 4096]) + " a" + "a".join(characters[start:start + 4096]) \
            + "".join(characters[start:start + 4096])
        assert fold(text) == original_fold(text)


@pytest.mark.parametrize("words", [("jean", "dupont"), ("dupont", "jean"), ("mohamed", "mouhamed"), ("a", "b"),
                                   ("jean", "l"), ("nadia", "nadia"), ("nadia",), ("a", "b", "c"), ()])
def test_the_two_word_road_to_name_sounds_is_the_general_one(words: tuple[str, ...]) -> None:
    assert _name_sounds(words) == _name_sounds_of(words)


def test_blocking_keys_cut_short_are_never_repeated() -> None:
    """Two long sounds sharing a beginning make one key once cut at MAX_KEY: it is kept once."""
    keys = keys_for(("bl" * 30, "df" * 30 + "m", "df" * 30 + "n"), None, None, None, None)
    assert max(map(len, keys)) == MAX_KEY
    assert len(keys) == len(set(keys)) == 2


@pytest.mark.parametrize("address", [*ADDRESS, "12 bis rue de la Paix", "rue de la Paix", "12", "１２ ｒｕｅ Œillet",
                                     "\u0301 12 rue", "7\u00a8 b", "3 allée des Érables", "bd. 14-16 Å l'Île",
                                     "12b,rue_du_Port", "lot 3 résidence ٣ الأمل", "ǅ 1 ß", "n° 4 imp. St-Jean"])
def test_the_street_read_word_by_word_is_the_street_of_the_whole_folded_address(address: str) -> None:
    number, street = split_address(fold(address))
    assert street_of(address) == (number, street[0] if street else None)


def test_a_name_s_keys_from_its_parts_are_the_keys_of_the_whole_name() -> None:
    names = [name.strip() for name in FIRST + LAST + ["Mohammed", "a" * 40, "b" * 40, "Ben Ben", "1"] if name.strip()]
    for first in names:
        for last in names:
            assert name_keys_of_parts(first, last) == name_keys(" ".join(f"{first} {last}".split())), (first, last)


def copy_values(text: str) -> list[tuple]:
    """PostgreSQL's reading of COPY text: rows by newline, values by tab, \\N for null, escapes undone."""
    unescape = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}

    def value(field: str) -> str | None:
        if field == "\\N":
            return None
        out, i = [], 0
        while i < len(field):
            pair = field[i:i + 2]
            out.append(unescape[pair] if pair in unescape else field[i])
            i += 2 if pair in unescape else 1
        return "".join(out)

    return [tuple(value(field) for field in line.split("\t")) for line in text.split("\n")[:-1]]


@pytest.mark.parametrize("seed", [1, 2])
def test_the_copy_text_reads_back_as_the_rows_whatever_they_hold(seed: int) -> None:
    header, records = read_csv(io.StringIO(hostile_csv(400, seed), newline=""))
    rows = [item for item in prepare_chunk(header, list(records), "FR") if isinstance(item, Prepared)]
    for chosen in (rows, [row for row in rows if "\\" not in repr(row) and "\\t" not in repr(row)]):
        ids = range(10, 10 + len(chosen))
        tables = _copy_tables(ids, chosen)
        for table, values in zip(LOAD_TABLES, table_rows(ids, chosen, "2026-01-02 03:04:05+00", _same),
                                 strict=True):
            # The columns COPY gives: the load's time is the columns' default (STAMPED).
            given = [LOAD_TABLES[table].index(name) for name in COPY_TABLES[table]]
            want = [tuple(None if row[i] is None else str(row[i]) for i in given) for row in values]
            # PostgreSQL reads a boolean from 'f' (written by the usual road) as from 'False' (by the escaping one).
            verified = COPY_TABLES[table].index("verified") if table == "contact_point" else None
            got = [tuple("False" if i == verified and v == "f" else v for i, v in enumerate(row))
                   for row in copy_values(tables[table].decode())]
            assert got == want, table


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_a_chunk_of_a_file_with_few_columns_holds_what_check_row_and_prepare_make(
        dialect: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Columns the header lacks are read as absent, in any order, behind any separator; clean
    rows take the short road."""
    long_road = []
    monkeypatch.setattr(citizen_import, "check_row", lambda *args, **kwargs: long_road.append(args[1])
                        or check_row(*args, **kwargs))
    pick = random.Random(5)
    lines = ["courriel;nom complet;tel;autre"] + [
        ";".join(pick.choice(values).replace(";", "").replace("\n", " ").replace('"', "")
                 for values in (EMAIL, FULL + FIRST, PHONE, CITY)) for _ in range(300)]
    header, records = read_csv(io.StringIO("\n".join(lines) + "\n", newline=""))
    records = list(records)
    chunk = load_chunk(header, records, "FR", 1, dialect, "2026-01-02 03:04:05", frozenset())
    taken_long = set(long_road)
    errors, lines_made, external_ids, want = expected(header, records, 1, dialect, "2026-01-02 03:04:05", frozenset())
    tables = chunk.tables if dialect == "postgresql" else {
        table: marshal.loads(payload) for table, payload in chunk.tables.items()}
    assert (chunk.errors, chunk.lines, chunk.external_ids, tables) == (errors, lines_made, external_ids, want)
    clean = set(lines_made) - {error.line for error in errors}
    assert len(clean) > 50 and not clean & taken_long


def test_header_names_are_read_as_spreadsheets_write_them() -> None:
    """Accents, capitals, hyphens, spaces and a byte-order mark: every column is recognised."""
    header, _ = read_csv(io.StringIO("\ufeffRéférence;Prénom;Nom;E-mail;Téléphone;Date de naissance;"
                                     "Adresse;Code postal;Ville;Numéro\n", newline=""))
    assert header.columns == ("external_id", "first_name", "last_name", "email", "phone", "birth_date",
                              "address", "postcode", "city", None)
    assert header.ignored == ("Numéro",)
    assert read_csv(io.StringIO("FirstName,last name,Zip-Code,nationalid,E_Mail\n"))[0].columns == (
        "first_name", "last_name", "postcode", "national_id", "email")
    # A French administration's own export: its case number, 'Mél.', 'CP', 'Né(e) le'.
    header, _ = read_csv(io.StringIO("N° dossier;Prénom;Nom de naissance;Né(e) le;Tél. portable;Mél.;"
                                     "Adresse postale;CP;Localité;CNIE;Remarque\n"))
    assert header.columns == ("external_id", "first_name", "last_name", "birth_date", "phone", "email", "address",
                              "postcode", "city", "national_id", None)
    # A linkage set's usual English names.
    header, _ = read_csv(io.StringIO("id,fname,lname,gender,dob,email_address,phone_no,street_address,city,state,"
                                     "zip_code,ssn\n"))
    assert header.columns == ("external_id", "first_name", "last_name", None, "birth_date", "email", "phone",
                              "address", "city", None, "postcode", "national_id")
