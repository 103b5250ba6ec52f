"""The outbox: every outbound message and its state; dead letters resent, queued ones cancelled.
Letters to print and calls to make, for the front desk.

Who: supervisors and administrators see everything (dead letters included), resend and cancel;
agents see the deliveries of the tickets they hold and cancel those still waiting; the front
desk sees letters and call backs, and marks them done.
"""
from __future__ import annotations

from datetime import datetime

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import QueryParameter
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import provide_agent
from app.queue import JobQueue, enqueue_after_commit
from crm.errors import Forbidden, InvalidInput, NotFound
from crm.models import Ticket
from crm.types import Channel
from replies import dispatch
from replies.models import Delivery, DeliveryState
from replies.outbox import list_outbox
from routing.models import Agent, Role
from routing.supervision import SUPERVISORS, require_supervisor

STATES = [s.value for s in DeliveryState]
# The front desk's list: what waits ("queued" to them: not yet printed / called) and what is done.
DESK_STATES = {"queued": DeliveryState.HELD.value, "done": DeliveryState.SENT.value,
               "printed": DeliveryState.SENT.value, "cancelled": DeliveryState.CANCELLED.value}


class DeliveryOut(BaseModel):
    id: int
    ticket: str | None
    channel: str
    to: str
    state: str
    subject: str | None
    text: str
    html: str | None = None
    attempts: int
    last_error: str | None
    error_code: str | None
    provider_status: str | None
    segments: int | None
    encoding: str | None
    dead_letter: bool
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


def _out(delivery: Delivery, reference: str | None, *, html: bool = False) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id, ticket=reference, channel=delivery.channel, to=delivery.to, state=delivery.state,
        subject=delivery.subject, text=delivery.body, html=delivery.html if html else None,
        attempts=delivery.attempts, last_error=delivery.last_error, error_code=delivery.error_code,
        provider_status=delivery.provider_status, segments=delivery.segments, encoding=delivery.encoding,
        dead_letter=delivery.state == DeliveryState.FAILED.value
        and (delivery.last_error or "").startswith("gave up after retries"),
        created_at=delivery.created_at, updated_at=delivery.updated_at, sent_at=delivery.sent_at)


async def _reference(session: AsyncSession, delivery: Delivery) -> str | None:
    ticket = await session.get(Ticket, delivery.ticket_id) if delivery.ticket_id else None
    return ticket.reference if ticket else None


async def _visible(session: AsyncSession, delivery_id: int, agent: Agent) -> Delivery:
    """The delivery, if this agent may act on it: supervisors any, agents their tickets'."""
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id} in the outbox")
    if agent.role in SUPERVISORS:
        return delivery
    ticket = await session.get(Ticket, delivery.ticket_id) if delivery.ticket_id else None
    if agent.role != Role.AGENT.value or ticket is None or ticket.assignee_id != agent.id:
        raise Forbidden("agents act on the deliveries of the tickets they hold; supervisors on any")
    return delivery


