"""The front desk (/desk): find or create the citizen, log the walk-in, call or letter, print
the receipt; and "where is my request?" for a citizen standing there.

A plain form first (GET /desk?q=… lists the citizens found); static/guichet.js turns the search
into live results (GET /desk?q=…&partial=true answers the results list alone). Logging goes
through app.frontdesk.submit_contact, the same service as POST /api/v1/contacts."""
from __future__ import annotations

import base64
import re
import uuid
from typing import Annotated, Any

from litestar import Request, Router, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.frontdesk import ContactIn, ScanIn, submit_contact
from app.intake import enqueue_processing
from app.queue import JobQueue
from app.settings import Settings, attachment_policy
from app.tracking import look_up_request
from app.web.guard import STAFF, require_role
from app.web.pages import page_language, render
from crm import search
from crm.errors import DomainError, InvalidInput, NotFound, TooLarge
from routing.categories import active_categories, localised_name
from routing.models import Agent

CITIZEN_FIELDS = ("full_name", "phone", "email", "national_id", "address", "postcode", "city")
CONTACT_FIELDS = ("channel", "category", "subject", "note", "reply_channel", "reference")
CHANNELS = (("counter", "Walk-in"), ("phone", "Phone call"), ("letter", "Paper letter"))
REPLY_CHANNELS = (("", "Automatic (email, else SMS, else post)"), ("email", "Email"), ("sms", "SMS"),
                  ("letter", "Post"), ("call_back", "Call back"))
SUBJECT_FROM_NOTE = 120  # characters of the note's first line when no subject was typed

# What the agent reads when the service refuses (msgids, translated in the page). The service
# speaks to API clients ("give citizen_id…"); third parties (email-validator, pydantic) speak
# English of their own; a message not listed here is shown as the service wrote it.
DESK_MESSAGES = {
    "required for a new citizen (or give citizen_id)": "Type the new citizen's name, or pick them in the search results.",
    "give citizen_id for an existing citizen or full_name for a new one, not both":
        "A citizen was picked in the search results: leave the new citizen's name empty.",
    "no citizen with this id": "This citizen is no longer on file (merged or removed): search again.",
    "no ticket with this reference": "No request has this reference.",
    "not a ticket of this citizen": "This request belongs to another citizen.",
}
EMAIL_INVALID = "This email address is not valid."
SCAN_BLOCKED = "This kind of file is not accepted (programs and scripts are refused): scan it as PDF or image."
SCAN_TOO_LARGE = "The file is too large."
TOO_LONG = "This is too long."
INVALID = "This value is not valid."


def clear_errors(errors: dict[str, str]) -> dict[str, str]:
    """Field -> a message an agent understands (a msgid where we have one)."""
    cleared = {}
    for field, message in errors.items():
        if message in DESK_MESSAGES:
            message = DESK_MESSAGES[message]
        elif field == "email":
            message = EMAIL_INVALID
        elif field == "scan" and message.startswith("blocked"):
            message = SCAN_BLOCKED
        elif field == "scan" and message.startswith("larger than"):
            message = SCAN_TOO_LARGE
        cleared[field] = message
    return cleared


def _pydantic_message(error: dict) -> str:
    return TOO_LONG if error.get("type") == "string_too_long" else INVALID


def prefill_from_query(q: str) -> dict[str, str]:
    """Nobody found for what was typed: it becomes the new citizen's name, phone or email."""
    q = q.strip()
    if not q:
        return {}
    if "@" in q:
        return {"email": q}
    if re.fullmatch(r"[\d\s+().\-/]{6,}", q):
        return {"phone": q}
    if re.fullmatch(r"(GRU-)?\d{4}-\d{1,6}", q, flags=re.I):
        return {}
    return {"full_name": q}


async def _hits(db_session: AsyncSession, settings: Settings, agent: Agent, q: str) -> tuple[list, str | None]:
    if len(q.strip()) < search.MIN_QUERY_CHARACTERS:
        return [], None
    try:
        hits = await search.search_citizens(db_session, q, default_region=settings.default_region,
                                            limit=8, agent_id=agent.id)
    except InvalidInput as exc:
        return [], exc.message
    await db_session.commit()  # the access trail of the search
    return hits, None


