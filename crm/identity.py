"""Find the citizen a record or a message belongs to: normalise, block, score, decide.

`resolve` is read-only: ranked candidates with a score in [0, 1], a decision (`match`: link
automatically; `review`: ask an agent; `new`) and reasons in words. `identify_citizen` is what
the inbound pipeline and the front desk call: it resolves, links or creates the citizen, and
tells the caller which pairs an agent should review. Candidates come from exact identifiers
(contact points) and blocking keys (crm.identity_keys), never from a scan of all citizens.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, delete, event, insert, text
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
    ids = await candidate_ids(session, person, policy.candidates)
    return resolution_of(person, await score_candidates(session, person, ids, policy))


async def resolve_all(session: AsyncSession, people: list[Person], *,
                      policy: IdentityPolicy = IdentityPolicy()) -> list[Resolution]:
    """resolve for each of these people, the same decisions, in two statements for all (a
    batch's senders) instead of two each."""
    ids_of = await candidate_ids_of(session, people, policy.candidates)
    rows, contacts, survivors = await _candidate_rows(session, sorted({i for ids in ids_of for i in ids}))
    return [resolution_of(person, _scored(person, [rows[i] for i in ids if i in rows], contacts, survivors, policy))
            for person, ids in zip(people, ids_of)]


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


async def candidate_ids(session: AsyncSession, person: Person, limit: int) -> list[int]:
    """The citizens most worth scoring, in one statement: those sharing an exact identifier
    first, then those sharing the most blocking keys (each key read for at most ROWS_PER_KEY
    entries, so a common name costs no more than a rare one). Plain SQL: building this union
    with SQLAlchemy's constructs cost more than running it."""
    query, params, expanding = _candidate_query(person, "")
    if query is None:
        return []
    statement = _bound(query, expanding)
    return list((await session.execute(statement, params | {"limit": limit, "per_key": ROWS_PER_KEY}))
                .scalars().all())


async def candidate_ids_of(session: AsyncSession, people: list[Person], limit: int) -> list[list[int]]:
    """candidate_ids for each of these people (in no order), in one statement: their queries
    side by side."""
    parts: list[str] = []
    params: dict[str, object] = {"limit": limit, "per_key": ROWS_PER_KEY}
    expanding: list[str] = []
    for number, person in enumerate(people):
        query, own, own_expanding = _candidate_query(person, f"p{number}_")
        if query is not None:
            parts.append(f"SELECT {number} AS person, citizen_id FROM ({query}) AS p{number}")
            params |= own
            expanding += own_expanding
    found: list[list[int]] = [[] for _ in people]  # unordered: scoring ranks them
    if parts:
        for number, citizen_id in (await session.execute(_bound(" UNION ALL ".join(parts), expanding), params)).all():
            found[number].append(citizen_id)
    return found


def _candidate_query(person: Person, prefix: str) -> tuple[str | None, dict[str, object], list[str]]:
    """candidate_ids's query for this person (its citizen ids, best first, :limit of them),
    with its parameters and those to expand, named after `prefix`; None: nothing to look it
    up by."""
    parts: list[str] = []
    params: dict[str, object] = {}
    expanding: list[str] = []
    identifiers = []
    for kind, values in _identifiers(person):
        identifiers.append(f"(kind = :{prefix}kind_{kind} AND value IN :{prefix}values_{kind})")
        params[f"{prefix}kind_{kind}"] = kind
        params[f"{prefix}values_{kind}"] = list(values)
        expanding.append(f"{prefix}values_{kind}")
    if identifiers:
        parts.append(f"SELECT citizen_id, {IDENTIFIER_WEIGHT} AS w FROM (SELECT citizen_id FROM contact_point "
                     f"WHERE {' OR '.join(identifiers)} LIMIT :per_key) AS {prefix}ids")
    for number, key in enumerate(blocking_keys(person)):
        parts.append(f"SELECT citizen_id, 1 AS w FROM (SELECT citizen_id FROM identity_key "
                     f"WHERE key = :{prefix}key_{number} LIMIT :per_key) AS {prefix}k{number}")
        params[f"{prefix}key_{number}"] = key
    if not parts:
        return None, params, expanding
    return (f"SELECT citizen_id FROM ({' UNION ALL '.join(parts)}) AS {prefix}hits "
            "GROUP BY citizen_id ORDER BY sum(w) DESC, citizen_id LIMIT :limit"), params, expanding


def _bound(query: str, expanding: list[str]) -> Any:
    statement = text(query)
    return statement.bindparams(*(bindparam(name, expanding=True) for name in expanding)) if expanding else statement


_POINTS = ContactPoint.__table__
_CANDIDATES = (
    select(Citizen.__table__, _POINTS.c.kind.label("point_kind"), _POINTS.c.value.label("point_value"),
           _POINTS.c.verified.label("point_verified"))
    .select_from(Citizen.__table__.outerjoin(_POINTS, and_(
        _POINTS.c.citizen_id == Citizen.__table__.c.id,
        _POINTS.c.kind.in_([ContactKind.EMAIL.value, ContactKind.PHONE.value, ContactKind.NATIONAL_ID.value]))))
    .where(Citizen.__table__.c.id.in_(bindparam("ids", expanding=True)))
)


async def score_candidates(session: AsyncSession, person: Person, ids: list[int],
                           policy: IdentityPolicy) -> list[Candidate]:
    """Each candidate read with its identifiers (one statement), compared, and reported as
    its survivor when it was merged into another."""
    if not ids:
        return []
    rows, contacts, survivors = await _candidate_rows(session, ids)
    return _scored(person, list(rows.values()), contacts, survivors, policy)


async def _candidate_rows(session: AsyncSession, ids: list[int]) -> tuple[dict[int, Any], dict[int, dict[str, list]],
                                                                         dict[int, int]]:
    """These citizens' rows by id, their identifiers (kind -> [(value, verified)]) and, for
    those merged into another, their survivors."""
    rows: dict[int, Any] = {}
    contacts: dict[int, dict[str, list]] = {}
    if not ids:
        return rows, contacts, {}
    for row in (await session.execute(_CANDIDATES, {"ids": ids})).all():
        rows.setdefault(row.id, row)
        if row.point_kind is not None:
            contacts.setdefault(row.id, {}).setdefault(row.point_kind, []).append((row.point_value,
                                                                                   bool(row.point_verified)))
    survivors = await survivors_of(session, {row.id: row.merged_into_id for row in rows.values()
                                             if row.merged_into_id})
    return rows, contacts, survivors


def _scored(person: Person, rows: list[Any], contacts: dict[int, dict[str, list]], survivors: dict[int, int],
            policy: IdentityPolicy) -> list[Candidate]:
    """These candidates compared with `person`, one per survivor, best first."""
    best: dict[int, Candidate] = {}
    for row in rows:
        own = contacts.get(row.id, {})
        stored = build_person(first_name=row.first_name, last_name=row.last_name, full_name=row.full_name,
                              birth_date=row.birth_date, address=row.address, postcode=row.postcode,
                              city=row.city,
                              emails=tuple(v for v, _ in own.get(ContactKind.EMAIL.value, [])),
                              phones=tuple(v for v, _ in own.get(ContactKind.PHONE.value, [])),
                              national_ids=tuple(own.get(ContactKind.NATIONAL_ID.value, [])))
        comparison = compare(person, stored)
        survivor = survivors.get(row.id, row.id)
        candidate = Candidate(citizen_id=survivor, external_id=row.external_id, score=comparison.score,
                              decision=decide(comparison, policy), reasons=comparison.reasons, compared_id=row.id)
        if survivor not in best or best[survivor].score < candidate.score:
            best[survivor] = candidate
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
    them, i.e. candidate_ids would find nobody (resolve: NEW, nobody to review). All of them in
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


_CITIZEN = Citizen.__table__
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
    """The exact identifiers candidate_ids looks a person up by, per contact kind."""
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
