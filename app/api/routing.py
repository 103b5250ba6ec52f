"""Distribution of work: supervisors' workload, moves, rebalance; agents take and release tickets."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from litestar import Controller, get, post, put
from litestar.di import Provide
from pydantic import BaseModel, Field
from routing.models import Agent
from routing.rebalance import Move
from routing.sla_watch import notifications_of
from routing.supervision import (apply_moves, change_status, edit_agent, move_ticket, move_tickets, rebalance_plan, release_ticket, require_supervisor,
                                 set_presence, take_ticket, workload)
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import provide_agent
from app.queue import JobQueue, enqueue_after_commit
from app.settings import Settings, routing_config


class MoveIn(BaseModel):
    agent_id: int | None = Field(None, description="the receiving agent; null: back to the queue, routed again")
    why: str = Field(..., min_length=1, max_length=500, description="recorded on the ticket's timeline")


class BulkMoveIn(MoveIn):
    references: list[str] = Field(..., min_length=1, max_length=500)


class PresenceIn(BaseModel):
    presence: str = Field(..., description="available, busy, away or offline")
    why: str = Field("", max_length=500)
    redistribute: bool = Field(True, description="away/offline: hand their unanswered tickets to others")


class AgentUpdateIn(BaseModel):
    skills: dict[str, int] | None = Field(None, description="skill slug -> level 1-5; replaces all skills")
    capacity: int | None = Field(None, ge=1, le=10_000)
    channel_capacity: dict[str, int] | None = Field(None, description='e.g. {"phone": 2}')
    languages: list[str] | None = Field(None, max_length=20)
    working_hours: dict[str, Any] | None = Field(None, description="opening-hours spec; {} clears it")
    why: str = Field("", max_length=500)


class ReleaseIn(BaseModel):
    why: str = Field(..., min_length=1, max_length=500)


class StatusIn(BaseModel):
    status: str = Field(..., description="new, open, pending, resolved or closed")
    why: str = Field("", max_length=500)


class ApplyPlanIn(BaseModel):
    references: list[str] | None = Field(None, description="the moves to apply, by ticket reference; null: all")


def _move(move: Move) -> dict[str, Any]:
    return asdict(move)


class RoutingController(Controller):
    path = "/api/v1"
    tags = ["routing"]
    dependencies = {"agent": Provide(provide_agent)}
    security = [{"BearerToken": []}]

    @get("/supervisor/workload", summary="Open vs capacity, presence, oldest ticket and SLA risk per agent and team")
    async def get_workload(self, agent: Agent, db_session: AsyncSession, settings: Settings) -> dict[str, Any]:
        require_supervisor(agent)
        result = await workload(db_session, routing_config(settings))
        return asdict(result)

    @post("/tickets/{reference:str}/assign", summary="Move one ticket to an agent, or back to the queue",
          status_code=200)
    async def assign(self, reference: str, data: MoveIn, agent: Agent, db_session: AsyncSession,
                     settings: Settings) -> dict[str, Any]:
        ticket = await move_ticket(db_session, reference, data.agent_id, by=agent, why=data.why,
                                   config=routing_config(settings))
        await db_session.commit()
        return {"reference": ticket.reference, "assignee_id": ticket.assignee_id}

    @post("/supervisor/reassign", summary="Move several tickets to one agent (or back to the queue)",
          status_code=200)
    async def bulk_reassign(self, data: BulkMoveIn, agent: Agent, db_session: AsyncSession,
                            settings: Settings) -> dict[str, Any]:
        moved = await move_tickets(db_session, data.references, data.agent_id, by=agent, why=data.why,
                                   config=routing_config(settings))
        await db_session.commit()  # all or nothing: one refused move refuses the batch
        return {"moved": [{"reference": t.reference, "assignee_id": t.assignee_id} for t in moved]}

    @put("/agents/{agent_id:int}/presence", summary="Set an agent's presence; away redistributes their queue")
    async def presence(self, agent_id: int, data: PresenceIn, agent: Agent, db_session: AsyncSession,
                       settings: Settings, queue: JobQueue) -> dict[str, Any]:
        moved = await set_presence(db_session, agent_id, data.presence, by=agent, why=data.why or "no reason given",
                                   redistribute=data.redistribute, config=routing_config(settings))
        await db_session.commit()
        if data.presence == "available":
            await enqueue_after_commit(queue, "fill_agent", agent_id)
        return {"agent_id": agent_id, "presence": data.presence, "redistributed": moved}

    @put("/agents/{agent_id:int}", summary="Change an agent's skills, capacity, languages or working hours")
    async def update(self, agent_id: int, data: AgentUpdateIn, agent: Agent, db_session: AsyncSession,
                     queue: JobQueue) -> dict[str, Any]:
        require_supervisor(agent)
        changed = await edit_agent(db_session, agent_id, by=agent, why=data.why or "no reason given",
                                   skills=data.skills, capacity=data.capacity, channel_capacity=data.channel_capacity,
                                   languages=data.languages, working_hours=data.working_hours or None,
                                   clear_working_hours=data.working_hours == {})
        await db_session.commit()
        await enqueue_after_commit(queue, "fill_agent", agent_id)  # more room or skills: fill from the queue
        return {"agent_id": agent_id, "changed": changed}

    @get("/supervisor/rebalance", summary="The proposed plan of moves that evens out the load, with reasons")
    async def plan(self, agent: Agent, db_session: AsyncSession, settings: Settings) -> dict[str, Any]:
        require_supervisor(agent)
        moves = await rebalance_plan(db_session, routing_config(settings))
        await db_session.commit()  # routing state created on first sight of old tickets
        return {"moves": [_move(m) for m in moves]}

    @post("/supervisor/rebalance", summary="Apply the plan, or the moves of it picked by ticket reference",
          status_code=200)
    async def apply(self, data: ApplyPlanIn, agent: Agent, db_session: AsyncSession,
                    settings: Settings) -> dict[str, Any]:
        require_supervisor(agent)
        config = routing_config(settings)
        moves = await rebalance_plan(db_session, config)
        if data.references is not None:
            wanted = {r.strip().upper() for r in data.references}
            moves = [m for m in moves if m.reference in wanted]
        applied, skipped = await apply_moves(db_session, moves, by=agent, config=config)
        await db_session.commit()
        return {"applied": [_move(m) for m in applied],
                "skipped": [{**_move(m), "why": why} for m, why in skipped]}

    @post("/tickets/{reference:str}/take", summary="Take an unassigned ticket you are eligible for", status_code=200)
    async def take(self, reference: str, agent: Agent, db_session: AsyncSession, settings: Settings) -> dict[str, Any]:
        ticket = await take_ticket(db_session, reference, agent=agent, config=routing_config(settings))
        await db_session.commit()
        return {"reference": ticket.reference, "assignee_id": ticket.assignee_id}

    @post("/tickets/{reference:str}/release", summary="Give a ticket back; the router finds someone else",
          status_code=200)
    async def release(self, reference: str, data: ReleaseIn, agent: Agent, db_session: AsyncSession,
                      settings: Settings) -> dict[str, Any]:
        ticket = await release_ticket(db_session, reference, by=agent, why=data.why, config=routing_config(settings))
        await db_session.commit()
        return {"reference": ticket.reference, "assignee_id": ticket.assignee_id}

    @post("/tickets/{reference:str}/status", summary="Move the request on; resolving frees the holder",
          status_code=200)
    async def status(self, reference: str, data: StatusIn, agent: Agent, db_session: AsyncSession,
                     queue: JobQueue) -> dict[str, Any]:
        ticket, change = await change_status(db_session, reference, data.status, by=agent,
                                             why=data.why or "no reason given")
        holder = ticket.assignee_id
        await db_session.commit()
        if change is not None:  # the citizen is told, when the category says so
            await enqueue_after_commit(queue, "notify_status_change", change)
        if holder is not None and ticket.status in ("resolved", "closed"):
            await enqueue_after_commit(queue, "fill_agent", holder)
        return {"reference": ticket.reference, "status": ticket.status}

    @get("/notifications", summary="Your notifications (SLA at risk or breached, escalations), newest first")
    async def notifications(self, agent: Agent, db_session: AsyncSession, unread: bool = False) -> list[dict[str, Any]]:
        return [n.model_dump(mode="json") for n in await notifications_of(db_session, agent.id, unread_only=unread)]
