"""Twilio's webhooks: verify, record raw (or apply a status), commit, enqueue, answer at once."""
from __future__ import annotations

from typing import Annotated

from litestar import Request, Response, post
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import HeaderParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from app.queue import enqueue_after_commit
from app.registry import STATUS_CALLBACK_PATH
from app.settings import Settings
from app.webhooks import (
    EMPTY_TWIML,
    BadSignature,
    WebhookDisabled,
    apply_twilio_status,
    public_url,
    record_twilio_sms,
    verify_twilio,
)

Signature = Annotated[str | None, HeaderParameter(name="X-Twilio-Signature")]


async def _signed_body(request: Request, settings: Settings, signature: str | None) -> bytes:
    """The body, once its X-Twilio-Signature is checked: 404 when Twilio is off, 403 when forged."""
    body = await request.body()
    try:
        verify_twilio(settings, public_url(settings, request.url.path, request.url.query), body, signature)
    except WebhookDisabled as exc:
        raise NotFoundException(str(exc)) from exc
    except BadSignature as exc:
        raise PermissionDeniedException(str(exc)) from exc
    return body


@post("/webhooks/twilio/sms", tags=["webhooks"], status_code=200, media_type="text/xml",
      summary="Twilio's incoming SMS webhook (signed with X-Twilio-Signature)")
async def twilio_sms(request: Request, signature: Signature = None) -> Response[str]:
    """Twilio waits on this answer: verify, one autocommit INSERT on a driver connection, answer. The
    event is committed before the 200; the job is asked for once the answer is sent (one Redis
    round trip Twilio need not wait on), and if that enqueue is lost — the process stops in
    between, Redis is down — the sweep finds the pending event. The queue and settings come
    from the app's state, not from dependency injection: Litestar resolves several dependencies
    in an anyio task group, a tenth of this route's CPU in py-spy."""
    state = request.app.state
    recorded = await record_twilio_sms(state.ack_database, await _signed_body(request, state.settings, signature))
    enqueue = (BackgroundTask(enqueue_after_commit, state.queue, "process_inbound", recorded.event_id)
               if recorded.created else None)
    return Response(EMPTY_TWIML, media_type="text/xml", background=enqueue)


@post(STATUS_CALLBACK_PATH, tags=["webhooks"], status_code=200, media_type="text/xml",
      summary="Twilio's StatusCallback for an SMS we sent (signed with X-Twilio-Signature)")
async def twilio_status(request: Request, db_session: AsyncSession, settings: Settings,
                        signature: Signature = None) -> Response[str]:
    """Unknown MessageSid: 200 all the same, nothing changes (Twilio would only retry)."""
    await apply_twilio_status(db_session, await _signed_body(request, settings, signature))
    await db_session.commit()
    return Response(EMPTY_TWIML, media_type="text/xml")
