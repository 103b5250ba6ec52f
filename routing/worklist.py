"""An agent's work list across channels: their tickets, their teams' tickets, and the unassigned
tickets they may take, filtered and sorted by SLA due time; and a cheap "version" of it that
changes whenever the list would (the live page polls it).

"May take" is read in SQL, roughly as the router does: open, not escalated, in one of the agent's
teams (or in none), and a category whose skill the agent has at any level (or needs none). The
take itself (routing.supervision.take_ticket) checks the exact rule and says why when it refuses.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.errors import InvalidInput
from crm.models import Citizen, Ticket
from routing.assign import OPEN
from routing.models import Agent, AgentSkill, AgentTeam, Category, TicketRouting

TABS = ("mine", "team", "unassigned")
SLA_STATES = ("ok", "at_risk", "breached")
PER_PAGE = 25


@dataclass(frozen=True)
class QueueFilters:
    channel: str | None = None
    category: str | None = None  # slug
    status: str | None = None  # None: the open statuses
    sla_state: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class QueueRow:
    reference: str
    citizen_name: str
    channel: str
    category_id: int | None
    subject: str
    status: str
    priority: str
    sla_state: str
    due_at: datetime | None  # first response, then resolution once answered
    language: str | None
    assignee_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class QueuePage:
    tab: str
    rows: list[QueueRow] = field(default_factory=list)
    page: int = 1
    pages: int = 1
    total: int = 0


async def _ids(session: AsyncSession, agent_id: int) -> tuple[list[int], list[int]]:
    teams = list((await session.exec(select(AgentTeam.team_id).where(AgentTeam.agent_id == agent_id))).all())
    skills = list((await session.exec(select(AgentSkill.skill_id).where(AgentSkill.agent_id == agent_id))).all())
    return teams, skills


def _scope(tab: str, agent_id: int, teams: list[int], skills: list[int]):
    if tab == "mine":
        return Ticket.assignee_id == agent_id
    if tab == "team":
        return col(TicketRouting.team_id).in_(teams)
    return and_(col(Ticket.assignee_id).is_(None), col(Ticket.status).in_(OPEN),
                col(TicketRouting.escalated).is_not(True),
                or_(col(TicketRouting.team_id).is_(None), col(TicketRouting.team_id).in_(teams)),
                or_(col(Ticket.category_id).is_(None), col(Category.skill_id).is_(None),
                    col(Category.skill_id).in_(skills)))


def _due():
    return case((col(TicketRouting.first_responded_at).is_(None), col(TicketRouting.first_response_due_at)),
                else_=col(TicketRouting.resolution_due_at))


async def agent_queue(session: AsyncSession, agent: Agent, tab: str, filters: QueueFilters, *,
                      page: int = 1, per_page: int = PER_PAGE) -> QueuePage:
    """One page of a tab, the soonest due first (no due time last, then the oldest)."""
    if tab not in TABS:
        raise InvalidInput(f"tab is one of {', '.join(TABS)}", fields={"tab": "unknown tab"})
    teams, skills = await _ids(session, agent.id)
    conditions = [_scope(tab, agent.id, teams, skills)]
    conditions.append(col(Ticket.status).in_(OPEN) if not filters.status else Ticket.status == filters.status)
    if filters.channel:
        conditions.append(Ticket.origin_channel == filters.channel)
    if filters.category:
        conditions.append(Category.slug == filters.category)
    if filters.sla_state:
        conditions.append(func.coalesce(TicketRouting.sla_state, "ok") == filters.sla_state)
    if filters.language:
        conditions.append(Ticket.language == filters.language)

    def joined(statement):
        return (statement.join(Citizen, col(Citizen.id) == Ticket.citizen_id)
                .join(TicketRouting, col(TicketRouting.ticket_id) == Ticket.id, isouter=True)
                .join(Category, col(Category.id) == Ticket.category_id, isouter=True).where(*conditions))

    total = (await session.exec(joined(select(func.count(col(Ticket.id)))))).one()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    due = _due()
    rows = (await session.exec(
        joined(select(Ticket, Citizen.full_name, TicketRouting.sla_state, due))
        .order_by(due.is_(None), due, col(Ticket.created_at), col(Ticket.id))
        .offset((page - 1) * per_page).limit(per_page))).all()
    return QueuePage(tab, [
        QueueRow(t.reference, name, t.origin_channel, t.category_id, t.subject, t.status, t.priority,
                 sla or "ok", due_at, t.language, t.assignee_id, t.created_at)
        for t, name, sla, due_at in rows], page, pages, total)


async def queue_version(session: AsyncSession, agent_id: int) -> str:
    """Changes when a ticket of the agent, of their teams or waiting unassigned changes (the
    assignment, status and messages all touch `updated_at`), or when one enters or leaves."""
    teams, _ = await _ids(session, agent_id)
    scope = or_(Ticket.assignee_id == agent_id, col(Ticket.assignee_id).is_(None),
                col(TicketRouting.team_id).in_(teams))
    latest, count = (await session.exec(
        select(func.max(Ticket.updated_at), func.count(col(Ticket.id)))
        .join(TicketRouting, col(TicketRouting.ticket_id) == Ticket.id, isouter=True)
        .where(scope, col(Ticket.status).in_(OPEN)))).one()
    return f"{latest.isoformat() if isinstance(latest, datetime) else latest}/{count}"


async def routing_of(session: AsyncSession, ticket_id: int) -> TicketRouting | None:
    """The ticket's SLA clock and queue (None before the router has seen it)."""
    return await session.get(TicketRouting, ticket_id)
