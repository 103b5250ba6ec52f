"""What the ticket page shows an agent, gathered in one call: the ticket (read recorded, as the
API does), the citizen's whole history across channels, duplicate suggestions, the SLA clock,
suggested answers and the templates an agent may start a reply from."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from app.agent_reply import SuggestionsOut, WRITERS, suggestions
from app.settings import Settings
from app.ticket_view import TicketOut, ticket_for_agent
from crm import tickets
from crm.duplicates import CitizenSummary, DuplicateView, duplicates_of
from crm.models import TicketStatus
from crm.timeline import Timeline, citizen_timeline
from replies.models import Step, Template
from replies.templates import list_templates
from routing.models import Agent, TicketRouting
from routing.supervision import SUPERVISORS
from routing.worklist import routing_of

HISTORY_ENTRIES = 100


@dataclass
class Workspace:
    ticket: TicketOut
    history: Timeline
    duplicates: list[tuple[DuplicateView, CitizenSummary]]
    routing: TicketRouting | None
    suggestions: SuggestionsOut | None
    templates: list[Template] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    may_reply: bool = False  # the holder, or a supervisor
    may_change: bool = False


async def ticket_workspace(session: AsyncSession, settings: Settings, agent: Agent, reference: str) -> Workspace:
    view = await ticket_for_agent(session, reference, agent)
    found = await tickets.find_by_reference(session, reference)
    history = await citizen_timeline(session, view.citizen.id, limit=HISTORY_ENTRIES, agent_id=agent.id)
    holder_or_supervisor = found.assignee_id == agent.id or agent.role in SUPERVISORS
    writer = agent.role in WRITERS
    return Workspace(
        ticket=view, history=history,
        duplicates=await duplicates_of(session, view.citizen.id, agent_id=agent.id),
        routing=await routing_of(session, found.id),
        suggestions=await suggestions(session, settings, agent, reference) if writer else None,
        templates=await list_templates(session, step=Step.AGENT_REPLY.value,
                                       language=found.language or settings.default_language) if writer else [],
        statuses=[s.value for s in TicketStatus],
        may_reply=writer and holder_or_supervisor, may_change=holder_or_supervisor)
