"""crm.merge and crm.duplicates against the real databases (SQLite and PostgreSQL): a merge then
its undo gives back the same rows, chains resolve, refusals, concurrent merges, the queue."""
from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm import duplicates
from crm.errors import Conflict, InvalidInput, NotFound
from crm.identity import get_citizen
from crm.merge import merge_citizens, unmerge
from crm.models import (
    Citizen,
    CitizenEvent,
    CitizenMerge,
    CitizenNameToken,
    ContactPoint,
    DuplicatePair,
    Message,
    Ticket,
    TicketEvent,
)

Sessions = async_sessionmaker[AsyncSession]
# Domain tables a merge changes and an undo must give back exactly. The audit tables
# (citizen_event, ticket_event, access_record, citizen_merge) are append-only and grow.
DOMAIN_TABLES = [Citizen, ContactPoint, Ticket, Message, DuplicatePair, CitizenNameToken]


async def dump(sessions: Sessions) -> dict[str, list[dict[str, Any]]]:
    async with sessions() as session:
        connection = await session.connection()
        out = {}
        for model in DOMAIN_TABLES:
            table = model.__table__
            rows = (await connection.execute(sa.select(table).order_by(*table.primary_key.columns))).mappings()
            out[table.name] = [dict(row) for row in rows]
        return out


async def new_citizen(session: AsyncSession, full_name: str = "Nadia Amrani", *,
                      points: list[tuple[str, str, bool]] = (), tickets: list[int] = (), **fields) -> Citizen:
    """A citizen with contact points (kind, value, verified) and tickets (each with n messages)."""
    citizen = Citizen(full_name=full_name, **fields)
    session.add(citizen)
    await session.flush()
    for kind, value, verified in points:
        session.add(ContactPoint(citizen_id=citizen.id, kind=kind, value=value, raw_value=value.upper(),
                                 verified=verified))
    for n_messages in tickets:
        ticket = Ticket(reference=f"T-{uuid.uuid4().hex[:12]}", citizen_id=citizen.id, subject="s",
                        origin_channel="email", reply_channel="email")
        session.add(ticket)
        await session.flush()
        session.add_all([Message(ticket_id=ticket.id, citizen_id=citizen.id, direction="in", channel="email",
                                 text=f"message {i}") for i in range(n_messages)])
    await session.flush()
    return citizen


def pair_of(a_id: int, b_id: int, status: str, score: float = 0.8) -> DuplicatePair:
    low, high = sorted((a_id, b_id))
    return DuplicatePair(citizen_a_id=low, citizen_b_id=high, score=score, reasons=["name"], status=status)


# --- the property: merge then unmerge changes nothing ------------------------------------------

POINTS = [("email", "nadia@example.org"), ("email", "n.amrani@example.org"), ("phone", "+33612345678"),
          ("phone", "+33698765432"), ("national_id", "AB123456"), ("national_id", "CD789012"),
          ("postal_address", "1 rue de la paix, 75001 paris")]
FIELDS = {
    "first_name": st.sampled_from([None, "Nadia", "NADIA", "Nour"]),
    "last_name": st.sampled_from([None, "Amrani", "Idrissi"]),
    "birth_date": st.sampled_from([None, date(1980, 1, 2), date(1981, 3, 4)]),
    "address": st.sampled_from([None, "1 rue de la Paix", "2 rue Haute"]),
    "postcode": st.sampled_from([None, "75001", "13001"]),
    "city": st.sampled_from([None, "Paris", "Marseille"]),
    "language": st.sampled_from([None, "fr", "ar"]),
    "external_id": st.sampled_from([None, "X-1", "X-2"]),
    "alternates": st.sampled_from([[], [{"field": "city", "value": "Lyon", "from_citizen_id": 1}]]),
}
citizens = st.fixed_dictionaries({
    "full_name": st.sampled_from(["", "Nadia Amrani", "nadia  AMRANI", "Nadia Idrissi"]),
    "points": st.lists(st.tuples(st.sampled_from(POINTS), st.booleans()), max_size=4, unique_by=lambda p: p[0]),
    "tickets": st.lists(st.integers(0, 2), max_size=3),
    "fields": st.fixed_dictionaries({}, optional=FIELDS),
})
pair_statuses = st.sampled_from([None, "open", "different"])


