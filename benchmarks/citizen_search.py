"""Citizen search-as-you-type at scale (issue 4's target: p95 <= 50 ms at 1,000,000 citizens).

A migrated database is filled in bulk (PostgreSQL: COPY through asyncpg; SQLite: executemany in
one transaction) with N citizens of French and Moroccan names (common names much more common,
as in life), each with an email and an E.164 phone, a CIN for a fifth of them, a name index
(`citizen_name_token`, built by the same `crm.search.name_tokens` the app uses) and 100,000
tickets. Then `crm.search.search_citizens` runs, one query at a time, committed like the HTTP
handler does (the access record included): keystrokes of names, surname starts, typo'd names,
every form of phone numbers and their starts, emails and their starts, references full and
short, national ids. Each query's kind is timed apart; identifier queries must put their
citizen first.
"""
from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import phonenumbers
from sqlalchemy.engine import make_url

from app import migrations
from app.db import make_engine, make_sessionmaker
from crm.search import fold, name_keys, search_citizens

FRENCH_FIRST = ["Marie", "Jean", "Pierre", "Michel", "Nathalie", "Isabelle", "Philippe", "Sophie", "Nicolas",
                "Catherine", "Christophe", "Sandrine", "Julien", "Camille", "Léa", "Chloé", "Hélène", "Amélie",
                "Thomas", "Émilie", "François", "Aurélie", "Céline", "Jérôme", "Stéphane", "Benoît", "Manon",
                "Inès", "Gaëlle", "Noémie", "Loïc", "Maël", "Zoé", "Margaux", "Hugo", "Lucas", "Louise",
                "Théo", "Clément", "Anaïs", "Mathilde", "Élise", "Agnès", "Bérénice", "Joël", "Ségolène"]
FRENCH_LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
               "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
               "Vincent", "Fournier", "Morel", "Girard", "André", "Lefebvre", "Mercier", "Dupont", "Lambert",
               "Bonnet", "François", "Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc",
               "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu", "Clément",
               "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin", "Le Gall", "Le Goff",
               "Dufour", "Meunier", "Brun", "Barbier", "Arnaud", "Giraud", "Renaud", "Brunet", "Schmitt"]
MOROCCAN_FIRST = ["Mohamed", "Mohammed", "Muhammad", "Fatima", "Fatima-Zahra", "Ahmed", "Youssef", "Khadija",
                  "Aicha", "Rachid", "Hassan", "Said", "Abdelkader", "Nadia", "Zineb", "Meryem", "Hamza",
                  "Imane", "Omar", "Karim", "Samira", "Naima", "Latifa", "Abdellah", "Mustapha", "Driss",
                  "Hicham", "Khalid", "Nabil", "Yassine", "Soukaina", "Houda", "Salma", "Ilyas", "Othmane",
                  "Amine", "Ayoub", "Hajar", "Sanaa", "Leila", "Loubna", "Mehdi", "Anas", "Brahim", "Abdelaziz"]
MOROCCAN_LAST = ["Alaoui", "El Amrani", "Amrani", "Benjelloun", "Bennani", "Tazi", "El Idrissi", "Idrissi",
                 "Berrada", "Cherkaoui", "Chraibi", "El Fassi", "Lahlou", "Sqalli", "Benani", "Ouazzani",
                 "Ait Ouahmane", "Ait Benhaddou", "Ouali", "Belhaj", "Bouzid", "El Mansouri", "Mansouri",
                 "Ziani", "Boukhari", "Haddad", "Naciri", "Filali", "Kettani", "Benkirane", "Zerouali",
                 "El Ouardi", "Tahiri", "Skalli", "Rifai", "Harrak", "Bakkali", "Chaoui", "Daoudi", "Jabri",
                 "El Khatib", "Lamrani", "Moussaoui", "Ouahbi", "Raji", "Saidi", "Talbi", "Zaki", "Hajji"]
DOMAINS = ["gmail.com", "yahoo.fr", "hotmail.com", "orange.fr", "free.fr", "outlook.fr", "laposte.net",
           "gmail.ma", "menara.ma"]
TICKETS = 100_000


def zipf_weights(names: list[str]) -> list[float]:
    """Weights for rng.choices, the first names of the list the most common (also used by identity_dataset)."""
    return [1 / (rank + 1) ** 0.9 for rank in range(len(names))]  # Zipf-like: some names are common


@dataclass
class Person:
    id: int
    full_name: str
    email: str
    phone: str
    national_id: str | None


