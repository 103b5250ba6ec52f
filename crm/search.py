"""Citizen search-as-you-type: by name (typos, accents, case, transliterations), phone in any
form or in part, email, national id, or ticket reference.

Pure parts (folding, query reading, scoring, masking) are separate from the queries so they
can be tested and benchmarked without a database. Names are looked up in
`citizen_name_token` (a name's folded words and ordered pairs of words, kept in step with the
citizen by the mapper events below; a bulk import must write them with `name_token_rows`): by
prefix (B-tree range) or one edit away (the typed word's edits, looked up exactly) — no scan
of all citizens on either database. Identifiers go through
`contact_point`'s (value, kind) index, exactly or by prefix.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import phonenumbers
from rapidfuzz import fuzz
from sqlalchemy import String, bindparam, delete, event, func, insert, intersect, or_, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import attributes
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.errors import InvalidInput
from crm.models import AccessRecord, Citizen, CitizenNameToken, ContactKind, ContactPoint, Ticket
from crm.names import MAX_TOKEN, TRANSLITERATIONS, fold, name_words
from crm.identity import survivors_of
from crm.normalise import normalise_phone

MIN_QUERY_CHARACTERS = 2
MIN_PHONE_DIGITS = 6
MAX_LIMIT = 50
CANDIDATES = 200  # name candidates fetched from the index, then ranked
TYPO_MIN_LENGTH = 4  # shorter words are matched by prefix only: one edit away is anything
NAME_MIN_SCORE = 60

_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
_FULL_REFERENCE = re.compile(r"^\s*GRU-(20\d\d)-0*(\d{1,6})\s*$", re.IGNORECASE)
_SHORT_REFERENCE = re.compile(r"^\s*(20\d\d)-0*(\d{1,6})\s*$")
_PHONE_LIKE = re.compile(r"^[\d\s+().\-/]+$")
_NATIONAL_ID_LIKE = re.compile(r"^[A-Za-z0-9\s\-.]+$")


# --- pure: query reading, scoring, masking ------------------------------------------------------

def name_tokens(full_name: str) -> list[str]:
    """The distinct folded words of a name, transliterations unified, in order."""
    return list(name_words(full_name))


def name_keys(full_name: str) -> list[str]:
    """What the name index holds for a name: its words, and every ordered pair of them
    ('nadia amrani', 'amrani nadia'), so that two typed words are one range scan however
    common each word is alone."""
    return list(_name_keys(full_name))


@functools.lru_cache(maxsize=65536)  # full names repeat across a population (an import's rows)
def _name_keys(full_name: str) -> tuple[str, ...]:
    return _keys_of_words(name_words(full_name))


def name_keys_of_parts(first_name: str, last_name: str) -> list[str]:
    """`name_keys` of two names joined by a space ('Nadia' and 'Amrani': 'Nadia Amrani'), from
    each one's words: folding splits where the space is, so the whole name's words are theirs in
    order, and a population has far fewer first and last names than pairs of them (an import of
    a million citizens missed the cache of whole names half the time)."""
    first, last = name_words(first_name), name_words(last_name)
    if len(first) == len(last) == 1 and first != last and len(first[0]) + len(last[0]) < MAX_TOKEN:
        one, two = first[0], last[0]
        return [one, two, f"{one} {two}", f"{two} {one}"]  # distinct, none cut short
    return list(_keys_of_words(tuple(dict.fromkeys(first + last))))


def _keys_of_words(words: tuple[str, ...]) -> tuple[str, ...]:
    pairs = [f"{a} {b}"[:MAX_TOKEN] for a in words for b in words if a != b]
    return tuple(dict.fromkeys([*words, *pairs]))


def spellings(word: str) -> tuple[str, ...]:
    """A typed word as typed and as stored: 'al' may be the particle or the start of 'alice'."""
    unified = TRANSLITERATIONS.get(word, word)
    return (word,) if unified == word else (word, unified)


def one_edit_away(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion from `word`."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    transposes = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in _ALPHABET}
    inserts = {a + c + b for a, b in splits for c in _ALPHABET}
    return (deletes | transposes | replaces | inserts) - {word}


def prefix_end(prefix: str) -> str:
    """The least string after every string that starts with `prefix` (a B-tree range bound)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


