"""Twilio's webhooks: verify, record raw (or apply a status), commit, enqueue, answer at once."""
from __future__ import annotations

import asyncio
from typing import Annotated

from litestar import Request, Response, post
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import NotFoundException, PermissionDeniedException, ServiceUnavailableException
from litestar.params import HeaderParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from app.batches import BatchFailed
from app.registry import STATUS_CALLBACK_PATH
from app.settings import Settings
from app.webhooks import (
    EMPTY_TWIML,
    BadSignature,
    WebhookDisabled,
    apply_twilio_status,
    public_url,
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
async def twilio_sms(request: Request) -> Response[str]:
    """Twilio waits on this answer: verify, record (app.webhooks.SmsRecorder: concurrent posts
    share one INSERT and one commit), answer; the event is committed before the 200, its job is
    asked for without Twilio waiting on Redis. A batch the database refused: 503, nothing of it
    stored, Twilio may retry. The recorder and settings come from the app's state and the
    signature from the raw headers, not from dependency injection and parameter parsing:
    Litestar resolves several dependencies in an anyio task group, and parses every header to
    find one, a quarter of this route's CPU in py-spy."""
    state = request.app.state
    signature = next((value.decode("latin-1") for name, value in request.scope["headers"]
                      if name == b"x-twilio-signature"), None)
    body = await _signed_body(request, state.settings, signature)
    try:
        _, enqueued = await state.sms_recorder.record(body)
    except BatchFailed as exc:
        raise ServiceUnavailableException("the SMS could not be stored; try again") from exc
    # Awaited after the answer is sent, so that the request ends when its job is asked for.
    return Response(EMPTY_TWIML, media_type="text/xml",
                    background=BackgroundTask(_await, enqueued) if enqueued is not None else None)


async def _await(future: asyncio.Future[None]) -> None:
    await future


@post(STATUS_CALLBACK_PATH, tags=["webhooks"], status_code=200, media_type="text/xml",
      summary="Twilio's StatusCallback for an SMS we sent (signed with X-Twilio-Signature)")
async def twilio_status(request: Request, db_session: AsyncSession, settings: Settings,
                        signature: Signature = None) -> Response[str]:
    """Unknown MessageSid: 200 all the same, nothing changes (Twilio would only retry)."""
    await apply_twilio_status(db_session, await _signed_body(request, settings, signature))
    await db_session.commit()
    return Response(EMPTY_TWIML, media_type="text/xml")
