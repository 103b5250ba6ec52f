"""Find the citizen a record or a message belongs to: normalise, block, score, decide.

`resolve` is read-only: ranked candidates with a score in [0, 1], a decision (`match`: link
automatically; `review`: ask an agent; `new`) and reasons in words. `identify_citizen` is what
the inbound pipeline and the front desk call: it resolves, links or creates the citizen, and
tells the caller which pairs an agent should review. Candidates come from exact identifiers
(contact points) and blocking keys (crm.identity_keys), never from a scan of all citizens.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

from sqlalchemy import Integer, bindparam, column, delete, event, insert, text
from sqlalchemy.orm import attributes
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.columns import utcnow
from crm.errors import Conflict, NotFound
from crm.identity_keys import TABLE as KEYS
from crm.identity_keys import blocking_keys, identity_key_rows
from crm.identity_score import Comparison, compare
from crm.models import Citizen, ContactKind, ContactPoint
from crm.normalise import normalise_address, normalise_email, normalise_national_id, normalise_phone
from crm.person import IdentityRecord, Person, build_person, person_from_record
from crm.types import Sender

MATCH, REVIEW, NEW = "match", "review", "new"
ROWS_PER_KEY = 200  # a key shared by more people than this ranks none of them


@dataclass(frozen=True)
class IdentityPolicy:
    default_region: str = "FR"
    match_threshold: float = 0.9  # at or above: linked automatically
    review_threshold: float = 0.5  # at or above: an agent is asked
    candidates: int = 15  # records scored per lookup: exact identifiers first, then the most keys shared


@dataclass(frozen=True)
class Candidate:
    citizen_id: int  # the survivor, when the record compared was merged into another
    external_id: str | None
    score: float
    decision: str
    reasons: tuple[str, ...]
    compared_id: int  # the record the score was computed on


@dataclass(frozen=True)
class Resolution:
    decision: str
    citizen_id: int | None
    external_id: str | None
    score: float
    reasons: tuple[str, ...]
    candidates: tuple[Candidate, ...] = ()
    problems: tuple[str, ...] = ()  # values of the record that could not be read


def decide(comparison: Comparison, policy: IdentityPolicy) -> str:
    score = comparison.score
    if score >= policy.match_threshold and comparison.veto is None:
        return MATCH
    return REVIEW if score >= policy.review_threshold else NEW


def citizen_person(row) -> Person:
    """A stored citizen (a row with the citizen's columns) as identity resolution reads it."""
    return build_person(first_name=row.first_name, last_name=row.last_name, full_name=row.full_name,
                        birth_date=row.birth_date, address=row.address, postcode=row.postcode, city=row.city)


async def resolve(session: AsyncSession, record: IdentityRecord | Person, *,
                  policy: IdentityPolicy = IdentityPolicy()) -> Resolution:
    """The citizens `record` may be, best first, and what to do about it. Reads only."""
    person = record if isinstance(record, Person) else person_from_record(record, default_region=policy.default_region)
    found = await candidate_rows(session, person, policy.candidates)
    return resolution_of(person, await score_candidates(session, person, found, policy))


async def resolve_all(session: AsyncSession, people: list[Person], *,
                      policy: IdentityPolicy = IdentityPolicy()) -> list[Resolution]:
    """resolve for each of these people, the same decisions, with one candidate statement for
    all (a batch's senders) instead of one each."""
    found = await candidate_rows_of(session, people, policy.candidates)
    return [resolution_of(person, await score_candidates(session, person, rows, policy))
            for person, rows in zip(people, found)]


def resolution_of(person: Person, candidates: list[Candidate]) -> Resolution:
    """What to do about `person`, given its candidates scored, best first."""
    if not candidates:
        return Resolution(NEW, None, None, 0.0, ("no citizen shares a key with this record",),
                          problems=person.problems)
    best = candidates[0]
    reasons = best.reasons
    decision = best.decision
    if len(candidates) > 1 and candidates[1].score == best.score and best.decision == MATCH:
        reasons += (f"citizen #{candidates[1].citizen_id} is as likely",)
        if person.words:  # a named record that fits two people: an agent decides
            decision = REVIEW
        # else (an SMS: a number and nothing else) the first record holding it answers
    if decision == NEW:  # the nearest candidate stays listed, but nobody is named
        return Resolution(NEW, None, None, best.score, reasons, tuple(candidates), person.problems)
    return Resolution(decision, best.citizen_id, best.external_id, best.score, reasons,
                      tuple(candidates), person.problems)


IDENTIFIER_WEIGHT = 10  # an exact email, phone or national id outranks any number of shared keys
# What a candidate is compared on: the citizen's own values (score_candidates unpacks them in this
# order), then each of its identifiers (one row each).
_READ = ("id", "external_id", "merged_into_id", "first_name", "last_name", "full_name", "birth_date", "address",
         "postcode", "city")
_POINT = len(_READ)  # where a row's identifier begins
_COMPARED_KINDS = (ContactKind.EMAIL.value, ContactKind.PHONE.value, ContactKind.NATIONAL_ID.value)


async def candidate_rows(session: AsyncSession, person: Person, limit: int) -> list:
    """The citizens most worth scoring, each with its identifiers, in one statement: those
    sharing an exact identifier first, then those sharing the most blocking keys (each key read
    for at most ROWS_PER_KEY entries, so a common name costs no more than a rare one)."""
    return (await candidate_rows_of(session, [person], limit))[0]


async def candidate_rows_of(session: AsyncSession, people: list[Person], limit: int) -> list[list]:
    """candidate_rows for each of these people, in one statement: their queries side by side."""
    params: dict[str, object] = {"limit": limit, "per_key": ROWS_PER_KEY}
    shapes = []
    for number, person in enumerate(people):
        identifiers, keys = _identifiers(person), blocking_keys(person)
        prefix = f"p{number}_"
        for kind, values in identifiers:
            params[f"{prefix}kind_{kind}"] = kind
            params |= {f"{prefix}value_{kind}_{n}": value for n, value in enumerate(values)}
        params |= {f"{prefix}key_{n}": key for n, key in enumerate(keys)}
        shapes.append((tuple((kind, len(values)) for kind, values in identifiers), len(keys)))
    found: list[list] = [[] for _ in people]
    if any(kinds or keys for kinds, keys in shapes):
        for row in (await session.execute(_candidates_statement(tuple(shapes)), params)).all():
            found[row[0]].append(row[1:])
    return found


@functools.lru_cache(maxsize=256)
def _candidates_statement(shapes: tuple[tuple[tuple[tuple[str, int], ...], int], ...]):
    """The statement for records with these identifier kinds (and as many values of each) and
    this many blocking keys, one shape per record: built and compiled once per shape, not once
    per lookup. Plain SQL: building this union with SQLAlchemy's constructs cost more than
    running it. Each row: the record's number, the candidate's columns, one of its identifiers."""
    tops = [f"SELECT {number} AS person, citizen_id FROM ({_top_query(shape, f'p{number}_')}) AS p{number}_top"
            for number, shape in enumerate(shapes) if shape[0] or shape[1]]
    kind_list = ", ".join(f"'{kind}'" for kind in _COMPARED_KINDS)
    sql = (f"SELECT top.person, {', '.join(f'c.{name}' for name in _READ)}, p.kind AS point_kind, "
           f"p.value AS point_value, p.verified AS point_verified FROM ({' UNION ALL '.join(tops)}) AS top "
           "JOIN citizen AS c ON c.id = top.citizen_id "
           f"LEFT OUTER JOIN contact_point AS p ON p.citizen_id = c.id AND p.kind IN ({kind_list})")
    table, points = Citizen.__table__, ContactPoint.__table__
    # Typed columns: SQLite hands back dates and booleans as text and integers otherwise.
    return text(sql).columns(column("person", Integer), *(table.c[name] for name in _READ),
                             points.c.kind.label("point_kind"), points.c.value.label("point_value"),
                             points.c.verified.label("point_verified"))


def _top_query(shape: tuple[tuple[tuple[str, int], ...], int], prefix: str) -> str:
    """One record's best :limit candidate ids, its parameters named after `prefix`."""
    kinds, keys = shape
    parts = []
    if kinds:
        identifiers = " OR ".join(
            f"(kind = :{prefix}kind_{kind} AND value IN "
            f"({', '.join(f':{prefix}value_{kind}_{n}' for n in range(count))}))" for kind, count in kinds)
        parts.append(f"SELECT citizen_id, {IDENTIFIER_WEIGHT} AS w FROM (SELECT citizen_id FROM contact_point "
                     f"WHERE {identifiers} LIMIT :per_key) AS {prefix}ids")
    parts += [f"SELECT citizen_id, 1 AS w FROM (SELECT citizen_id FROM identity_key WHERE key = :{prefix}key_{n} "
              f"LIMIT :per_key) AS {prefix}k{n}" for n in range(keys)]
    return (f"SELECT citizen_id FROM ({' UNION ALL '.join(parts)}) AS {prefix}hits GROUP BY citizen_id "
            "ORDER BY sum(w) DESC, citizen_id LIMIT :limit")


async def score_candidates(session: AsyncSession, person: Person, found: list,
                           policy: IdentityPolicy) -> list[Candidate]:
    """Each candidate (rows of candidate_rows) compared, and reported as its survivor when it
    was merged into another."""
    if not found:
        return []
    rows: dict[int, tuple] = {}
    contacts: dict[int, dict[str, list]] = {}
    for row in found:  # a citizen's columns, then one of its identifiers (or none): by position, read once
        citizen, (kind, value, verified) = row[:_POINT], row[_POINT:]
        rows.setdefault(citizen[0], citizen)
        if kind is not None:
            contacts.setdefault(citizen[0], {}).setdefault(kind, []).append((value, bool(verified)))
    survivors = await survivors_of(session, {citizen_id: merged_into for citizen_id, _, merged_into, *_
                                             in rows.values() if merged_into})
    best: dict[int, Candidate] = {}
    for (citizen_id, external_id, _, first_name, last_name, full_name, birth_date, address, postcode,
         city) in rows.values():
        own = contacts.get(citizen_id, {})
        stored = build_person(first_name=first_name, last_name=last_name, full_name=full_name, birth_date=birth_date,
                              address=address, postcode=postcode, city=city,
                              emails=tuple(v for v, _ in own.get(ContactKind.EMAIL.value, ())),
                              phones=tuple(v for v, _ in own.get(ContactKind.PHONE.value, ())),
                              national_ids=tuple(own.get(ContactKind.NATIONAL_ID.value, ())))
        comparison = compare(person, stored)
        score = comparison.score
        survivor = survivors.get(citizen_id, citizen_id)
        if survivor in best and best[survivor].score >= score:
            continue
        best[survivor] = Candidate(citizen_id=survivor, external_id=external_id, score=score,
                                   decision=decide(comparison, policy), reasons=comparison.reasons,
                                   compared_id=citizen_id)
    return sorted(best.values(), key=lambda c: (-c.score, c.citizen_id))


async def survivors_of(session: AsyncSession, merged: dict[int, int]) -> dict[int, int]:
    """Each tombstone's survivor, following chains (a cycle stops where it loops)."""
    result: dict[int, int] = {}
    for start, target in merged.items():
        seen = {start}
        while True:
            seen.add(target)
            nxt = (await session.exec(select(Citizen.merged_into_id).where(Citizen.id == target))).first()
            if nxt is None or nxt in seen or len(seen) > MAX_MERGE_CHAIN:
                break
            target = nxt
        result[start] = target
    return result


def _sender_keys(sender: Sender, default_region: str) -> list[tuple[str, str, str]]:
    """The identifiers a citizen is found by: email, phone, identity document number."""
    keys = []
    if sender.email:
        keys.append((ContactKind.EMAIL.value, normalise_email(sender.email), sender.email))
    if sender.phone:
        keys.append((ContactKind.PHONE.value, normalise_phone(sender.phone, default_region), sender.phone))
    if sender.national_id:
        keys.append((ContactKind.NATIONAL_ID.value, normalise_national_id(sender.national_id), sender.national_id))
    return keys


MAX_MERGE_CHAIN = 64


async def get_citizen(session: AsyncSession, citizen_id: int) -> Citizen:
    """The citizen with this id, or the one it was merged into (a chain of merges is followed)."""
    citizen = await session.get(Citizen, citizen_id)
    if citizen is None:
        raise NotFound("no citizen with this id", fields={"citizen_id": "no citizen with this id"})
    return await follow_tombstones(session, citizen)


async def follow_tombstones(session: AsyncSession, citizen: Citizen) -> Citizen:
    """The survivor a merged citizen points to, following chains (A into B, B into C); a cycle,
    which only a corrupted database can hold, is a Conflict, never an endless loop."""
    seen = {citizen.id}
    while citizen.merged_into_id is not None:
        if citizen.merged_into_id in seen or len(seen) > MAX_MERGE_CHAIN:
            raise Conflict("this citizen's merge chain loops; an administrator must repair it",
                           fields={"citizen_id": str(citizen.id)})
        survivor = await session.get(Citizen, citizen.merged_into_id)
        if survivor is None:
            raise NotFound("this citizen was merged into one that no longer exists",
                           fields={"citizen_id": str(citizen.id)})
        seen.add(survivor.id)
        citizen = survivor
    return citizen


async def _lock_keys(session: AsyncSession, keys: list[str]) -> set[int]:
    """Serialise identification per identifier and per blocking key until commit, so that two
    messages from one new person (or from two look-alikes), processed at once, see each other:
    one citizen, or two and a question — never two strangers that should have been compared.

    PostgreSQL: transaction-scoped advisory locks, all taken by one statement in a fixed order
    (no deadlock); none taken again that lock_identities took for this transaction. SQLite:
    every write transaction already holds the database lock. The lock ids taken.
    """
    if session.bind is None or session.bind.dialect.name != "postgresql" or not keys:
        return set()
    held = session.info.get(HELD_LOCKS)
    ids = {int.from_bytes(hashlib.sha256(f"identity:{key}".encode()).digest()[:8], "big", signed=True)
           for key in keys}
    if held is not None and held[0] is session.sync_session.get_transaction():
        ids -= held[1]
    if ids:
        await session.execute(text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:ids AS bigint[])) AS k "
                                   "ORDER BY k"), {"ids": sorted(ids)})
    return ids


