"""The duplicates review queue: pairs of citizens that may be one person, decided by an agent.

A pair is filed once (ids ordered, a < b) and never suggested again once marked `different`.
The queue lists open pairs by score (highest first), then id, with keyset pagination: `after`
is the id of the last pair of the previous page (its score is looked up), so pages do not
shift when pairs are decided meanwhile. Pairs that involve a tombstone (one of the two was
merged into someone else since) are not listed as open.

Merging a pair keeps, by default, the citizen with more tickets, then the older record (lower
created_at, then lower id): the one agents and citizens already refer to.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from sqlalchemy import and_, func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.columns import utcnow
from crm.errors import Conflict, InvalidInput, NotFound
from crm.merge import check_id, check_reason, lock_citizens, merge_citizens, ordered
from crm.models import (
    AccessRecord,
    Citizen,
    CitizenEvent,
    CitizenEventKind,
    CitizenMerge,
    ContactPoint,
    DuplicatePair,
    DuplicateStatus,
    Ticket,
)
from crm.search import mask

MAX_LIMIT = 100
STATUSES = tuple(s.value for s in DuplicateStatus)


@dataclass
class CitizenSummary:
    """Enough to tell two records apart without exposing them: masked identifiers."""

    id: int
    full_name: str
    contact_points: list[str]
    birth_year: int | None
    city: str | None
    tickets: int
    merged_into_id: int | None


@dataclass
class DuplicateView:
    id: int
    score: float
    reasons: list[str]
    status: str
    created_at: datetime
    decided_by: int | None
    decided_at: datetime | None
    a: CitizenSummary
    b: CitizenSummary


@dataclass
class DuplicatePage:
    pairs: list[DuplicateView] = field(default_factory=list)
    next_after: int | None = None  # pass as `after` for the next page; None: this was the last


def _insert(session: AsyncSession):
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def file_duplicate(session: AsyncSession, a_id: int, b_id: int, *, score: float,
                         reasons: list[str]) -> DuplicatePair | None:
    """Put two citizens in the review queue (once: a second call refreshes the score and reasons
    of an open pair). None when there is nothing to review: the same person, a tombstone, or a
    pair an agent already decided (`different` is never suggested again)."""
    if a_id == b_id:
        return None
    citizens = []
    for citizen_id in (a_id, b_id):
        citizen = await session.get(Citizen, check_id(citizen_id, "citizen"))
        if citizen is None:
            raise NotFound("no citizen with this id", fields={"citizen_id": str(citizen_id)})
        citizens.append(citizen)
    if any(c.merged_into_id is not None for c in citizens):
        return None
    a_id, b_id = ordered(a_id, b_id)
    reasons = [str(r)[:200] for r in reasons][:20]
    inserted = (await session.exec(
        _insert(session)(DuplicatePair)
        .values(citizen_a_id=a_id, citizen_b_id=b_id, score=score, reasons=reasons,
                status=DuplicateStatus.OPEN.value, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["citizen_a_id", "citizen_b_id"])
        .returning(DuplicatePair.id)  # type: ignore[call-overload]
    )).scalar_one_or_none()
    pair = (await session.exec(select(DuplicatePair).where(DuplicatePair.citizen_a_id == a_id,
                                                           DuplicatePair.citizen_b_id == b_id)
                               .execution_options(populate_existing=True))).one()
    if inserted is None:
        if pair.status != DuplicateStatus.OPEN.value:
            return None
        if pair.score != score or pair.reasons != reasons:
            pair.score, pair.reasons = score, reasons
            await session.flush()
        return pair
    session.add_all([
        CitizenEvent(citizen_id=mine, kind=CitizenEventKind.DUPLICATE_SUSPECTED.value,
                     data={"pair_id": pair.id, "other_id": other, "score": score, "reasons": reasons})
        for mine, other in ((a_id, b_id), (b_id, a_id))
    ])
    await session.flush()
    return pair


async def get_pair(session: AsyncSession, pair_id: int, *, for_update: bool = False) -> DuplicatePair:
    statement = select(DuplicatePair).where(DuplicatePair.id == check_id(pair_id, "pair"))
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    pair = (await session.exec(statement)).first()
    if pair is None:
        raise NotFound("no duplicate pair with this id", fields={"pair_id": "no duplicate pair with this id"})
    return pair


async def _unmerged_pair(session: AsyncSession, pair_id: int) -> DuplicatePair:
    """The pair, locked after its two citizens (the order merges lock in: no deadlock); Conflict
    once merged (a decision on it waits for the merge to be undone)."""
    pair = await get_pair(session, pair_id)
    await lock_citizens(session, [pair.citizen_a_id, pair.citizen_b_id])
    pair = await get_pair(session, pair_id, for_update=True)
    if pair.status == DuplicateStatus.MERGED.value:
        raise Conflict("this pair was already merged (undo the merge first)", fields={"pair_id": str(pair.id)})
    return pair


async def list_duplicates(session: AsyncSession, *, status: str = DuplicateStatus.OPEN.value, limit: int = 20,
                          after_id: int | None = None, agent_id: int | None = None) -> DuplicatePage:
    """Pairs of this status, highest score first (keyset pages, see the module's docstring); each
    citizen shown is recorded as read by the agent."""
    if status not in STATUSES:
        raise InvalidInput(f"status is one of {', '.join(STATUSES)}", fields={"status": "unknown status"})
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit is 1 to {MAX_LIMIT}", fields={"limit": f"1 to {MAX_LIMIT}"})
    statement = select(DuplicatePair).where(DuplicatePair.status == status)
    if status == DuplicateStatus.OPEN.value:
        ca, cb = aliased(Citizen), aliased(Citizen)
        statement = (statement.join(ca, ca.id == DuplicatePair.citizen_a_id)
                     .join(cb, cb.id == DuplicatePair.citizen_b_id)
                     .where(col(ca.merged_into_id).is_(None), col(cb.merged_into_id).is_(None)))
    if after_id is not None:
        after = await session.get(DuplicatePair, check_id(after_id, "pair")) if after_id >= 1 else None
        if after is None:
            raise InvalidInput("after: no duplicate pair with this id", fields={"after": "unknown pair id"})
        statement = statement.where(or_(DuplicatePair.score < after.score,
                                        and_(DuplicatePair.score == after.score, DuplicatePair.id > after.id)))
    pairs = list((await session.exec(
        statement.order_by(col(DuplicatePair.score).desc(), col(DuplicatePair.id)).limit(limit + 1))).all())
    more = len(pairs) > limit
    pairs = pairs[:limit]
    summaries = await citizen_summaries(session, {i for p in pairs for i in (p.citizen_a_id, p.citizen_b_id)})
    if agent_id is not None:
        session.add_all([AccessRecord(agent_id=agent_id, action="duplicates", subject_type="citizen",
                                      subject_id=i) for i in sorted(summaries)])
        await session.flush()
    return DuplicatePage(
        [DuplicateView(p.id, p.score, list(p.reasons), p.status, p.created_at, p.decided_by, p.decided_at,
                       summaries[p.citizen_a_id], summaries[p.citizen_b_id]) for p in pairs],
        pairs[-1].id if more else None)


async def ticket_counts(session: AsyncSession, ids: set[int]) -> dict[int, int]:
    """Tickets per citizen (those without any are absent)."""
    return dict((await session.exec(
        select(Ticket.citizen_id, func.count()).where(col(Ticket.citizen_id).in_(ids))
        .group_by(col(Ticket.citizen_id)))).all())


async def citizen_summaries(session: AsyncSession, ids: set[int]) -> dict[int, CitizenSummary]:
    if not ids:
        return {}
    citizens = (await session.exec(select(Citizen).where(col(Citizen.id).in_(ids)))).all()
    points: dict[int, list[str]] = {i: [] for i in ids}
    for citizen_id, kind, value in (await session.exec(
            select(ContactPoint.citizen_id, ContactPoint.kind, ContactPoint.value)
            .where(col(ContactPoint.citizen_id).in_(ids)).order_by(col(ContactPoint.id)))).all():
        shown = mask(kind, value)
        if shown is not None:
            points[citizen_id].append(shown)
    tickets = await ticket_counts(session, ids)
    return {c.id: CitizenSummary(c.id, c.full_name, points[c.id],
                                 c.birth_date.year if isinstance(c.birth_date, date) else None,
                                 c.city, tickets.get(c.id, 0), c.merged_into_id)
            for c in citizens}


async def mark_different(session: AsyncSession, pair_id: int, *, actor_id: int | None,
                         reason: str) -> DuplicatePair:
    """Two different people: the pair is closed and never suggested again."""
    reason = check_reason(reason)
    pair = await _unmerged_pair(session, pair_id)
    if pair.status == DuplicateStatus.DIFFERENT.value:
        return pair
    pair.status, pair.decided_by, pair.decided_at = DuplicateStatus.DIFFERENT.value, actor_id, utcnow()
    session.add_all([
        CitizenEvent(citizen_id=mine, kind=CitizenEventKind.MARKED_DIFFERENT.value,
                     actor_type="agent" if actor_id is not None else "system", actor_id=actor_id,
                     reason=reason, data={"pair_id": pair.id, "other_id": other})
        for mine, other in ((pair.citizen_a_id, pair.citizen_b_id), (pair.citizen_b_id, pair.citizen_a_id))
    ])
    await session.flush()
    return pair


async def default_survivor(session: AsyncSession, a_id: int, b_id: int) -> int:
    """The one with more tickets, then the older record."""
    counts = await ticket_counts(session, {a_id, b_id})
    citizens = [await session.get(Citizen, i) for i in (a_id, b_id)]
    best = min((c for c in citizens if c is not None),
               key=lambda c: (-counts.get(c.id, 0), c.created_at, c.id))
    return best.id


async def merge_pair(session: AsyncSession, pair_id: int, *, survivor_id: int | None, actor_id: int | None,
                     reason: str) -> CitizenMerge:
    """Merge the two citizens of an open pair; `survivor_id` None: see `default_survivor`."""
    reason = check_reason(reason)
    pair = await _unmerged_pair(session, pair_id)
    if pair.status == DuplicateStatus.DIFFERENT.value:
        raise Conflict("this pair was marked as two different people", fields={"pair_id": str(pair.id)})
    ids = (pair.citizen_a_id, pair.citizen_b_id)
    if survivor_id is None:
        survivor_id = await default_survivor(session, *ids)
    elif survivor_id not in ids:
        raise InvalidInput("the survivor must be one of the pair", fields={"survivor_id": "not in this pair"})
    merged_id = ids[1] if survivor_id == ids[0] else ids[0]
    return await merge_citizens(session, survivor_id=survivor_id, merged_id=merged_id, actor_id=actor_id,
                                reason=reason)


async def duplicates_of(session: AsyncSession, citizen_id: int, *, agent_id: int | None,
                        limit: int = 5) -> list[tuple[DuplicateView, CitizenSummary]]:
    """The open pairs this citizen is in, highest score first, each with the other citizen."""
    ca, cb = aliased(Citizen), aliased(Citizen)
    pairs = list((await session.exec(
        select(DuplicatePair).join(ca, ca.id == DuplicatePair.citizen_a_id).join(cb, cb.id == DuplicatePair.citizen_b_id)
        .where(DuplicatePair.status == DuplicateStatus.OPEN.value,
               or_(DuplicatePair.citizen_a_id == citizen_id, DuplicatePair.citizen_b_id == citizen_id),
               col(ca.merged_into_id).is_(None), col(cb.merged_into_id).is_(None))
        .order_by(col(DuplicatePair.score).desc(), col(DuplicatePair.id)).limit(limit))).all())
    summaries = await citizen_summaries(session, {i for p in pairs for i in (p.citizen_a_id, p.citizen_b_id)})
    if agent_id is not None and pairs:
        session.add_all([AccessRecord(agent_id=agent_id, action="duplicates", subject_type="citizen",
                                      subject_id=i) for i in sorted(summaries)])
    found = []
    for p in pairs:
        view = DuplicateView(p.id, p.score, list(p.reasons), p.status, p.created_at, p.decided_by, p.decided_at,
                             summaries[p.citizen_a_id], summaries[p.citizen_b_id])
        found.append((view, view.b if p.citizen_a_id == citizen_id else view.a))
    return found