@dataclass(frozen=True)
class Query:
    """What a typed query may be; several readings can hold at once (digits: phone and id)."""

    words: tuple[str, ...] = ()  # folded name words
    phone: str | None = None  # a whole number in E.164
    phone_prefix: str | None = None  # the E.164 start of a partial number
    email: str | None = None  # lower-cased, whole or the start of one
    national_id: str | None = None
    reference: str | None = None  # GRU-2026-000042


def national_prefix(region: str) -> str:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper())
    return (metadata.national_prefix if metadata else None) or ""


def read_query(text: str, *, default_region: str) -> Query:
    """Read what an agent typed. Raises InvalidInput when it is too short to search."""
    stripped = " ".join(text.split())
    if len(stripped) < MIN_QUERY_CHARACTERS:
        raise InvalidInput(f"type at least {MIN_QUERY_CHARACTERS} characters to search",
                           fields={"q": f"at least {MIN_QUERY_CHARACTERS} characters"})
    for pattern in (_FULL_REFERENCE, _SHORT_REFERENCE):
        match = pattern.match(stripped)
        if match:
            return Query(reference=f"GRU-{match.group(1)}-{int(match.group(2)):06d}")
    if "@" in stripped:
        return Query(email=stripped.lower().replace(" ", ""))
    digits = re.sub(r"\D", "", stripped)
    if _PHONE_LIKE.match(stripped):
        if len(digits) < MIN_PHONE_DIGITS:
            raise InvalidInput(f"type at least {MIN_PHONE_DIGITS} digits to search by phone number",
                               fields={"q": f"at least {MIN_PHONE_DIGITS} digits"})
        return Query(phone=_whole_phone(stripped, default_region),
                     phone_prefix=_phone_prefix(stripped, digits, default_region),
                     national_id=digits)
    if digits and _NATIONAL_ID_LIKE.match(stripped):
        return Query(national_id=re.sub(r"[\s\-.]", "", stripped).upper(),
                     words=tuple(w for w in _typed_words(stripped) if not any(c.isdigit() for c in w)))
    words = _typed_words(stripped)
    if not words or sum(len(w) for w in words) < MIN_QUERY_CHARACTERS:
        raise InvalidInput(f"type at least {MIN_QUERY_CHARACTERS} letters of a name to search",
                           fields={"q": f"at least {MIN_QUERY_CHARACTERS} letters"})
    return Query(words=words)


def _typed_words(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(word[:MAX_TOKEN] for word in fold(text).split()))


def _whole_phone(text: str, region: str) -> str | None:
    try:
        return normalise_phone(text, region)
    except InvalidInput:
        return None


def _phone_prefix(text: str, digits: str, region: str) -> str:
    """'06 12 34' -> '+33612 34' without spaces; '0033 6' and '+33 6' -> '+336'."""
    if text.lstrip().startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    trunk = national_prefix(region)
    national = digits[len(trunk):] if trunk and digits.startswith(trunk) else digits
    return f"+{phonenumbers.country_code_for_region(region.upper())}{national}"


def word_score(query_word: str, name_word: str) -> float:
    best = 0.0
    for spelling in spellings(query_word):
        if name_word == spelling:
            return 100.0
        best = max(best, 95.0 if name_word.startswith(spelling) else fuzz.ratio(spelling, name_word))
    return best


def name_score(words: tuple[str, ...], full_name: str) -> int:
    """0-100: each typed word against its best word of the name, averaged."""
    tokens = name_words(full_name)
    if not words or not tokens:
        return 0
    return round(sum(max(word_score(w, t) for t in tokens) for w in words) / len(words))


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return f"{local[:1]}…@{domain}"