HELD_LOCKS = "crm.identity.held_locks"  # (the transaction, the lock ids it holds)


def _sender_identity(sender: Sender, default_region: str,
                     name_is_reliable: bool) -> tuple[list[tuple[str, str, str]], Person]:
    record = IdentityRecord(full_name=sender.name, email=sender.email, phone=sender.phone,
                            national_id=sender.national_id, address=sender.address,
                            name_is_reliable=name_is_reliable)
    return _sender_keys(sender, default_region), person_from_record(record, default_region=default_region)


def _lock_names(keys: list[tuple[str, str, str]], person: Person) -> list[str]:
    return [f"{kind}:{value}" for kind, value, _ in keys] + blocking_keys(person)


def lock_keys_of(sender: Sender, *, default_region: str, name_is_reliable: bool = True) -> list[str]:
    """What identify_citizen locks for this sender: its identifiers and blocking keys."""
    return _lock_names(*_sender_identity(sender, default_region, name_is_reliable))


async def lock_identities(session: AsyncSession, keys: list[str]) -> None:
    """Take the identity locks of many senders at once (a batch of messages, in one statement),
    at the top of the transaction: they hold to its commit, and identify_citizen does not take
    them again. Call it outside any savepoint (a savepoint's rollback would release them)."""
    ids = await _lock_keys(session, keys)
    session.info[HELD_LOCKS] = (session.sync_session.get_transaction(), ids)