def folded(value: Any) -> str:
    """How a merge compares two values: case and spacing aside."""
    return " ".join(str(value).split()).casefold()


def verified_national_ids(spec: dict) -> set[str]:
    return {value for (kind, value), verified in spec["points"] if kind == "national_id" and verified}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(survivor=citizens, merged=citizens, survivor_first=st.booleans(), between=pair_statuses,
       survivor_third=pair_statuses, merged_third=pair_statuses)
async def test_merge_then_unmerge_gives_back_every_row(
    sessions: Sessions, survivor: dict, merged: dict, survivor_first: bool, between: str | None,
    survivor_third: str | None, merged_third: str | None,
) -> None:
    async with sessions() as session:
        specs = [survivor, merged] if survivor_first else [merged, survivor]
        made = [await new_citizen(session, s["full_name"], points=[(k, v, f) for (k, v), f in s["points"]],
                                  tickets=s["tickets"], **s["fields"]) for s in specs]
        s_row, m_row = made if survivor_first else made[::-1]
        third = await new_citizen(session, "Someone Else")
        s_id, m_id = s_row.id, m_row.id
        for status, (x, y) in ((between, (s_id, m_id)), (survivor_third, (s_id, third.id)),
                               (merged_third, (m_id, third.id))):
            if status:
                session.add(pair_of(x, y, status))
        await session.commit()
    before = await dump(sessions)

    ours, theirs = verified_national_ids(survivor), verified_national_ids(merged)
    async with sessions() as session:
        if ours and theirs and ours != theirs:
            with pytest.raises(Conflict, match="verified identity number"):
                await merge_citizens(session, survivor_id=s_id, merged_id=m_id, actor_id=None, reason="test")
            await session.rollback()
            assert await dump(sessions) == before
            return
        merge = await merge_citizens(session, survivor_id=s_id, merged_id=m_id, actor_id=None, reason="same person")
        await session.commit()

    async with sessions() as session:
        assert (await get_citizen(session, m_id)).id == s_id
        moved = (await session.exec(select(Ticket).where(Ticket.citizen_id == m_id))).all()
        assert moved == [] and (await session.exec(select(ContactPoint).where(ContactPoint.citizen_id == m_id))).all() == []
        kept = {(p.kind, p.value) for p in (await session.exec(select(ContactPoint).where(ContactPoint.citizen_id == s_id))).all()}
        assert {p for p, _ in merged["points"]} <= kept
        row = await session.get(Citizen, s_id)
        for field, value in [*merged["fields"].items(), ("full_name", merged["full_name"])]:
            if field != "alternates" and value:
                kept_as = value.isoformat() if isinstance(value, date) else value
                assert folded(getattr(row, field)) == folded(value) or \
                    {"field": field, "value": kept_as, "from_citizen_id": m_id} in row.alternates, field

    async with sessions() as session:
        await unmerge(session, merge_id=merge.id, actor_id=None, reason="not the same person")
        await session.commit()
    assert await dump(sessions) == before


# --- chains, refusals, concurrency ----------------------------------------------------------------

async def three(sessions: Sessions) -> tuple[int, int, int]:
    async with sessions() as session:
        ids = [(await new_citizen(session, name, tickets=[1])).id for name in ("A a", "B b", "C c")]
        await session.commit()
    return ids[0], ids[1], ids[2]


async def merge(sessions: Sessions, survivor_id: int, merged_id: int) -> int:
    async with sessions() as session:
        result = await merge_citizens(session, survivor_id=survivor_id, merged_id=merged_id, actor_id=None,
                                      reason="same person")
        await session.commit()
        return result.id


async def undo(sessions: Sessions, merge_id: int) -> None:
    async with sessions() as session:
        await unmerge(session, merge_id=merge_id, actor_id=None, reason="a mistake")
        await session.commit()