async def _desk_page(request: Request, db_session: AsyncSession, *, q: str, hits: list, hint: str | None,
                     values: dict[str, str], errors: dict[str, str], status_code: int = 200) -> Template:
    language = page_language(request)
    categories = [(c.slug, localised_name(c, language)) for c in await active_categories(db_session)]
    if not values.get("citizen"):
        values = {**values, "citizen": str(hits[0].citizen_id) if len(hits) == 1 and hits[0].score >= 100
                  else "new"}
    return render(request, "desk.html", {
        "q": q, "hits": hits, "hint": hint, "values": values, "errors": errors, "categories": categories,
        "channels": CHANNELS, "reply_channels": REPLY_CHANNELS,
        "max_scan_mb": max(1, request.app.state.settings.attachment_max_bytes // 1_000_000),
        "submission_id": values.get("submission_id") or str(uuid.uuid4())}, status_code=status_code)


@get("/desk", include_in_schema=False, guards=[require_role(*STAFF)])
async def desk(request: Request, agent: Agent, db_session: AsyncSession, settings: Settings,
               q: str = "", partial: bool = False) -> Template:
    hits, hint = await _hits(db_session, settings, agent, q)
    if partial:
        return render(request, "desk_results.html", {"hits": hits, "hint": hint, "q": q,
                                                     "values": {"citizen": "new"}})
    values = {} if hits else prefill_from_query(q)
    return await _desk_page(request, db_session, q=q, hits=hits, hint=hint, values=values, errors={})


def _contact(values: dict[str, str], scan: ScanIn | None) -> ContactIn:
    existing = values["citizen"] not in ("", "new")
    note = values["note"].strip()
    subject = values["subject"].strip() or note.split("\n", 1)[0][:SUBJECT_FROM_NOTE]
    return ContactIn(
        channel=values["channel"] or "counter",
        citizen_id=int(values["citizen"]) if existing and values["citizen"].isdigit() else None,
        **{name: (values[name].strip() or None) for name in CITIZEN_FIELDS if not (existing and name == "full_name")},
        category=values["category"] or None, subject=subject, note=note,
        reference=values["reference"].strip() or None, reply_channel=values["reply_channel"] or None,
        resolved_on_the_spot=values["resolved_on_the_spot"] == "on",
        attachments=[scan] if scan else [])


async def _scan(upload: Any, max_bytes: int) -> ScanIn | None:
    """The uploaded file, as the service takes scans; larger than the limit: TooLarge."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge("scan too large", fields={"scan": f"larger than {max_bytes // 1_000_000} MB"})
    if not data:
        return None
    return ScanIn(filename=upload.filename[-255:], content_type=upload.content_type or "application/octet-stream",
                  data=base64.b64encode(data).decode())


@post("/desk", include_in_schema=False, status_code=303, guards=[require_role(*STAFF)])
async def log_contact(
    request: Request, agent: Agent, db_session: AsyncSession, queue: JobQueue, settings: Settings,
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Template | Redirect:
    values = {name: str(data.get(name) or "") for name in
              (*CITIZEN_FIELDS, *CONTACT_FIELDS, "citizen", "resolved_on_the_spot", "submission_id", "q")}
    errors: dict[str, str] = {}
    try:
        scan = await _scan(data.get("scan"), settings.attachment_max_bytes)
        contact = _contact(values, scan)
        accepted = await submit_contact(
            db_session, contact, agent=agent, submission_key=f"desk:{values['submission_id']}"[:200],
            default_region=settings.default_region, attachment_policy=attachment_policy(settings))
    except ValidationError as exc:
        errors = {str(e["loc"][0]): _pydantic_message(e) for e in exc.errors()}
    except DomainError as exc:
        await db_session.rollback()
        errors = {("scan" if k.startswith("attachments") else k): v for k, v in (exc.fields or {}).items()} \
            or {"form": exc.message}
    if errors:
        errors = clear_errors({("citizen" if k == "citizen_id" else k): v for k, v in errors.items()})
        return await _desk_page(request, db_session, q=values["q"], hits=[], hint=None, values=values,
                                errors=errors, status_code=400)
    await db_session.commit()
    await enqueue_processing(queue, accepted)
    return Redirect(f"/desk/receipts/{accepted.reference}", status_code=303)


@get("/desk/requests", include_in_schema=False, guards=[require_role(*STAFF)])
async def desk_lookup(request: Request, agent: Agent, db_session: AsyncSession, reference: str = "") -> Template:
    """"Where is my request?": the steps the citizen would see on /track, for the agent."""
    tracking, missing = None, False
    if reference.strip():
        try:
            tracking = await look_up_request(db_session, reference, agent_id=agent.id,
                                             language=page_language(request))
            await db_session.commit()
        except NotFound:
            missing = True
    return render(request, "desk_lookup.html", {"reference": reference.strip(), "tracking": tracking,
                                                "missing": missing}, status_code=404 if missing else 200)


def desk_router(settings: Settings) -> Router:
    """The scan comes in the form: room for one file of GUICHET_ATTACHMENT_MAX_BYTES besides
    the usual GUICHET_MAX_BODY_BYTES."""
    return Router("/", route_handlers=[desk, log_contact, desk_lookup],
                  request_max_body_size=settings.max_body_bytes + settings.attachment_max_bytes + 64_000)
