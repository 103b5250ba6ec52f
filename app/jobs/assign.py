"""Assign a ticket to an agent, then acknowledge the message that opened it."""
from __future__ import annotations

from typing import Any

from routing.assign import assign_ticket as assign


async def assign_ticket(ctx: dict[str, Any], ticket_id: int, acknowledge_message_id: int | None = None) -> str:
    async with ctx["sessionmaker"]() as session:
        decision = await assign(session, ticket_id)
        await session.commit()
    if acknowledge_message_id is not None:
        await ctx["queue"].enqueue("acknowledge_message", acknowledge_message_id,
                                   job_id=f"acknowledge_message:{acknowledge_message_id}")
    if decision is None:
        return "nothing to do"
    return f"assigned to {decision.agent_id}" if decision.agent_id else "waiting"
