"""Tickets, for authenticated agents."""
from __future__ import annotations

from litestar import get
from litestar.di import Provide
from routing.models import Agent
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import provide_agent
from app.ticket_view import TicketOut, ticket_for_agent


@get("/api/v1/tickets/{reference:str}", tags=["tickets"], dependencies={"agent": Provide(provide_agent)},
     summary="A ticket with its citizen, assignee, messages and timeline",
     security=[{"BearerToken": []}])
async def get_ticket(reference: str, agent: Agent, db_session: AsyncSession) -> TicketOut:
    view = await ticket_for_agent(db_session, reference, agent)
    await db_session.commit()
    return view
