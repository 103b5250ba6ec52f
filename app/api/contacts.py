"""Contacts the front desk logs: a phone call, a walk-in, a paper letter."""
from __future__ import annotations

from typing import Annotated

from litestar import Response, Router, post
from litestar.di import Provide
from litestar.params import HeaderParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api.requests import RequestAccepted
from app.auth import provide_agent
from app.frontdesk import ContactIn, submit_contact
from app.intake import enqueue_processing
from app.queue import JobQueue
from app.settings import Settings, attachment_policy
from routing.models import Agent


@post("/", tags=["contacts"], status_code=201, dependencies={"agent": Provide(provide_agent)},
      security=[{"BearerToken": []}],
      summary="Log a phone, counter or letter contact; the reference comes back at once")
async def create_contact(
    data: ContactIn,
    agent: Agent,
    db_session: AsyncSession,
    queue: JobQueue,
    settings: Settings,
    idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)] = None,
) -> Response[RequestAccepted]:
    accepted = await submit_contact(db_session, data, agent=agent, submission_key=idempotency_key,
                                    default_region=settings.default_region,
                                    attachment_policy=attachment_policy(settings))
    await db_session.commit()
    await enqueue_processing(queue, accepted)
    return Response(RequestAccepted(accepted.reference, accepted.status), status_code=201,
                    headers={"Idempotent-Replayed": "true"} if accepted.replayed else {})


def contacts_router(settings: Settings) -> Router:
    """Scans come base64 in the JSON body: room for one file of GUICHET_ATTACHMENT_MAX_BYTES
    (4/3 of it once encoded) besides the usual GUICHET_MAX_BODY_BYTES."""
    limit = settings.max_body_bytes + (settings.attachment_max_bytes * 4) // 3 + 4
    return Router("/api/v1/contacts", route_handlers=[create_contact], request_max_body_size=limit)
