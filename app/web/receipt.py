"""The receipt an agent prints (or shows) for the citizen: the reference and how it goes on."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from litestar import get
from litestar.di import Provide
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import provide_agent
from app.settings import Settings
from app.web.i18n import page_context, pick_language
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


@get("/receipts/{reference:str}", include_in_schema=False, dependencies={"agent": Provide(provide_agent)})
async def receipt(reference: str, agent: Agent, db_session: AsyncSession, settings: Settings,
                  lang: str | None = None) -> Template:
    """Agents only (Bearer): it names the citizen, and citizens get their own way in with /track."""
    language = pick_language(lang, settings.default_language)
    ticket = await find_by_reference(db_session, reference)
    citizen = await db_session.get(Citizen, ticket.citizen_id)
    category = await db_session.get(Category, ticket.category_id) if ticket.category_id else None
    db_session.add(AccessRecord(agent_id=agent.id, action="receipt", subject_type="ticket", subject_id=ticket.id))
    await db_session.commit()
    return Template(template_name="receipt.html", context={
        **page_context(language), "service_name": settings.service_name, "reference": ticket.reference,
        "received_at": format_datetime(ticket.created_at, format="long", tzinfo=ZoneInfo(settings.timezone),
                                       locale=language),
        "citizen_name": citizen.full_name if citizen else "",
        "category": localised_name(category, language) if category else None,
        "subject": ticket.subject, "answered_by": ANSWERED_BY.get(ticket.reply_channel),
        "resolved": ticket.status in (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value),
    })
