"""/track: a citizen follows their request with its reference and a verification (app/tracking.py
says which), in fr/en/ar; failures are counted per address and per reference (app/web/throttle.py)."""
from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.tracking import track_request
from app.web.i18n import pick_language
from app.web.pages import page_language, render
from app.web.throttle import TRACK_PER_IP, TRACK_PER_REFERENCE, Throttle


@get("/track", include_in_schema=False)
async def track_form(request: Request, reference: str = "") -> Template:
    return render(request, "track.html", {"values": {"reference": reference.strip().upper()}})


@post("/track", include_in_schema=False, status_code=200)
async def track(request: Request, db_session: AsyncSession,
                data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template:
    language = pick_language(data.get("lang"), page_language(request))
    throttle: Throttle = request.app.state.throttle
    reference = (data.get("reference") or "").strip().upper()[:40]
    client = request.client.host if request.client else "unknown"
    values = {"reference": reference}
    wait = max(await throttle.wait_seconds(TRACK_PER_IP, client),
               await throttle.wait_seconds(TRACK_PER_REFERENCE, reference))
    if wait:
        return render(request, "track.html", {"values": values, "locked_minutes": max(1, (wait + 59) // 60)},
                      status_code=429, language=language)
    tracking = await track_request(db_session, reference, data.get("verification") or "",
                                   secret=request.app.state.secret_key, language=language)
    if tracking is None:
        await throttle.failed(TRACK_PER_IP, client)
        await throttle.failed(TRACK_PER_REFERENCE, reference)
        return render(request, "track.html", {"values": values, "failed": True}, status_code=400,
                      language=language)
    return render(request, "track_result.html", {"tracking": tracking}, language=language)
