"""The duplicates review queue and merges, for supervisors and administrators: list suspected
pairs, merge them or mark them different, merge two records found by hand, undo a merge."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import Parameter
from pydantic import BaseModel, Field
from routing.models import Agent
from routing.supervision import require_supervisor
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import provide_agent
from crm import duplicates
from crm.merge import MAX_ID, merge_citizens, unmerge
from crm.models import CitizenMerge, DuplicatePair

class MergePairIn(BaseModel):
    survivor_id: int | None = Field(None, ge=1, le=MAX_ID,
                                    description="which of the two is kept; null: the one with more tickets, "
                                                "then the older record")
    reason: str = Field(..., min_length=1, max_length=1000, description="recorded on both citizens' timelines")


class ReasonIn(BaseModel):
    reason: str = Field(..., min_length=1, max_length=1000)


class MergeCitizenIn(BaseModel):
    other_id: int = Field(..., ge=1, le=MAX_ID, description="the duplicate record, merged into this citizen")
    reason: str = Field(..., min_length=1, max_length=1000)


@dataclass
class PairDecisionOut:
    id: int
    citizen_a_id: int
    citizen_b_id: int
    status: str
    decided_by: int | None
    decided_at: datetime | None


@dataclass
class MergeOut:
    merge_id: int
    survivor_id: int
    merged_id: int
    created_at: datetime
    undone_at: datetime | None
    tickets: int
    messages: int
    contact_points: int


def _merge(m: CitizenMerge) -> MergeOut:
    snap = m.snapshot
    return MergeOut(m.id, m.survivor_id, m.merged_id, m.created_at, m.undone_at, len(snap.get("tickets", [])),
                    len(snap.get("messages", [])),
                    len(snap.get("contact_points_moved", [])) + len(snap.get("contact_points_deleted", [])))


def _decision(p: DuplicatePair) -> PairDecisionOut:
    return PairDecisionOut(p.id, p.citizen_a_id, p.citizen_b_id, p.status, p.decided_by, p.decided_at)


class DuplicatesController(Controller):
    path = "/api/v1"
    tags = ["citizens"]
    dependencies = {"agent": Provide(provide_agent)}
    security = [{"BearerToken": []}]

    @get("/duplicates", summary="Suspected duplicate citizens, highest score first (keyset pages)")
    async def list_pairs(
        self, agent: Agent, db_session: AsyncSession,
        status: str = Parameter(default="open", description="open, merged or different"),
        limit: int = Parameter(default=20, ge=1, le=duplicates.MAX_LIMIT),
        after: int | None = Parameter(default=None, description="next_after of the previous page"),
    ) -> duplicates.DuplicatePage:
        require_supervisor(agent)
        page = await duplicates.list_duplicates(db_session, status=status, limit=limit, after_id=after,
                                                agent_id=agent.id)
        await db_session.commit()  # the access records
        return page  # crm's dataclasses are the public schema: masked identifiers, no raw values

    @post("/duplicates/{pair_id:int}/merge", summary="Merge the two citizens of a suspected pair", status_code=200)
    async def merge_pair(self, pair_id: int, data: MergePairIn, agent: Agent, db_session: AsyncSession) -> MergeOut:
        require_supervisor(agent)
        merge = await duplicates.merge_pair(db_session, pair_id, survivor_id=data.survivor_id, actor_id=agent.id,
                                            reason=data.reason)
        await db_session.commit()
        return _merge(merge)

    @post("/duplicates/{pair_id:int}/different", summary="Two different people: never suggested again",
          status_code=200)
    async def mark_different(self, pair_id: int, data: ReasonIn, agent: Agent,
                             db_session: AsyncSession) -> PairDecisionOut:
        require_supervisor(agent)
        pair = await duplicates.mark_different(db_session, pair_id, actor_id=agent.id, reason=data.reason)
        await db_session.commit()
        return _decision(pair)

    @post("/citizens/{citizen_id:int}/merge", summary="Merge another record (found by hand) into this citizen",
          status_code=200)
    async def merge_citizen(self, citizen_id: int, data: MergeCitizenIn, agent: Agent,
                            db_session: AsyncSession) -> MergeOut:
        require_supervisor(agent)
        merge = await merge_citizens(db_session, survivor_id=citizen_id, merged_id=data.other_id,
                                     actor_id=agent.id, reason=data.reason)
        await db_session.commit()
        return _merge(merge)

    @post("/merges/{merge_id:int}/undo", summary="Undo a merge exactly (the latest of these citizens first)",
          status_code=200)
    async def undo(self, merge_id: int, data: ReasonIn, agent: Agent, db_session: AsyncSession) -> MergeOut:
        require_supervisor(agent)
        merge = await unmerge(db_session, merge_id=merge_id, actor_id=agent.id, reason=data.reason)
        await db_session.commit()
        return _merge(merge)