async def test_a_chain_of_merges_is_followed_and_undone_latest_first(sessions: Sessions) -> None:
    a, b, c = await three(sessions)
    first = await merge(sessions, b, a)  # A into B
    second = await merge(sessions, c, b)  # B into C
    async with sessions() as session:
        assert (await get_citizen(session, a)).id == c
        assert len((await session.exec(select(Ticket).where(Ticket.citizen_id == c))).all()) == 3
        with pytest.raises(Conflict, match="already merged"):
            await merge_citizens(session, survivor_id=a, merged_id=c, actor_id=None, reason="x")
        d = (await new_citizen(session, "D d")).id
        await session.commit()
    with pytest.raises(Conflict, match=f"citizen {a} was merged into citizen {b}: merge with that one"):
        await merge(sessions, d, a)
    with pytest.raises(Conflict, match=f"merge {second}.*undo it first"):
        await undo(sessions, first)
    await undo(sessions, second)
    await undo(sessions, first)
    with pytest.raises(Conflict, match="already undone"):
        await undo(sessions, first)
    async with sessions() as session:
        for citizen_id in (a, b, c):
            assert (await get_citizen(session, citizen_id)).id == citizen_id
            assert len((await session.exec(select(Ticket).where(Ticket.citizen_id == citizen_id))).all()) == 1
        events = (await session.exec(select(CitizenEvent.kind).where(CitizenEvent.citizen_id == b)
                                     .order_by(CitizenEvent.id))).all()
        assert events == ["merged", "merged_into", "unmerged", "unmerged"]
        notes = (await session.exec(select(TicketEvent).where(TicketEvent.kind == "note"))).all()
        assert any(f"now belongs to citizen {c}" in n.data["text"] for n in notes)


async def test_refusals(sessions: Sessions) -> None:
    async with sessions() as session:
        one = await new_citizen(session, points=[("national_id", "AB123456", True)])
        other = await new_citizen(session, points=[("national_id", "CD789012", True)])
        await session.commit()
        with pytest.raises(InvalidInput, match="itself"):
            await merge_citizens(session, survivor_id=one.id, merged_id=one.id, actor_id=None, reason="x")
        with pytest.raises(InvalidInput, match="reason"):
            await merge_citizens(session, survivor_id=one.id, merged_id=other.id, actor_id=None, reason="  ")
        with pytest.raises(NotFound):
            await merge_citizens(session, survivor_id=one.id, merged_id=10**12, actor_id=None, reason="x")
        with pytest.raises(Conflict, match="verified identity number and they differ"):
            await merge_citizens(session, survivor_id=one.id, merged_id=other.id, actor_id=None, reason="x")
        with pytest.raises(NotFound):
            await unmerge(session, merge_id=987654, actor_id=None, reason="x")


async def test_conflicting_values_are_kept_as_alternates_and_shared_points_merge(sessions: Sessions) -> None:
    async with sessions() as session:
        survivor = await new_citizen(session, "Nadia Amrani", city="Paris", birth_date=None,
                                     points=[("email", "nadia@example.org", False)])
        merged = await new_citizen(session, "Nadia Idrissi", city="Marseille", birth_date=date(1980, 1, 2),
                                   points=[("email", "nadia@example.org", True), ("phone", "+33612345678", False)])
        await session.commit()
    await merge(sessions, survivor.id, merged.id)
    async with sessions() as session:
        row = await session.get(Citizen, survivor.id)
        assert row.full_name == "Nadia Amrani" and row.city == "Paris" and row.birth_date == date(1980, 1, 2)
        assert {"field": "full_name", "value": "Nadia Idrissi", "from_citizen_id": merged.id} in row.alternates
        assert {"field": "city", "value": "Marseille", "from_citizen_id": merged.id} in row.alternates
        points = {(p.kind, p.value): p.verified for p in (await session.exec(
            select(ContactPoint).where(ContactPoint.citizen_id == survivor.id))).all()}
        assert points == {("email", "nadia@example.org"): True, ("phone", "+33612345678"): False}


