"""Routing jobs: assign a ticket (then acknowledge it), fill a freed agent, watch SLAs."""
from __future__ import annotations

from typing import Any

from routing.assign import assign_ticket as assign
from routing.sla_watch import check_slas as watch
from routing.supervision import fill_agent_once as fill

from app.settings import routing_config


async def assign_ticket(ctx: dict[str, Any], ticket_id: int, acknowledge_message_id: int | None = None) -> str:
    async with ctx["sessionmaker"]() as session:
        decision = await assign(session, ticket_id, routing_config(ctx["settings"]))
        await session.commit()
    if acknowledge_message_id is not None:
        await ctx["queue"].enqueue("acknowledge_message", acknowledge_message_id,
                                   job_id=f"acknowledge_message:{acknowledge_message_id}")
    if decision is None:
        return "nothing to do"
    return f"assigned to {decision.agent_id}" if decision.agent_id else "waiting"


async def fill_agent(ctx: dict[str, Any], agent_id: int) -> str:
    """An agent became available or freed capacity: hand them waiting tickets they may take."""
    given = 0
    while True:  # one ticket per transaction: ticket row before agent row, like every assigner
        async with ctx["sessionmaker"]() as session:
            ticket_id = await fill(session, agent_id, routing_config(ctx["settings"]))
            await session.commit()
        if ticket_id is None:
            return f"gave {given} ticket(s)"
        given += 1


async def check_slas(ctx: dict[str, Any]) -> str:
    async with ctx["sessionmaker"]() as session:
        changes = await watch(session, routing_config(ctx["settings"]))
        await session.commit()
    return f"{len(changes)} SLA change(s)"