def mask_phone(value: str) -> str:
    """'+33612345678' -> '+33 6 •• •• •• 78': country, first digit and last two shown."""
    try:
        shown = phonenumbers.format_number(phonenumbers.parse(value, None),
                                           phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        shown = value
    country, _, rest = shown.partition(" ")
    positions = [i for i, c in enumerate(rest) if c.isdigit()]
    keep = set(positions[:1] + positions[-2:])
    return country + " " + "".join(c if not c.isdigit() or i in keep else "•" for i, c in enumerate(rest))


def mask_national_id(value: str) -> str:
    return "•" * max(len(value) - 2, 0) + value[-2:]


def mask(kind: str, value: str) -> str | None:
    if kind == ContactKind.EMAIL.value:
        return mask_email(value)
    if kind == ContactKind.PHONE.value:
        return mask_phone(value)
    if kind == ContactKind.NATIONAL_ID.value:
        return mask_national_id(value)
    return None  # postal addresses are not shown in a search


# --- queries -----------------------------------------------------------------------------------

@dataclass
class Hit:
    citizen_id: int
    full_name: str
    score: int  # 0-100
    matched: str  # why: "phone", "email", "name 91%", "reference GRU-2026-000042"
    contact_points: list[str] = field(default_factory=list)  # masked


async def search_citizens(session: AsyncSession, text: str, *, default_region: str, limit: int = 10,
                          agent_id: int | None) -> list[Hit]:
    """Ranked citizens for what an agent typed; the search is recorded on the access trail
    (who saw whom, never what was typed)."""
    query = read_query(text, default_region=default_region)
    limit = max(1, min(limit, MAX_LIMIT))
    found: dict[int, tuple[int, str]] = {}  # citizen id -> (score, why)

    def keep(citizen_id: int, score: int, why: str) -> None:
        if citizen_id not in found or found[citizen_id][0] < score:
            found[citizen_id] = (score, why)

    if query.reference:
        citizen_id = (await session.exec(select(Ticket.citizen_id)
                                         .where(Ticket.reference == query.reference))).first()
        if citizen_id is not None:
            keep(citizen_id, 100, f"reference {query.reference}")
    if query.phone:
        for citizen_id in await _contacts_equal(session, ContactKind.PHONE, query.phone, limit):
            keep(citizen_id, 100, "phone")
    if query.phone_prefix and len(found) < limit:
        for citizen_id in await _contacts_starting(session, ContactKind.PHONE, query.phone_prefix, limit):
            keep(citizen_id, 90, "phone (start)")
    if query.email:
        for citizen_id in await _contacts_equal(session, ContactKind.EMAIL, query.email, limit):
            keep(citizen_id, 100, "email")
        if len(found) < limit:
            for citizen_id in await _contacts_starting(session, ContactKind.EMAIL, query.email, limit):
                keep(citizen_id, 90, "email (start)")
    if query.national_id:
        for citizen_id in await _contacts_equal(session, ContactKind.NATIONAL_ID, query.national_id, limit):
            keep(citizen_id, 100, "national id")
    names: dict[int, str] = {}
    if query.words:
        await _prefer_indexes(session)
        scores: dict[str, int] = {}  # namesakes are scored once
        for citizen_id, full_name in await _name_candidates(session, query.words):
            score = scores.get(full_name)
            if score is None:
                score = scores[full_name] = name_score(query.words, full_name)
            if score >= NAME_MIN_SCORE:
                keep(citizen_id, score, f"name {score}%")
            names[citizen_id] = full_name
    found = await _follow_merges(session, found)
    ranked = sorted(found.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    hits = await _hits(session, ranked, names)
    session.add_all([AccessRecord(agent_id=agent_id, action="search", subject_type="citizen",
                                  subject_id=hit.citizen_id) for hit in hits]
                    or [AccessRecord(agent_id=agent_id, action="search", subject_type="citizen",
                                     subject_id=0)])  # searched, nobody shown
    await session.flush()
    return hits


async def _follow_merges(session: AsyncSession, found: dict[int, tuple[int, str]]) -> dict[int, tuple[int, str]]:
    """A merged citizen's old name still finds them: the hit is their survivor's, once."""
    if not found:
        return found
    merged = dict((await session.exec(select(Citizen.id, Citizen.merged_into_id)
                                      .where(Citizen.id.in_(list(found)), Citizen.merged_into_id.is_not(None)))).all())
    if not merged:
        return found
    survivors = await survivors_of(session, merged)
    followed: dict[int, tuple[int, str]] = {}
    for citizen_id, (score, why) in found.items():
        target = survivors.get(citizen_id, citizen_id)
        if target not in followed or followed[target][0] < score:
            followed[target] = (score, why if target == citizen_id else f"{why} (merged record)")
    return followed


async def _prefer_indexes(session: AsyncSession) -> None:
    """PostgreSQL's planner takes a typed word's hundreds of one-edit variants for common
    names (names repeat, so each value looks frequent) and picks a sequential scan hoping a
    LIMIT stops it early; when the name is rare it reads every key. For this transaction only,
    the indexes it should use are the only way."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.exec(text("SET LOCAL enable_seqscan = off"))


async def _contacts_equal(session: AsyncSession, kind: ContactKind, value: str, limit: int) -> list[int]:
    rows = await session.exec(select(ContactPoint.citizen_id)
                              .where(ContactPoint.kind == kind.value, ContactPoint.value == value)
                              .limit(limit))
    return list(rows.all())


async def _contacts_starting(session: AsyncSession, kind: ContactKind, prefix: str, limit: int) -> list[int]:
    # A B-tree range (both databases use the (value, kind) index); the value check keeps the
    # answer right under a linguistic collation, where the range may hold more.
    rows = await session.exec(select(ContactPoint.citizen_id, ContactPoint.value)
                              .where(ContactPoint.kind == kind.value, ContactPoint.value >= prefix,
                                     ContactPoint.value < prefix_end(prefix))
                              .order_by(ContactPoint.value).limit(limit))
    return list(dict.fromkeys(citizen_id for citizen_id, value in rows.all() if value.startswith(prefix)))


def _word_keys(word: str) -> tuple[list[str], set[str]]:
    """A name word typed so far: prefixes of keys, and (long enough) keys one edit away."""
    forms = spellings(word)
    return list(forms), set().union(*map(one_edit_away, forms)) if len(word) >= TYPO_MIN_LENGTH else set()


def _pair_keys(other: str, last: str) -> tuple[list[str], set[str]]:
    """Two typed words as one key of the index: 'nadia am' is the start of the pair 'nadia amrani';
    one typo in either word (the other typed in full) is one of the pair's edits."""
    prefixes = [f"{form} {last}" for form in spellings(other)]
    typos: set[str] = set()
    if len(other) >= TYPO_MIN_LENGTH:
        typos |= {f"{edit} {last}" for edit in one_edit_away(other)}
    if len(last) >= TYPO_MIN_LENGTH:
        typos |= {f"{form} {edit}" for form in spellings(other) for edit in one_edit_away(last)}
    return prefixes, typos


def _matching(table, prefixes: list[str], exact: set[str]):
    condition = or_(*((table.c.token >= p) & (table.c.token < prefix_end(p)) for p in prefixes))
    return condition | table.c.token.in_(sorted(exact)) if exact else condition


async def _keys_ids(session: AsyncSession, prefixes: list[str], exact: set[str]) -> list[int]:
    """Citizens with a key starting with one of `prefixes` or equal to one of `exact`.

    On PostgreSQL the exact keys are probed one by one (a join on the unnested array): names
    repeat, so the planner takes each of hundreds of variants for a frequent value and would
    rather scan a whole index hoping its LIMIT stops it early, which it does not when the
    name is rare."""
    table = CitizenNameToken.__table__
    if session.bind is None or session.bind.dialect.name != "postgresql" or not exact:
        return await _ids(session, select(table.c.citizen_id).where(_matching(table, prefixes, exact)))
    ids = await _ids(session, select(table.c.citizen_id).where(_matching(table, prefixes, set())))
    array = bindparam("keys", sorted(exact), type_=postgresql.ARRAY(String))
    keys = func.unnest(array).table_valued("key").render_derived()
    ids += await _ids(session, select(table.c.citizen_id).join_from(keys, table, table.c.token == keys.c.key))
    return list(dict.fromkeys(ids))[:CANDIDATES]


async def _name_candidates(session: AsyncSession, words: tuple[str, ...]) -> list[tuple[int, str]]:
    """Citizens whose name matches the typed words, at most CANDIDATES (they are ranked after).

    One word: its keys by prefix or one edit away. Several: the last typed word (perhaps
    still being typed) with the longest other as one pair key, so the answer is one index range
    however common each word is; a third word only ranks. Were the pair to find nobody (a typo
    in each word), the words' sets are intersected, then united."""
    table = CitizenNameToken.__table__
    ids: list[int] = []
    if len(words) > 1:
        ids = await _keys_ids(session, *_pair_keys(max(words[:-1], key=len), words[-1]))
    elif words:
        ids = await _keys_ids(session, *_word_keys(words[0]))
    if not ids and len(words) > 1:
        narrowing = [w for w in words if len(w) >= 3] or [max(words, key=len)]
        per_word = [select(table.c.citizen_id).where(_matching(table, *_word_keys(word))) for word in narrowing]
        ids = await _ids(session, per_word[0] if len(per_word) == 1 else intersect(*per_word))
        if not ids:
            for some in per_word:
                ids += await _ids(session, some)
    if not ids:
        return []
    rows = await session.exec(select(Citizen.id, Citizen.full_name).where(Citizen.id.in_(ids)))
    return list(rows.all())


async def _ids(session: AsyncSession, statement) -> list[int]:
    """Distinct citizen ids of a statement, at most CANDIDATES (a name has several keys)."""
    matches = statement.subquery()
    rows = await session.exec(select(matches.c.citizen_id).limit(CANDIDATES * 2))
    return list(dict.fromkeys(rows.all()))[:CANDIDATES]


async def _hits(session: AsyncSession, ranked: list[tuple[int, tuple[int, str]]],
                names: dict[int, str]) -> list[Hit]:
    ids = [citizen_id for citizen_id, _ in ranked]
    if not ids:
        return []
    missing = [citizen_id for citizen_id in ids if citizen_id not in names]
    if missing:
        names.update((await session.exec(select(Citizen.id, Citizen.full_name)
                                         .where(Citizen.id.in_(missing)))).all())
    shown: dict[int, list[str]] = {citizen_id: [] for citizen_id in ids}
    points = await session.exec(select(ContactPoint.citizen_id, ContactPoint.kind, ContactPoint.value)
                                .where(ContactPoint.citizen_id.in_(ids)).order_by(ContactPoint.id))
    for citizen_id, kind, value in points.all():
        masked = mask(kind, value)
        if masked:
            shown[citizen_id].append(masked)
    return [Hit(citizen_id=citizen_id, full_name=names.get(citizen_id, ""), score=score, matched=why,
                contact_points=shown[citizen_id])
            for citizen_id, (score, why) in ranked]


# --- the name index follows the citizen ----------------------------------------------------------

def name_token_rows(citizen_id: int, full_name: str) -> list[dict]:
    return [{"token": key, "citizen_id": citizen_id} for key in name_keys(full_name)]


@event.listens_for(Citizen, "after_insert")
def _index_new_citizen(_mapper, connection, citizen: Citizen) -> None:
    rows = name_token_rows(citizen.id, citizen.full_name)
    if rows:
        connection.execute(insert(CitizenNameToken.__table__), rows)


@event.listens_for(Citizen, "after_update")
def _reindex_renamed_citizen(_mapper, connection, citizen: Citizen) -> None:
    if not attributes.get_history(citizen, "full_name").has_changes():
        return
    table = CitizenNameToken.__table__
    connection.execute(delete(table).where(table.c.citizen_id == citizen.id))
    rows = name_token_rows(citizen.id, citizen.full_name)
    if rows:
        connection.execute(insert(table), rows)


@event.listens_for(Citizen, "before_delete")
def _unindex_citizen(_mapper, connection, citizen: Citizen) -> None:
    table = CitizenNameToken.__table__
    connection.execute(delete(table).where(table.c.citizen_id == citizen.id))
