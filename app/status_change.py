"""A ticket's status changed by an agent, from the API or a page: one path, so the citizen is
told (when the category says so) and a freed agent gets work, whichever door was used."""
from __future__ import annotations

from crm.models import Ticket
from routing.models import Agent
from routing.supervision import change_status
from sqlmodel.ext.asyncio.session import AsyncSession

from app.queue import JobQueue, enqueue_after_commit


async def change_status_and_follow_up(session: AsyncSession, queue: JobQueue, reference: str, status: str, *,
                                      by: Agent, why: str) -> Ticket:
    """Change, commit, then enqueue the notification and the refill of the holder's queue."""
    ticket, change = await change_status(session, reference, status, by=by, why=why)
    holder, new_status = ticket.assignee_id, ticket.status
    await session.commit()
    if change is not None:  # the citizen is told, when the category says so
        await enqueue_after_commit(queue, "notify_status_change", change)
    if holder is not None and new_status in ("resolved", "closed"):
        await enqueue_after_commit(queue, "fill_agent", holder)
    return ticket