NEW_CITIZEN = "new citizen: nobody known matches"


def sender_identity(sender: Sender, *, default_region: str,
                    name_is_reliable: bool = True) -> tuple[list[tuple[str, str, str]], Person]:
    """What identify_citizen looks a sender up by: its identifiers (kind, normalised value, as
    given) and the person its blocking keys come from."""
    return _sender_identity(sender, default_region, name_is_reliable)


async def unknown_people(session: AsyncSession, people: list[Person]) -> list[bool]:
    """For each person, whether no citizen shares an exact identifier or a blocking key with
    them, i.e. candidate_rows would find nobody (resolve: NEW, nobody to review). All of them in
    one statement: a batch of new senders reads the contact points and keys once, not once each.
    Call it under their identity locks (lock_identities), as identify_citizen does."""
    identifiers: dict[str, set[str]] = {}
    keys_of = [blocking_keys(person) for person in people]
    keys = {key for person_keys in keys_of for key in person_keys}
    for person in people:
        for kind, values in _identifiers(person):
            identifiers.setdefault(kind, set()).update(values)
    parts, params, expanding = [], {}, []
    for kind, values in identifiers.items():
        parts.append(f"SELECT kind, value FROM contact_point WHERE kind = :kind_{kind} AND value IN :values_{kind}")
        params |= {f"kind_{kind}": kind, f"values_{kind}": sorted(values)}
        expanding.append(f"values_{kind}")
    if keys:
        parts.append("SELECT 'key' AS kind, key AS value FROM identity_key WHERE key IN :keys")
        params["keys"] = sorted(keys)
        expanding.append("keys")
    found: set[tuple[str, str]] = set()
    if parts:
        statement = text(" UNION ".join(parts)).bindparams(*(bindparam(name, expanding=True) for name in expanding))
        found = {(kind, value) for kind, value in (await session.execute(statement, params)).all()}
    return [not any((kind, value) in found for kind, values in _identifiers(person) for value in values)
            and not any(("key", key) in found for key in person_keys) for person, person_keys in zip(people, keys_of)]


