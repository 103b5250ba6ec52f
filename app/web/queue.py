"""/queue: one work list across channels (mine, my teams', unassigned I may take), filtered with a
plain GET form, the soonest SLA due time first; "take" goes through routing's take_ticket.

`?partial=true` answers the table alone: static/live.js reloads it when /events says the queue
changed."""
from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.settings import Settings, routing_config
from app.web.guard import require_role
from app.web.pages import page_language, render
from crm.errors import DomainError
from crm.models import TicketStatus
from crm.types import Channel
from routing.categories import active_categories, localised_name
from routing.models import Agent, Role
from routing.supervision import take_ticket
from routing.worklist import SLA_STATES, TABS, QueueFilters, agent_queue

WORKERS = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
TAB_LABELS = {"mine": "Mine", "team": "My team's", "unassigned": "Unassigned I may take"}
CHANNEL_LABELS = {Channel.EMAIL.value: ("✉", "Email"), Channel.SMS.value: ("✆", "SMS"),
                  Channel.WEBFORM.value: ("⌨", "Web form"), Channel.PHONE.value: ("☎", "Phone call"),
                  Channel.COUNTER.value: ("⌂", "Walk-in"), Channel.LETTER.value: ("✉", "Paper letter")}
SLA_LABELS = {"ok": "On time", "at_risk": "At risk", "breached": "Breached"}
LANGUAGES = ("fr", "en", "ar")


def _choice(value: str, allowed) -> str | None:
    return value if value in allowed else None


async def _queue_page(request: Request, agent: Agent, db_session: AsyncSession, *, tab: str, filters: QueueFilters,
                      page: int, partial: bool = False, error: str | None = None, status_code: int = 200) -> Template:
    language = page_language(request)
    result = await agent_queue(db_session, agent, tab, filters, page=page)
    categories = await active_categories(db_session)
    context = {
        "result": result, "tab": tab, "filters": filters, "error": error,
        "tabs": [(t, TAB_LABELS[t]) for t in TABS], "channel_labels": CHANNEL_LABELS, "sla_labels": SLA_LABELS,
        "category_names": {c.id: localised_name(c, language) for c in categories},
        "categories": [(c.slug, localised_name(c, language)) for c in categories],
        "statuses": [s.value for s in TicketStatus], "sla_states": SLA_STATES, "languages": LANGUAGES,
        "query": {"tab": tab, "channel": filters.channel or "", "category": filters.category or "",
                  "status": filters.status or "", "sla": filters.sla_state or "", "language": filters.language or ""},
    }
    return render(request, "queue_table.html" if partial else "queue.html", context, status_code=status_code)


@get("/queue", include_in_schema=False, guards=[require_role(*WORKERS)])
async def queue_page(request: Request, agent: Agent, db_session: AsyncSession, tab: str = "mine", channel: str = "",
                     category: str = "", status: str = "", sla: str = "", language: str = "", page: int = 1,
                     partial: bool = False) -> Template:
    filters = QueueFilters(channel=_choice(channel, CHANNEL_LABELS), category=category.strip()[:64] or None,
                           status=_choice(status, {s.value for s in TicketStatus}),
                           sla_state=_choice(sla, SLA_STATES), language=_choice(language, LANGUAGES))
    return await _queue_page(request, agent, db_session, tab=tab if tab in TABS else "mine", filters=filters,
                             page=page, partial=partial)


@post("/queue/take", include_in_schema=False, status_code=303, guards=[require_role(*WORKERS)])
async def take(request: Request, agent: Agent, db_session: AsyncSession, settings: Settings,
               data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
               ) -> Template | Redirect:
    """Take an unassigned ticket, then open it; refused (already taken, not eligible, at capacity):
    the queue again, saying why."""
    reference = (data.get("reference") or "").strip().upper()[:40]
    try:
        ticket = await take_ticket(db_session, reference, agent=agent, config=routing_config(settings))
    except DomainError as exc:
        await db_session.rollback()
        return await _queue_page(request, agent, db_session, tab="unassigned", filters=QueueFilters(), page=1,
                                 error=f"{reference}: {exc.message}", status_code=exc.status_code)
    await db_session.commit()
    return Redirect(f"/tickets/{ticket.reference}", status_code=303)