class OutboxController(Controller):
    path = "/api/v1/outbox"
    tags = ["outbox"]
    dependencies = {"agent": Provide(provide_agent)}
    security = [{"BearerToken": []}]

    @get("/", summary="Outbound messages, newest first (supervisors: all; agents: their tickets')")
    async def list_deliveries(self, agent: Agent, db_session: AsyncSession,
                              state_: str | None = QueryParameter(name="state", default=None),
                              channel: str | None = None, limit: int = 200) -> list[DeliveryOut]:
        state = state_
        if state is not None and state not in STATES:
            raise InvalidInput(f"state is one of {', '.join(STATES)}", fields={"state": "unknown state"})
        if agent.role not in SUPERVISORS and agent.role != Role.AGENT.value:
            raise Forbidden("the outbox is for agents and supervisors; the front desk has /api/v1/letters")
        rows = await list_outbox(db_session, state=state, channel=channel, limit=min(max(limit, 1), 1000),
                                 assignee_id=None if agent.role in SUPERVISORS else agent.id)
        return [_out(d, reference) for d, reference in rows]

    @get("/{delivery_id:int}", summary="One delivery, with its HTML")
    async def one(self, delivery_id: int, agent: Agent, db_session: AsyncSession) -> DeliveryOut:
        delivery = await _visible(db_session, delivery_id, agent)
        return _out(delivery, await _reference(db_session, delivery), html=True)

    @post("/{delivery_id:int}/resend", status_code=200,
          summary="A failed delivery (a dead letter) queued again, attempts reset (supervisors)")
    async def resend(self, delivery_id: int, agent: Agent, db_session: AsyncSession, queue: JobQueue) -> DeliveryOut:
        require_supervisor(agent)
        delivery = await dispatch.resend(db_session, delivery_id, agent_id=agent.id, agent_name=agent.name)
        reference = await _reference(db_session, delivery)
        await db_session.commit()
        # A job id of its own: the first send's id may still be known to the queue (arq keeps it).
        await enqueue_after_commit(queue, "send_delivery", delivery.id,
                                   job_id=f"send_delivery:{delivery.id}:resend:{int(delivery.updated_at.timestamp())}")
        return _out(delivery, reference)

    @post("/{delivery_id:int}/cancel", status_code=200, summary="A queued or held delivery cancelled")
    async def cancel(self, delivery_id: int, agent: Agent, db_session: AsyncSession) -> DeliveryOut:
        await _visible(db_session, delivery_id, agent)
        delivery = await dispatch.cancel(db_session, delivery_id, agent_id=agent.id, agent_name=agent.name)
        reference = await _reference(db_session, delivery)
        await db_session.commit()
        return _out(delivery, reference)


async def _desk_list(session: AsyncSession, channel: str, state: str) -> list[DeliveryOut]:
    if state not in DESK_STATES:
        raise InvalidInput(f"state is one of {', '.join(DESK_STATES)}", fields={"state": "unknown state"})
    rows = await list_outbox(session, state=DESK_STATES[state], channel=channel, limit=500)
    return [_out(d, reference, html=True) for d, reference in reversed(rows)]  # oldest first: a queue


async def _desk_done(session: AsyncSession, delivery_id: int, channel: str, agent: Agent) -> DeliveryOut:
    delivery = await dispatch.carried_out(session, delivery_id, channel=channel, agent_id=agent.id,
                                          agent_name=agent.name)
    reference = await _reference(session, delivery)
    await session.commit()
    return _out(delivery, reference, html=True)


class FrontDeskController(Controller):
    """Letters and call backs: held in the outbox until a person carries them out. Every staff
    role may read and do them (the front desk first)."""

    path = "/api/v1"
    tags = ["outbox"]
    dependencies = {"agent": Provide(provide_agent)}
    security = [{"BearerToken": []}]

    @get("/letters", summary="Letters to print (state=queued), oldest first, with their printable page")
    async def letters(self, agent: Agent, db_session: AsyncSession,
                      state_: str = QueryParameter(name="state", default="queued")) -> list[DeliveryOut]:
        return await _desk_list(db_session, Channel.LETTER.value, state_)

    @post("/letters/{delivery_id:int}/printed", status_code=200, summary="A letter printed and posted")
    async def printed(self, delivery_id: int, agent: Agent, db_session: AsyncSession) -> DeliveryOut:
        return await _desk_done(db_session, delivery_id, Channel.LETTER.value, agent)

    @get("/callbacks", summary="Citizens to call back (state=queued), oldest first, with the number and text")
    async def callbacks(self, agent: Agent, db_session: AsyncSession,
                        state_: str = QueryParameter(name="state", default="queued")) -> list[DeliveryOut]:
        return await _desk_list(db_session, Channel.PHONE.value, state_)

    @post("/callbacks/{delivery_id:int}/done", status_code=200, summary="A citizen called back")
    async def called(self, delivery_id: int, agent: Agent, db_session: AsyncSession) -> DeliveryOut:
        return await _desk_done(db_session, delivery_id, Channel.PHONE.value, agent)