def people(n: int, seed: int = 4) -> list[Person]:
    rng = random.Random(seed)
    result = []
    pools = [(FRENCH_FIRST, FRENCH_LAST, "+336"), (MOROCCAN_FIRST, MOROCCAN_LAST, "+2126")]
    weights = [(zipf_weights(first), zipf_weights(last)) for first, last, _ in pools]
    for i in range(1, n + 1):
        moroccan = i % 2
        first_names, last_names, phone_start = pools[moroccan]
        first_w, last_w = weights[moroccan]
        first = rng.choices(first_names, first_w)[0]
        last = rng.choices(last_names, last_w)[0]
        local = ".".join(fold(f"{first} {last}").split())
        result.append(Person(
            id=i, full_name=f"{first} {last}", email=f"{local}{i}@{rng.choice(DOMAINS)}",
            phone=f"{phone_start}{i:08d}",
            national_id=(f"{'ABCDEFGHJK'[i % 10]}{'ABCDEFGHJK'[i // 10 % 10]}{i:06d}"
                         if moroccan and i % 5 == 1 else None)))
    return result


def _rows(persons: list[Person]):
    now = datetime.now(UTC)
    citizens = [(p.id, p.full_name, None, now, now) for p in persons]
    points, tokens = [], []
    cache: dict[str, list[str]] = {}
    for p in persons:
        points.append((len(points) + 1, p.id, "email", p.email, p.email, False, now))
        points.append((len(points) + 1, p.id, "phone", p.phone, p.phone, False, now))
        if p.national_id:
            points.append((len(points) + 1, p.id, "national_id", p.national_id, p.national_id, False, now))
        words = cache.get(p.full_name) or cache.setdefault(p.full_name, name_keys(p.full_name))
        tokens.extend((word, p.id) for word in words)
    rng = random.Random(42)
    tickets = [(k, f"GRU-2026-{k:06d}", rng.randrange(1, len(persons) + 1), "", "closed", "normal", "sms",
                "sms", now, now) for k in range(1, TICKETS + 1)]
    return citizens, points, tokens, tickets


CITIZEN = ["id", "full_name", "language", "created_at", "updated_at"]
POINT = ["id", "citizen_id", "kind", "value", "raw_value", "verified", "created_at"]
TOKEN = ["token", "citizen_id"]
TICKET = ["id", "reference", "citizen_id", "subject", "status", "priority", "origin_channel", "reply_channel",
          "created_at", "updated_at"]


async def fill_postgres(url: str, persons: list[Person]) -> float:
    start = time.perf_counter()
    citizens, points, tokens, tickets = _rows(persons)
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        for table, columns, rows in (("citizen", CITIZEN, citizens), ("contact_point", POINT, points),
                                     ("citizen_name_token", TOKEN, tokens), ("ticket", TICKET, tickets)):
            await connection.copy_records_to_table(table, records=rows, columns=columns)
            if "id" in columns:
                await connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                         f"(SELECT max(id) FROM {table}))")
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return time.perf_counter() - start


def fill_sqlite(url: str, persons: list[Person]) -> float:
    start = time.perf_counter()
    citizens, points, tokens, tickets = _rows(persons)

    def plain(rows):  # SQLite stores naive UTC text, as the app's UTCDateTime does
        return [tuple(v.replace(tzinfo=None).isoformat(" ") if isinstance(v, datetime) else v for v in row)
                for row in rows]
    connection = sqlite3.connect(make_url(url).database)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        for table, columns, rows in (("citizen", CITIZEN, citizens), ("contact_point", POINT, points),
                                     ("citizen_name_token", TOKEN, tokens), ("ticket", TICKET, tickets)):
            marks = ", ".join("?" * len(columns))
            connection.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", plain(rows))
        connection.commit()
        connection.execute("ANALYZE")
        connection.commit()
    finally:
        connection.close()
    return time.perf_counter() - start


def typo(word: str, rng: random.Random) -> str:
    """One edit inside the word (delete, swap, replace), never its first or last letter."""
    i = rng.randrange(1, len(word) - 1)
    how = rng.choice(["delete", "swap", "replace"])
    if how == "delete":
        return word[:i] + word[i + 1:]
    if how == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + rng.choice("aeioutrsnl") + word[i + 1:]


