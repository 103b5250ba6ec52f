"""An agent's reply on a ticket: preview, send (on the channel that reaches the citizen), the
fallback channel after a permanent failure, suggested answers."""
from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import Provide
from sqlmodel.ext.asyncio.session import AsyncSession

from app.agent_reply import (
    FallbackOut,
    ReplyIn,
    ReplyPreviewOut,
    ReplySentOut,
    SuggestionsOut,
    fallback,
    preview_reply,
    send_reply,
    suggestions,
)
from app.auth import provide_agent
from app.queue import JobQueue, enqueue_after_commit
from app.settings import Settings
from replies.models import DeliveryState
from routing.models import Agent


class RepliesController(Controller):
    path = "/api/v1/tickets/{reference:str}"
    tags = ["replies"]
    dependencies = {"agent": Provide(provide_agent)}
    security = [{"BearerToken": []}]

    @post("/replies/preview", status_code=200,
          summary="The reply as the citizen would get it: channel, address, text, SMS segments")
    async def preview(self, reference: str, data: ReplyIn, agent: Agent, db_session: AsyncSession,
                      settings: Settings) -> ReplyPreviewOut:
        return await preview_reply(db_session, settings, agent, reference, data)

    @post("/replies", status_code=201,
          summary="Send a reply; 409 with the next channel when the chosen one does not reach the citizen")
    async def send(self, reference: str, data: ReplyIn, agent: Agent, db_session: AsyncSession,
                   settings: Settings, queue: JobQueue) -> ReplySentOut:
        sent = await send_reply(db_session, settings, agent, reference, data)
        await db_session.commit()
        if sent.created and sent.state == DeliveryState.QUEUED.value:
            await enqueue_after_commit(queue, "send_delivery", sent.delivery_id)
        return sent

    @get("/replies/fallback", summary="The channels that reach the citizen, and the one proposed")
    async def fallback_channel(self, reference: str, agent: Agent, db_session: AsyncSession) -> FallbackOut:
        return await fallback(db_session, agent, reference)

    @get("/suggestions", summary="The three templates or ready answers most likely to fit the citizen's message")
    async def suggested(self, reference: str, agent: Agent, db_session: AsyncSession, settings: Settings,
                        message_id: int | None = None) -> SuggestionsOut:
        return await suggestions(db_session, settings, agent, reference, message_id)