def matched_citizen(resolution: Resolution) -> int | None:
    """The citizen identify_citizen links a sender to on this resolution; None: a new citizen."""
    return resolution.citizen_id if resolution.decision == MATCH else None


def match_reason(resolution: Resolution) -> str:
    """Why the sender was linked to the matched citizen, as the new ticket's timeline says it."""
    return f"{'; '.join(resolution.reasons)} (score {resolution.score:.2f})"


def nobody_to_review(resolution: Resolution, policy: IdentityPolicy) -> bool:
    """identify_citizen would create a new citizen on this resolution, with nobody to file as a
    possible duplicate: no match, and no candidate reaches the review threshold."""
    return matched_citizen(resolution) is None and not any(
        c.score >= policy.review_threshold for c in resolution.candidates)


@dataclass(frozen=True)
class KnownCitizen:
    """What identify_citizen reads of a matched citizen to decide whether to change it, and what
    the new ticket and its acknowledgement need of it."""

    id: int
    full_name: str
    first_name: str | None
    last_name: str | None
    language: str | None
    points: frozenset[tuple[str, str]]  # its contact points: (kind, value)

    def unchanged_by(self, keys: list[tuple[str, str, str]], sender: Sender) -> bool:
        """identify_citizen would link this sender to the citizen and write nothing: every
        identifier given is one of its contact points, and it has a name (or none was given).
        The sender has no postal address (a batch leaves those to identify_citizen)."""
        return all((kind, value) in self.points for kind, value, _ in keys) and bool(
            self.full_name or not sender.name)


