"""Normalise identifiers and find the citizen they belong to.

Exact matching on normalised email and phone for now; the fuzzy resolver
(scores, review queue, merges) replaces `identify_citizen` later.
"""
from __future__ import annotations

from dataclasses import dataclass

import hashlib

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.columns import utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.models import Citizen, ContactKind, ContactPoint
from crm.types import Sender


def normalise_email(raw: str) -> str:
    """Syntax-checked, IDNA-encoded domain, lower-cased: the key citizens are matched on."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(str(exc), fields={"email": str(exc)}) from exc
    return f"{checked.local_part}@{checked.ascii_domain}".lower()


def normalise_phone(raw: str, default_region: str) -> str:
    """E.164, so that 0612345678, 06 12 34 56 78 and +33612345678 meet."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("not a phone number", fields={"phone": "not a phone number"}) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("not a valid phone number", fields={"phone": "not a valid phone number"})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_national_id(raw: str) -> str:
    """Upper-case letters and digits only, so "ab 123-456" and "AB123456" meet."""
    value = "".join(c for c in raw.upper() if c.isalnum())
    if not 4 <= len(value) <= 40:
        raise InvalidInput("not an identity document number",
                           fields={"national_id": "expected 4 to 40 letters or digits"})
    return value


def normalise_address(raw: str) -> str:
    """One line, single spaces: a postal address as stored (it identifies nobody: households share one)."""
    return " ".join(raw.replace(",", ", ").split()).replace(" ,", ",")[:320]


@dataclass(frozen=True)
class Identification:
    citizen: Citizen
    created: bool
    reason: str


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


async def _lock_keys(session: AsyncSession, keys: list[tuple[str, str]]) -> None:
    """Serialise identification per identifier until commit, so that two messages from one
    new person, processed at once, make one citizen and not two.

    PostgreSQL: transaction-scoped advisory locks, taken in a fixed order (no
    deadlock). SQLite: every write transaction already holds the database lock.
    """
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return
    for kind, value in sorted(keys):
        digest = hashlib.sha256(f"identity:{kind}:{value}".encode()).digest()
        await session.exec(select(func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big", signed=True))))


async def identify_citizen(
    session: AsyncSession, sender: Sender, *, default_region: str, language: str | None = None,
    citizen_id: int | None = None,
) -> Identification:
    """Find the citizen by an exact normalised email, phone or identity number, else create one;
    `citizen_id`: the one an agent picked, whatever the identifiers say.

    Contact points the sender gave that the citizen lacks are added, unverified.
    """
    keys = _sender_keys(sender, default_region)
    await _lock_keys(session, [(kind, value) for kind, value, _ in keys])
    citizen = None
    reason = "new citizen: no known email, phone or identity number"
    if citizen_id is not None:
        citizen, reason = await get_citizen(session, citizen_id), "picked by the agent who logged the contact"
    for kind, value, _raw in keys if citizen is None else ():
        found = (
            await session.exec(
                select(Citizen)
                .join(ContactPoint, ContactPoint.citizen_id == Citizen.id)
                .where(ContactPoint.kind == kind, ContactPoint.value == value)
                .order_by(Citizen.id)
                .limit(1)
            )
        ).first()
        if found is not None:
            citizen, reason = found, f"same {kind}"
            break
    created = citizen is None
    if citizen is None:
        citizen = Citizen(full_name=(sender.name or "").strip()[:200], language=language)
        session.add(citizen)
        await session.flush()
    known = set(
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
    return Identification(citizen=citizen, created=created, reason=reason)


async def contact_points(session: AsyncSession, citizen_id: int) -> list[ContactPoint]:
    return list(
        (
            await session.exec(
                select(ContactPoint).where(ContactPoint.citizen_id == citizen_id).order_by(ContactPoint.id)
            )
        ).all()
    )
