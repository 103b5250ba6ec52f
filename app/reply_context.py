"""The variables a reply template sees (replies.rendering.SCHEMA), gathered from crm and routing."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, get_day_names
from sqlmodel.ext.asyncio.session import AsyncSession

from app.settings import Settings, secret_key
from crm.columns import utcnow
from crm.models import Citizen, Ticket
from crm.threading import short_reference
from replies.models import Step
from replies.rendering import salutation, status_label, step_label
from replies.survey import SCORES, survey_links
from routing.categories import localised_name
from routing.models import Agent, Category, Team, TicketRouting

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = {"fr": ("du {first} au {last}, de {start} à {end}", "{days}, de {start} à {end}"),
          "en": ("{first} to {last}, {start}–{end}", "{days}, {start}–{end}"),
          "ar": ("من {first} إلى {last}، {start}–{end}", "{days}، {start}–{end}")}


def opening_hours_text(spec: dict[str, Any] | None, language: str) -> str | None:
    """"du lundi au vendredi, de 08:30 à 17:00" from a team's {"days", "start", "end"} spec; None
    for other shapes (per-day intervals), which a sentence would misstate."""
    if not spec or not {"days", "start", "end"} <= set(spec):
        return None
    days = [d for d in DAYS if d in spec["days"]]
    if not days:
        return None
    locale = language if language in _HOURS else "en"
    names = get_day_names("wide", locale=locale)
    name = {d: names[i] for i, d in enumerate(DAYS)}
    span, listed = _HOURS[locale]
    first, last = DAYS.index(days[0]), DAYS.index(days[-1])
    if len(days) > 2 and days == list(DAYS[first:last + 1]):
        return span.format(first=name[days[0]], last=name[days[-1]], start=spec["start"], end=spec["end"])
    return listed.format(days=", ".join(name[d] for d in days), start=spec["start"], end=spec["end"])


def _citizen(citizen: Citizen | None, language: str) -> dict[str, Any]:
    name = (citizen.full_name if citizen else "").strip() or None
    first = (citizen.first_name if citizen else None) or (name.split()[0] if name and " " in name else None)
    last = (citizen.last_name if citizen else None) or (name.split(maxsplit=1)[1] if first and name else None)
    return {"name": name, "first_name": first, "last_name": last, "salutation": salutation(name, language)}


async def reply_context(session: AsyncSession, ticket: Ticket, settings: Settings,
                        step: str = Step.ACKNOWLEDGEMENT.value, language: str | None = None) -> dict[str, Any]:
    """The ticket as its template sees it; labels and dates in `language` (default: the ticket's)."""
    citizen = await session.get(Citizen, ticket.citizen_id)
    agent = await session.get(Agent, ticket.assignee_id) if ticket.assignee_id else None
    category = await session.get(Category, ticket.category_id) if ticket.category_id else None
    team = await session.get(Team, category.team_id) if category and category.team_id else None
    state = await session.get(TicketRouting, ticket.id)
    return context_of(ticket, settings, citizen=citizen, agent=agent, category=category, team=team, state=state,
                      step=step, language=language)


def context_of(ticket: Any, settings: Settings, *, citizen: Any, agent: Any, category: Any, team: Any, state: Any,
               step: str = Step.ACKNOWLEDGEMENT.value, language: str | None = None) -> dict[str, Any]:
    """reply_context from rows the caller has (a batch's new tickets, not loaded as ORM objects):
    anything with the attributes reply_context reads of each."""
    language = language or ticket.language or settings.default_language
    due = state.resolution_due_at if state else None
    service = help_context(settings)
    service["service"]["opening_hours"] = opening_hours_text(team.opening_hours if team else None, language)
    return {
        "citizen": _citizen(citizen, language),
        "ticket": {
            "reference": ticket.reference,
            # What an SMS carries: "2026-42", which SMS threading finds in a reply.
            "short_reference": short_reference(ticket.reference),
            "subject": ticket.subject,
            "status": status_label(ticket.status, language),
            "step": step_label(step, language),
            "category": localised_name(category, language) if category else None,
            "due_date": format_date(due.astimezone(ZoneInfo(settings.timezone)), "full",
                                    locale=language if language in ("fr", "en", "ar") else "en") if due else None,
        },
        "agent": {"name": agent.name if agent else None,
                  "first_name": agent.name.split()[0] if agent and agent.name else None,
                  "signature": f"{agent.name}\n{settings.service_name}" if agent and agent.name else None},
        "service": service["service"],
        "links": {**service["links"],
                  "tracking": f"{settings.public_url.rstrip('/')}/track?reference={ticket.reference}",
                  **(survey_links(secret_key(settings), settings.public_url, ticket.id, utcnow())
                     if step == Step.SATISFACTION_SURVEY.value else {})},
    }


def help_context(settings: Settings) -> dict[str, Any]:
    """What the answer to an SMS HELP sees: about the service, not about any request."""
    return {"service": {"name": settings.service_name, "opening_hours": None},
            "links": {"request": f"{settings.public_url.rstrip('/')}/request", "tracking": None,
                      "survey": None, **{f"survey_{n}": None for n in SCORES}}}
