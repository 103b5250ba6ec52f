"""The variables a reply template sees, gathered from crm and routing."""
from __future__ import annotations

from typing import Any

from crm.models import Citizen, Ticket
from crm.threading import short_reference
from routing.categories import localised_name
from routing.models import Agent, Category
from sqlmodel.ext.asyncio.session import AsyncSession

from app.settings import Settings


async def reply_context(session: AsyncSession, ticket: Ticket, settings: Settings) -> dict[str, Any]:
    citizen = await session.get(Citizen, ticket.citizen_id)
    agent = await session.get(Agent, ticket.assignee_id) if ticket.assignee_id else None
    category = await session.get(Category, ticket.category_id) if ticket.category_id else None
    language = ticket.language or settings.default_language
    name = (citizen.full_name if citizen else "") or None
    service = help_context(settings)
    return {
        "citizen": {"name": name, "first_name": name.split()[0] if name else None},
        "ticket": {
            "reference": ticket.reference,
            # What an SMS carries: "2026-42", which SMS threading finds in a reply.
            "short_reference": short_reference(ticket.reference),
            "subject": ticket.subject,
            "status": ticket.status,
            "category": localised_name(category, language) if category else None,
        },
        "agent": {"name": agent.name if agent else None,
                  "first_name": agent.name.split()[0] if agent and agent.name else None},
        "service": service["service"],
        "links": {**service["links"],
                  "tracking": f"{settings.public_url.rstrip('/')}/track?reference={ticket.reference}"},
    }


def help_context(settings: Settings) -> dict[str, Any]:
    """What the answer to an SMS HELP sees: about the service, not about any request."""
    return {"service": {"name": settings.service_name},
            "links": {"request": f"{settings.public_url.rstrip('/')}/request"}}


def sample_context() -> dict[str, Any]:
    """Data a template must render on before it is saved."""
    return {
        "citizen": {"name": "Amina Benali", "first_name": "Amina"},
        "ticket": {"reference": "GRU-2026-000042", "short_reference": "2026-42", "subject": "Acte de naissance",
                   "status": "open", "category": "État civil"},
        "agent": {"name": "Karim Haddad", "first_name": "Karim"},
        "service": {"name": "Mairie"},
        "links": {"tracking": "http://127.0.0.1:8000/track?reference=GRU-2026-000042",
                  "request": "http://127.0.0.1:8000/request"},
    }


def sample_help_context() -> dict[str, Any]:
    return {"service": {"name": "Mairie"}, "links": {"request": "http://127.0.0.1:8000/request"}}
