"""Twilio's SMS webhook: verify, record raw, commit, enqueue, answer at once."""
from __future__ import annotations

from typing import Annotated

from litestar import Request, Response, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import HeaderParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from app.queue import JobQueue, enqueue_after_commit
from app.settings import Settings
from app.webhooks import (
    EMPTY_TWIML,
    BadSignature,
    WebhookDisabled,
    public_url,
    record_twilio_sms,
    verify_twilio,
)


@post("/webhooks/twilio/sms", tags=["webhooks"], status_code=200, media_type="text/xml",
      summary="Twilio's incoming SMS webhook (signed with X-Twilio-Signature)")
async def twilio_sms(
    request: Request,
    db_session: AsyncSession,
    queue: JobQueue,
    settings: Settings,
    signature: Annotated[str | None, HeaderParameter(name="X-Twilio-Signature")] = None,
) -> Response[str]:
    body = await request.body()
    try:
        verify_twilio(settings, public_url(settings, request.url.path, request.url.query), body, signature)
    except WebhookDisabled as exc:
        raise NotFoundException(str(exc)) from exc
    except BadSignature as exc:
        raise PermissionDeniedException(str(exc)) from exc
    recorded = await record_twilio_sms(db_session, body)
    await db_session.commit()
    if recorded.created:
        await enqueue_after_commit(queue, "process_inbound", recorded.event_id)
    return Response(EMPTY_TWIML, media_type="text/xml")
