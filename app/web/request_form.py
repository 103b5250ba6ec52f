"""The public request form: a citizen writes in, gets a reference."""
from __future__ import annotations

import uuid
from typing import Annotated, Any

from crm.errors import Conflict, InvalidInput
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template
from pydantic import ValidationError
from routing.categories import active_categories, localised_name
from sqlmodel.ext.asyncio.session import AsyncSession

from app.intake import RequestIn, enqueue_processing, submit_request
from app.queue import JobQueue
from app.settings import Settings
from app.tracking import display_code, tracking_code
from app.web.i18n import page_context, pick_language

FIELDS = ("name", "email", "phone", "category", "subject", "message")


async def _form_page(session: AsyncSession, settings: Settings, language: str, *,
                     values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                     status_code: int = 200) -> Template:
    categories = [(c.slug, localised_name(c, language)) for c in await active_categories(session)]
    return Template(
        template_name="request_form.html",
        context={**page_context(language), "categories": categories, "values": values or {},
                 "errors": errors or {}, "service_name": settings.service_name,
                 "submission_id": (values or {}).get("submission_id") or str(uuid.uuid4())},
        status_code=status_code,
    )


@get("/request", include_in_schema=False)
async def request_form(db_session: AsyncSession, settings: Settings, lang: str | None = None) -> Template:
    return await _form_page(db_session, settings, pick_language(lang, settings.default_language))


def _submission_key(raw: Any) -> str | None:
    try:
        return f"form:{uuid.UUID(str(raw))}"
    except ValueError:
        return None


@post("/request", include_in_schema=False, status_code=200)
async def submit_request_form(
    request: Request,
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    db_session: AsyncSession,
    queue: JobQueue,
    settings: Settings,
) -> Template:
    language = pick_language(data.get("lang"), settings.default_language)
    values = {k: str(data.get(k) or "") for k in (*FIELDS, "submission_id")}
    try:
        form = RequestIn(**{k: values[k] or None for k in FIELDS}
                         | {k: values[k] for k in ("name", "category", "message")})
    except ValidationError as exc:
        errors = {str(e["loc"][0]): e["msg"] for e in exc.errors()}
        return await _form_page(db_session, settings, language, values=values, errors=errors,
                                status_code=400)
    key = _submission_key(values["submission_id"])
    try:
        try:
            accepted = await submit_request(db_session, form, submission_key=key, language=language,
                                            default_region=settings.default_region)
        except Conflict:
            # The citizen went back and changed the form: that is a new request.
            accepted = await submit_request(db_session, form, submission_key=None, language=language,
                                            default_region=settings.default_region)
    except InvalidInput as exc:
        await db_session.rollback()
        return await _form_page(db_session, settings, language, values=values, errors=exc.fields,
                                status_code=400)
    await db_session.commit()
    await enqueue_processing(queue, accepted)
    return Template(
        template_name="request_done.html",
        context={**page_context(language), "reference": accepted.reference,
                 "tracking_code": display_code(tracking_code(request.app.state.secret_key, accepted.reference)),
                 "service_name": settings.service_name, "email": form.email},
    )