def queries(persons: list[Person], rng: random.Random, per_kind: int) -> list[tuple[str, str, int | None]]:
    """(kind, text, the citizen an identifier must put first, or None for names)."""
    found: list[tuple[str, str, int | None]] = []
    def sample() -> Person:
        return persons[rng.randrange(len(persons))]
    for _ in range(per_kind // 8):  # keystrokes, as an agent types a whole name
        name = sample().full_name
        found += [("name keystrokes", name[:k], None) for k in range(2, len(name) + 1) if name[k - 1] != " "]
    for _ in range(per_kind):
        p = sample()
        first, *rest = p.full_name.split(" ")
        last = rest[-1]
        found.append(("surname start", last[:rng.randint(3, max(3, len(last)))], None))
        if len(last) >= 5:
            found.append(("typo'd name", f"{first} {typo(last, rng)}", None))
        national = phonenumbers.format_number(phonenumbers.parse(p.phone), phonenumbers.PhoneNumberFormat.NATIONAL)
        spaced = phonenumbers.format_number(phonenumbers.parse(p.phone),
                                            phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        form = rng.choice([p.phone, "00" + p.phone[1:], spaced])
        if p.phone.startswith("+33"):  # a Moroccan number in national form would be read as French
            form = rng.choice([form, national, national.replace(" ", "")])
        found.append(("phone, whole", form, p.id))
        found.append(("phone, first digits", national.replace(" ", "")[:rng.randint(6, 9)]
                      if p.phone.startswith("+33") else p.phone[:rng.randint(7, 11)], None))
        found.append(("email, whole", p.email.upper() if rng.random() < 0.2 else p.email, p.id))
        found.append(("email, start", p.email.split("@")[0] + "@", None))
        k = rng.randint(1, TICKETS)
        found.append(("reference", rng.choice([f"GRU-2026-{k:06d}", f"2026-{k}"]), -k))
    with_id = [p for p in persons[:20_000] if p.national_id]
    for _ in range(per_kind // 2):
        p = rng.choice(with_id)
        found.append(("national id", p.national_id[:2] + " " + p.national_id[2:], p.id))
    rng.shuffle(found)
    return found


@dataclass
class Result:
    backend: str
    citizens: int
    fill_s: float
    queries: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    identifiers_first: float = 0.0  # share of identifier queries whose citizen came first


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(backend: str, url: str, persons: list[Person], fill_s: float, per_kind: int) -> Result:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    rng = random.Random(7)
    tickets_citizen = {}
    async with engine.connect() as connection:
        from sqlalchemy import text
        tickets_citizen = dict((await connection.execute(text("SELECT id, citizen_id FROM ticket"))).all())
    mix = queries(persons, rng, per_kind)
    times: dict[str, list[float]] = defaultdict(list)
    first = total = 0
    for kind, text_, expected in mix[:200]:  # warm caches and the statement cache
        async with sessions() as session:
            await search_citizens(session, text_, default_region="FR", agent_id=None)
            await session.rollback()
    for kind, text_, expected in mix:
        start = time.perf_counter()
        async with sessions() as session:
            hits = await search_citizens(session, text_, default_region="FR", agent_id=None)
            await session.commit()
        times[kind].append((time.perf_counter() - start) * 1000)
        if expected is not None:
            wanted = tickets_citizen[-expected] if expected < 0 else expected
            total += 1
            first += bool(hits) and hits[0].citizen_id == wanted
    await engine.dispose()
    every = [t for values in times.values() for t in values]
    return Result(backend=backend, citizens=len(persons), fill_s=fill_s, queries=len(every),
                  p50_ms=statistics.median(every), p95_ms=_pct(every, 0.95), p99_ms=_pct(every, 0.99),
                  by_kind={kind: {"n": len(v), "p50_ms": statistics.median(v), "p95_ms": _pct(v, 0.95),
                                  "p99_ms": _pct(v, 0.99)} for kind, v in sorted(times.items())},
                  identifiers_first=first / total if total else 1.0)


async def run_postgres(url: str, n: int, per_kind: int) -> Result:
    await asyncio.to_thread(migrations.upgrade, url)
    persons = people(n)
    fill_s = await fill_postgres(url, persons)
    return await measure("postgresql", url, persons, fill_s, per_kind)


async def run_sqlite(url: str, n: int, per_kind: int) -> Result:
    await asyncio.to_thread(migrations.upgrade, url)
    persons = people(n)
    fill_s = await asyncio.to_thread(fill_sqlite, url, persons)
    return await measure("sqlite", url, persons, fill_s, per_kind)


def report(results: list[Result], machine: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("backend", "citizens", "fill s", "queries", "p50 ms", "p95 ms", "p99 ms", "identifier first",
                  title=f"citizen search — {machine} — target p95 <= 50 ms at 1,000,000")
    for r in results:
        table.add_row(r.backend, f"{r.citizens:,}", f"{r.fill_s:.0f}", str(r.queries), f"{r.p50_ms:.1f}",
                      f"{r.p95_ms:.1f}", f"{r.p99_ms:.1f}", f"{r.identifiers_first:.3f}")
    Console(width=140).print(table)
    kinds = Table("backend", "kind", "n", "p50 ms", "p95 ms", "p99 ms", title="by kind of query")
    for r in results:
        for kind, row in r.by_kind.items():
            kinds.add_row(r.backend, kind, str(row["n"]), f"{row['p50_ms']:.1f}", f"{row['p95_ms']:.1f}",
                          f"{row['p99_ms']:.1f}")
    Console(width=140).print(kinds)
