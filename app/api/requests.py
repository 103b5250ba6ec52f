"""Citizens' requests through the JSON API (the web form's twin)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Response, post
from litestar.params import HeaderParameter, Parameter
from sqlmodel.ext.asyncio.session import AsyncSession

from app.intake import RequestIn, enqueue_processing, submit_request
from app.queue import JobQueue
from app.settings import Settings


@dataclass
class RequestAccepted:
    reference: str
    status: str


@post("/api/v1/requests", tags=["requests"], status_code=201,
      summary="Submit a citizen's request; the reference comes back at once")
async def create_request(
    data: RequestIn,
    db_session: AsyncSession,
    queue: JobQueue,
    settings: Settings,
    idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)] = None,
    lang: Annotated[str | None, Parameter(max_length=8)] = None,
) -> Response[RequestAccepted]:
    accepted = await submit_request(
        db_session, data, submission_key=idempotency_key, language=lang,  # none chosen: the text says it (crm.language), else the default
        default_region=settings.default_region,
    )
    await db_session.commit()
    await enqueue_processing(queue, accepted)
    return Response(RequestAccepted(accepted.reference, accepted.status), status_code=201,
                    headers={"Idempotent-Replayed": "true"} if accepted.replayed else {})
