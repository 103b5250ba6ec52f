"""The receipt an agent prints (or shows) for the citizen: the reference, the tracking code and
how it goes on. Two doors: /desk/receipts/… for a signed-in agent, /receipts/… with a Bearer token."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from litestar import Request, get
from litestar.di import Provide
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import provide_agent
from app.settings import Settings
from app.tracking import display_code, tracking_code
from app.web.guard import STAFF, require_role
from app.web.i18n import page_context, pick_language
from app.web.pages import page_language, render
from crm.errors import NotFound
from crm.models import AccessRecord, Citizen, TicketStatus
from crm.tickets import find_by_reference
from routing.categories import localised_name
from routing.models import Agent, Category

# How the citizen will be answered, by the ticket's reply channel (msgids, translated in the page).
ANSWERED_BY = {
    "email": "We will answer you by email.",
    "sms": "We will answer you by SMS.",
    "letter": "We will answer you by post.",
    "phone": "We will call you back.",
}


async def receipt_context(session: AsyncSession, settings: Settings, secret: str, reference: str, *,
                          agent_id: int, language: str) -> dict[str, Any]:
    """What the receipt shows; a reference the pipeline has not turned into a ticket yet (it
    runs after the commit) gives the reference and code alone, marked pending."""
    code = display_code(tracking_code(secret, reference))
    track_url = f"{settings.public_url.rstrip('/')}/track"
    try:
        ticket = await find_by_reference(session, reference)
    except NotFound:
        if not reference.strip().upper().startswith("GRU-"):
            raise
        return {"reference": reference.strip().upper(), "tracking_code": code, "pending": True,
                "track_url": track_url}
    citizen = await session.get(Citizen, ticket.citizen_id)
    category = await session.get(Category, ticket.category_id) if ticket.category_id else None
    session.add(AccessRecord(agent_id=agent_id, action="receipt", subject_type="ticket", subject_id=ticket.id))
    return {
        "reference": ticket.reference, "tracking_code": code, "pending": False, "track_url": track_url,
        "received_at": format_datetime(ticket.created_at, format="long", tzinfo=ZoneInfo(settings.timezone),
                                       locale=language),
        "citizen_name": citizen.full_name if citizen else "",
        "category": localised_name(category, language) if category else None,
        "subject": ticket.subject, "answered_by": ANSWERED_BY.get(ticket.reply_channel),
        "resolved": ticket.status in (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value),
    }


@get("/receipts/{reference:str}", include_in_schema=False, dependencies={"agent": Provide(provide_agent)})
async def receipt(request: Request, reference: str, agent: Agent, db_session: AsyncSession, settings: Settings,
                  lang: str | None = None) -> Template:
    """Agents only (Bearer): it names the citizen, and citizens get their own way in with /track."""
    language = pick_language(lang, settings.default_language)
    context = await receipt_context(db_session, settings, request.app.state.secret_key, reference,
                                    agent_id=agent.id, language=language)
    if context["pending"]:
        raise NotFound("no ticket with this reference")
    await db_session.commit()
    return Template(template_name="receipt.html", context={
        **page_context(language), "service_name": settings.service_name, **context})


@get("/desk/receipts/{reference:str}", include_in_schema=False, guards=[require_role(*STAFF)])
async def desk_receipt(request: Request, reference: str, agent: Agent, db_session: AsyncSession,
                       settings: Settings) -> Template:
    """The receipt for the agent who just logged a contact (or looked a request up)."""
    context = await receipt_context(db_session, settings, request.app.state.secret_key, reference,
                                    agent_id=agent.id, language=page_language(request))
    await db_session.commit()
    return render(request, "receipt.html", context)