_CITIZEN, _POINTS = Citizen.__table__, ContactPoint.__table__
_KNOWN = (
    select(_CITIZEN.c.id, _CITIZEN.c.full_name, _CITIZEN.c.first_name, _CITIZEN.c.last_name,
           _CITIZEN.c.language, _POINTS.c.kind, _POINTS.c.value)
    .select_from(_CITIZEN.outerjoin(_POINTS, _POINTS.c.citizen_id == _CITIZEN.c.id))
    .where(_CITIZEN.c.id.in_(bindparam("ids", expanding=True)))
)


async def known_citizens(session: AsyncSession, ids: list[int]) -> dict[int, KnownCitizen]:
    """These citizens with their contact points, by id, in one statement."""
    if not ids:
        return {}
    rows: dict[int, object] = {}
    points: dict[int, set[tuple[str, str]]] = {}
    for row in (await session.execute(_KNOWN, {"ids": sorted(set(ids))})).all():
        rows.setdefault(row.id, row)
        if row.kind is not None:
            points.setdefault(row.id, set()).add((row.kind, row.value))
    return {citizen_id: KnownCitizen(citizen_id, row.full_name, row.first_name, row.last_name, row.language,
                                     frozenset(points.get(citizen_id, ())))
            for citizen_id, row in rows.items()}


def _identifiers(person: Person) -> list[tuple[str, tuple[str, ...]]]:
    """The exact identifiers candidate_rows looks a person up by, per contact kind."""
    return [(kind.value, values) for kind, values in (
        (ContactKind.EMAIL, person.emails), (ContactKind.PHONE, person.phones),
        (ContactKind.NATIONAL_ID, tuple(v for v, _ in person.national_ids))) if values]


