"""crm.identity.resolve against the real databases (SQLite and PostgreSQL): which citizens the
one lookup statement brings back to be scored, when a name is shared by hundreds of people."""
from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.identity import MATCH, ROWS_PER_KEY, IdentityPolicy, resolve
from crm.models import Citizen, ContactKind, ContactPoint
from crm.person import IdentityRecord, build_person

Sessions = async_sessionmaker[AsyncSession]
POLICY = IdentityPolicy(default_region="FR")
NAMESAKE = {"first_name": "Nadia", "last_name": "Amrani", "full_name": "Nadia Amrani",
            "birth_date": date(1990, 1, 1), "postcode": "75011", "city": "Paris"}


async def namesakes(sessions: Sessions, count: int) -> list[int]:
    """`count` citizens sharing every blocking key (name, birth date, postcode), in id order."""
    async with sessions() as session:
        people = [Citizen(**NAMESAKE) for _ in range(count)]
        session.add_all(people)
        await session.flush()
        ids = [person.id for person in people]
        await session.commit()
    return ids


async def give(sessions: Sessions, citizen_id: int, kind: ContactKind, value: str) -> None:
    async with sessions() as session:
        session.add(ContactPoint(citizen_id=citizen_id, kind=kind.value, value=value, raw_value=value))
        await session.commit()


async def test_the_one_namesake_with_the_email_is_found_past_the_keys_read_limit(sessions: Sessions) -> None:
    ids = await namesakes(sessions, ROWS_PER_KEY + 30)
    owner = ids[-1]  # past the first ROWS_PER_KEY entries of every key it shares
    await give(sessions, owner, ContactKind.EMAIL, "nadia.amrani@example.org")
    async with sessions() as session:
        resolution = await resolve(session, IdentityRecord(**NAMESAKE, email="Nadia.Amrani@example.org"),
                                   policy=POLICY)
    assert (resolution.decision, resolution.citizen_id) == (MATCH, owner)
    assert {"same email", "same birth date", "same first name"} <= set(resolution.reasons)
    assert resolution.candidates[1].score < resolution.score


async def test_records_of_every_shape_in_turn_each_find_their_own_citizen(sessions: Sessions) -> None:
    ids = await namesakes(sessions, 3)
    await give(sessions, ids[0], ContactKind.PHONE, "+33612345678")
    await give(sessions, ids[1], ContactKind.EMAIL, "second@example.org")
    await give(sessions, ids[2], ContactKind.NATIONAL_ID, "AB123456")
    two_emails = build_person(first_name="Nadia", last_name="Amrani", full_name=None, birth_date=date(1990, 1, 1),
                              emails=("nobody@example.org", "second@example.org"))
    asked = [(IdentityRecord(**NAMESAKE, phone="06 12 34 56 78"), ids[0]),
             (two_emails, ids[1]),
             (IdentityRecord(**NAMESAKE, national_id="ab 123 456"), ids[2]),
             (IdentityRecord(**NAMESAKE, phone="06 12 34 56 78"), ids[0])]
    for record, expected in asked:
        async with sessions() as session:
            resolution = await resolve(session, record, policy=POLICY)
        assert (resolution.decision, resolution.citizen_id) == (MATCH, expected)
    async with sessions() as session:  # the name alone: three people fit it equally, nobody is named
        resolution = await resolve(session, IdentityRecord(**NAMESAKE), policy=POLICY)
    assert resolution.decision != MATCH
    assert sorted(c.citizen_id for c in resolution.candidates) == ids


async def test_a_merged_record_found_by_its_email_answers_with_its_survivor(sessions: Sessions) -> None:
    merged, survivor = await namesakes(sessions, 2)
    await give(sessions, merged, ContactKind.EMAIL, "old.address@example.org")
    async with sessions() as session:
        (await session.get(Citizen, merged)).merged_into_id = survivor
        await session.commit()
    async with sessions() as session:
        resolution = await resolve(session, IdentityRecord(**NAMESAKE, email="old.address@example.org"),
                                   policy=POLICY)
    assert (resolution.decision, resolution.citizen_id) == (MATCH, survivor)
    assert resolution.candidates[0].compared_id == merged
    assert [c.citizen_id for c in resolution.candidates] == [survivor]  # one person, listed once
