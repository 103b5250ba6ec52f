"""A citizen's record as an agent reads it: identity, contact points, tickets, and the citizens
merged into it. A tombstone's id gives the survivor's record (crm.identity.get_citizen)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.errors import Conflict
from crm.identity import get_citizen
from crm.models import OPEN_STATUS_SQL, AccessRecord, Citizen, ContactPoint, Ticket
from crm.opt_outs import opted_out

RECENT_TICKETS = 20
MAX_MERGE_DEPTH = 64  # as crm.identity follows chains: deeper is a corrupted database


@dataclass(frozen=True)
class CitizenRecord:
    citizen: Citizen  # the survivor when a tombstone was asked for
    requested_id: int
    merged_ids: list[int]  # tombstones whose merges lead here, directly or through a chain
    contact_points: list[ContactPoint]
    tickets: list[Ticket]  # every open ticket, then the most recent others; newest first
    sms_stopped: frozenset[str] = frozenset()  # phones that sent STOP (no SMS to them)

    @property
    def followed_merge(self) -> bool:
        return self.citizen.id != self.requested_id


async def merged_citizen_ids(session: AsyncSession, survivor_id: int) -> list[int]:
    """The citizens merged into this one, following chains backwards (A into B into C: A and B
    for C), level by level through ix_citizen_merged_into_id. Whether a merge moves the
    tombstone's rows to the survivor or leaves them, reading these ids too gives one history."""
    found: list[int] = []
    frontier = [survivor_id]
    for _ in range(MAX_MERGE_DEPTH):
        frontier = [i for i in (await session.exec(
            select(Citizen.id).where(col(Citizen.merged_into_id).in_(frontier)).order_by(col(Citizen.id))
        )).all() if i not in found and i != survivor_id]
        if not frontier:
            return found
        found.extend(frontier)
    raise Conflict("this citizen's merge chain is too deep; an administrator must repair it",
                   fields={"citizen_id": str(survivor_id)})


async def citizen_record(session: AsyncSession, citizen_id: int, *, agent_id: int | None) -> CitizenRecord:
    """The record, and an AccessRecord ("view") of the agent who read it, on the survivor."""
    citizen = await get_citizen(session, citizen_id)
    merged = await merged_citizen_ids(session, citizen.id)
    history = [citizen.id, *merged]
    session.add(AccessRecord(agent_id=agent_id, action="view", subject_type="citizen", subject_id=citizen.id))
    points = await _contact_points(session, history)
    phones = [p.value for p in points if p.kind == "phone"]
    return CitizenRecord(
        citizen=citizen, requested_id=citizen_id, merged_ids=merged, contact_points=points,
        tickets=await _open_and_recent_tickets(session, history),
        sms_stopped=frozenset(await opted_out(session, "sms", phones) if phones else ()),
    )


async def _contact_points(session: AsyncSession, citizen_ids: list[int]) -> list[ContactPoint]:
    """One per (kind, value): a merge that left a tombstone's points behind shows them once,
    verified if any copy is."""
    rows = (await session.exec(
        select(ContactPoint).where(col(ContactPoint.citizen_id).in_(citizen_ids))
        .order_by(col(ContactPoint.verified).desc(), col(ContactPoint.id))
    )).all()
    unique: dict[tuple[str, str], ContactPoint] = {}
    for point in rows:
        unique.setdefault((point.kind, point.value), point)
    return sorted(unique.values(), key=lambda p: p.id)


async def _open_and_recent_tickets(session: AsyncSession, citizen_ids: list[int]) -> list[Ticket]:
    newest_first = (col(Ticket.created_at).desc(), col(Ticket.id).desc())
    open_ = (await session.exec(
        select(Ticket).where(col(Ticket.citizen_id).in_(citizen_ids), text(OPEN_STATUS_SQL))
        .order_by(*newest_first)
    )).all()
    recent = (await session.exec(
        select(Ticket).where(col(Ticket.citizen_id).in_(citizen_ids)).order_by(*newest_first)
        .limit(RECENT_TICKETS)
    )).all()
    tickets = {t.id: t for t in (*open_, *recent)}
    return sorted(tickets.values(), key=lambda t: (t.created_at, t.id), reverse=True)