@dataclass(frozen=True)
class Identification:
    citizen: Citizen
    created: bool
    reason: str
    # Citizens an agent should compare with this one (a `review` decision): (id, score, reasons).
    suspected_duplicates: tuple[tuple[int, float, tuple[str, ...]], ...] = field(default=())


async def identify_citizen(
    session: AsyncSession, sender: Sender, *, default_region: str, language: str | None = None,
    citizen_id: int | None = None, name_is_reliable: bool = True,
    policy: IdentityPolicy | None = None,
) -> Identification:
    """The citizen a message is from: the one an agent picked, else the resolver's `match`,
    else a new citizen (with the `review` candidates to file as suspected duplicates).

    Contact points the sender gave that the citizen lacks are added, unverified.
    `name_is_reliable`: False for an email's display name (it ranks, it never vetoes)."""
    policy = policy or IdentityPolicy(default_region=default_region)
    keys, person = _sender_identity(sender, default_region, name_is_reliable)
    await _lock_keys(session, _lock_names(keys, person))
    citizen = None
    suspected: tuple[tuple[int, float, tuple[str, ...]], ...] = ()
    reason = NEW_CITIZEN
    if citizen_id is not None:
        citizen, reason = await get_citizen(session, citizen_id), "picked by the agent who logged the contact"
    elif keys or sender.name:
        resolution = await resolve(session, person, policy=policy)
        if matched_citizen(resolution) is not None:
            citizen = await session.get(Citizen, resolution.citizen_id)
            reason = match_reason(resolution)
        else:
            suspected = tuple((c.citizen_id, c.score, c.reasons) for c in resolution.candidates
                              if c.score >= policy.review_threshold)[:5]
            if suspected:
                reason += f"; {len(suspected)} possible duplicate(s) filed for review"
    created = citizen is None
    address = normalise_address(sender.address) if sender.address else None
    if citizen is None:
        citizen = Citizen(full_name=(sender.name or "").strip()[:200], language=language, address=address)
        session.add(citizen)
        await session.flush()
    elif address and not citizen.address:
        citizen.address = address  # the resolver compares addresses on the record itself
    known: set = set() if created else set(  # a citizen created just now has no contact point yet
        (
            await session.exec(
                select(ContactPoint.kind, ContactPoint.value).where(ContactPoint.citizen_id == citizen.id)
            )
        ).all()
    )
    if sender.address:
        keys.append((ContactKind.POSTAL_ADDRESS.value, normalise_address(sender.address), sender.address))
    for kind, value, raw in keys:
        if (kind, value) not in known:
            session.add(ContactPoint(citizen_id=citizen.id, kind=kind, value=value, raw_value=raw[:320]))
    if not citizen.full_name and sender.name:
        citizen.full_name = sender.name.strip()[:200]
        citizen.updated_at = utcnow()
    await session.flush()
    return Identification(citizen=citizen, created=created, reason=reason, suspected_duplicates=suspected)


async def contact_points(session: AsyncSession, citizen_id: int) -> list[ContactPoint]:
    return list(
        (
            await session.exec(
                select(ContactPoint).where(ContactPoint.citizen_id == citizen_id).order_by(ContactPoint.id)
            )
        ).all()
    )


# --- blocking keys follow the citizen ---------------------------------------------------------

_KEYED_FIELDS = ("full_name", "first_name", "last_name", "birth_date", "address", "postcode", "city")


@event.listens_for(Citizen, "after_insert")
def _key_new_citizen(_mapper, connection, citizen: Citizen) -> None:
    rows = identity_key_rows(citizen.id, citizen_person(citizen))
    if rows:
        connection.execute(insert(KEYS), rows)


@event.listens_for(Citizen, "after_update")
def _rekey_changed_citizen(_mapper, connection, citizen: Citizen) -> None:
    if not any(attributes.get_history(citizen, name).has_changes() for name in _KEYED_FIELDS):
        return
    connection.execute(delete(KEYS).where(KEYS.c.citizen_id == citizen.id))
    rows = identity_key_rows(citizen.id, citizen_person(citizen))
    if rows:
        connection.execute(insert(KEYS), rows)


@event.listens_for(Citizen, "before_delete")
def _unkey_citizen(_mapper, connection, citizen: Citizen) -> None:
    connection.execute(delete(KEYS).where(KEYS.c.citizen_id == citizen.id))