async def test_two_opposite_merges_at_once_one_wins(sessions: Sessions) -> None:
    a, b, _ = await three(sessions)
    results = await asyncio.gather(merge(sessions, a, b), merge(sessions, b, a), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "int"], results
    async with sessions() as session:
        merges = (await session.exec(select(CitizenMerge))).all()
        assert len(merges) == 1
        loser = await session.get(Citizen, merges[0].merged_id)
        winner = await session.get(Citizen, merges[0].survivor_id)
        assert loser.merged_into_id == winner.id and winner.merged_into_id is None
        assert len((await session.exec(select(Ticket).where(Ticket.citizen_id == winner.id))).all()) == 2


# --- the queue ----------------------------------------------------------------------------------

async def test_the_queue_files_once_never_resuggests_different_and_merges_a_pair(sessions: Sessions) -> None:
    async with sessions() as session:
        old = await new_citizen(session, "Nadia Amrani", tickets=[0, 0], birth_date=date(1980, 1, 2), city="Paris",
                                points=[("phone", "+33612345678", False)])
        new = await new_citizen(session, "Nadia Amrany")
        third = await new_citizen(session, "Nour Amrani")
        pair = await duplicates.file_duplicate(session, new.id, old.id, score=0.9, reasons=["name"])
        again = await duplicates.file_duplicate(session, old.id, new.id, score=0.95, reasons=["name", "city"])
        assert pair is not None and again.id == pair.id and (pair.citizen_a_id, pair.citizen_b_id) == (old.id, new.id)
        other = await duplicates.file_duplicate(session, third.id, old.id, score=0.7, reasons=["name"])
        assert await duplicates.file_duplicate(session, old.id, old.id, score=1, reasons=[]) is None
        await session.commit()

        page = await duplicates.list_duplicates(session, limit=1)
        assert [p.id for p in page.pairs] == [pair.id] and page.next_after == pair.id
        assert page.pairs[0].score == 0.95
        summary = page.pairs[0].a
        assert (summary.birth_year, summary.city, summary.tickets) == (1980, "Paris", 2)
        assert summary.contact_points == ["+33 6 •• •• •• 78"]
        page = await duplicates.list_duplicates(session, limit=1, after_id=page.next_after)
        assert [p.id for p in page.pairs] == [other.id] and page.next_after is None

        await duplicates.mark_different(session, other.id, actor_id=None, reason="not the same birth date")
        await session.commit()
        assert await duplicates.file_duplicate(session, old.id, third.id, score=0.99, reasons=["name"]) is None

        result = await duplicates.merge_pair(session, pair.id, survivor_id=None, actor_id=None, reason="same")
        await session.commit()
        assert (result.survivor_id, result.merged_id) == (old.id, new.id)  # more tickets
        assert (await duplicates.get_pair(session, pair.id)).status == "merged"
        assert await duplicates.file_duplicate(session, new.id, third.id, score=0.9, reasons=[]) is None
        assert (await duplicates.list_duplicates(session)).pairs == []
        with pytest.raises(Conflict, match="already merged"):
            await duplicates.merge_pair(session, pair.id, survivor_id=None, actor_id=None, reason="same")
        with pytest.raises(Conflict, match="different"):
            await duplicates.merge_pair(session, other.id, survivor_id=None, actor_id=None, reason="same")


async def test_a_pair_of_the_merged_citizen_moves_to_the_survivor_and_back(sessions: Sessions) -> None:
    async with sessions() as session:
        survivor, merged, third = [await new_citizen(session, n) for n in ("A a", "B b", "C c")]
        pair = await duplicates.file_duplicate(session, merged.id, third.id, score=0.8, reasons=["name"])
        await session.commit()
    merge_id = await merge(sessions, survivor.id, merged.id)
    async with sessions() as session:
        moved = await duplicates.get_pair(session, pair.id)
        assert {moved.citizen_a_id, moved.citizen_b_id} == {survivor.id, third.id}
        assert [p.id for p in (await duplicates.list_duplicates(session)).pairs] == [pair.id]
    await undo(sessions, merge_id)
    async with sessions() as session:
        back = await duplicates.get_pair(session, pair.id)
        assert {back.citizen_a_id, back.citizen_b_id} == {merged.id, third.id}
