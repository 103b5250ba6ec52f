"""crm.identity.resolve_all against the real databases: the decisions resolve takes one by one,
for a batch's senders at once."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.identity import MATCH, NEW, REVIEW, IdentityPolicy, resolve, resolve_all
from crm.models import Citizen, ContactPoint
from crm.person import IdentityRecord, person_from_record


async def _citizen(session: AsyncSession, name: str, *emails: str, merged_into: int | None = None) -> int:
    citizen = Citizen(full_name=name, merged_into_id=merged_into)
    session.add(citizen)
    await session.flush()
    for email in emails:
        session.add(ContactPoint(citizen_id=citizen.id, kind="email", value=email, raw_value=email))
    await session.flush()
    return citizen.id


async def test_resolving_many_people_at_once_decides_as_one_by_one(sessions: async_sessionmaker[AsyncSession]) -> None:
    """A match by address, a match through a merged record, a near miss to review, namesakes too
    unlike, a stranger, someone with nothing to look them up by, the same person twice: resolve_all answers each as
    resolve would, in the same order."""
    policy = IdentityPolicy(default_region="FR")
    async with sessions() as session:
        louise = await _citizen(session, "Louise Martin", "louise@example.org")
        await _citizen(session, "Louise Martin", "l.martin@example.org", merged_into=louise)
        await _citizen(session, "Elise Durand", "elise@example.org")
        await _citizen(session, "Elise Durand", "e.durand@example.org")
        await session.commit()
        records = [IdentityRecord(full_name="Louise Martin", email="louise@example.org", name_is_reliable=False),
                   IdentityRecord(email="l.martin@example.org", name_is_reliable=False),
                   IdentityRecord(full_name="Elise Durant", email="elise@example.org"),
                   IdentityRecord(full_name="Elise Durand", phone="+33 6 12 34 56 78"),
                   IdentityRecord(full_name="Martin Louise", email="louise@example.org"),
                   IdentityRecord(full_name="Nadia Amrani", email="nadia@example.org", name_is_reliable=False),
                   IdentityRecord(),
                   IdentityRecord(full_name="Louise Martin", email="louise@example.org", name_is_reliable=False)]
        people = [person_from_record(record, default_region="FR") for record in records]

        together = await resolve_all(session, people, policy=policy)
        one_by_one = [await resolve(session, person, policy=policy) for person in people]
        # Fewer candidates than share a key: which ones are scored is decided by the ranking too.
        narrow = IdentityPolicy(default_region="FR", candidates=1)
        assert await resolve_all(session, people, policy=narrow) == [await resolve(session, person, policy=narrow)
                                                                     for person in people]

    assert together == one_by_one
    assert [r.decision for r in together] == [MATCH, MATCH, REVIEW, NEW, MATCH, NEW, NEW, MATCH]
    assert together[1].citizen_id == louise  # the merged record's survivor
