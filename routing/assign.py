"""Assign a ticket inside the caller's transaction: never twice, never over capacity."""
from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm import tickets
from crm.models import OPEN_STATUSES, EventKind, TicketEvent
from routing.models import Agent, AgentSkill, Category, Skill
from routing.policy import Candidate, Decision, choose_agent


async def _candidates(session: AsyncSession, skill: Skill | None) -> list[Candidate]:
    if skill is None:
        rows = [(agent, 0) for agent in (await session.exec(select(Agent).where(Agent.active))).all()]
    else:
        rows = list(
            (
                await session.exec(
                    select(Agent, AgentSkill.level)
                    .join(AgentSkill, AgentSkill.agent_id == Agent.id)
                    .where(AgentSkill.skill_id == skill.id, Agent.active)
                )
            ).all()
        )
    loads = await tickets.count_open_by_assignee(session, [agent.id for agent, _ in rows])
    return [
        Candidate(agent.id, agent.name, level, loads.get(agent.id, 0), agent.capacity,
                  agent.presence, agent.active)
        for agent, level in rows
    ]


async def _already_waiting(session: AsyncSession, ticket_id: int, reason: str) -> bool:
    last = (
        await session.exec(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(col(TicketEvent.id).desc())
            .limit(1)
        )
    ).first()
    return last is not None and last.kind == EventKind.UNASSIGNED.value and last.reason == reason


async def assign_ticket(session: AsyncSession, ticket_id: int) -> Decision | None:
    """Assign an open, unassigned ticket; None when there was nothing to do.

    The ticket row is locked first and the chosen agent's row next, so two
    assigners on PostgreSQL serialise on both and re-count the load they see.
    """
    ticket = await tickets.get_ticket(session, ticket_id, for_update=True)
    if ticket.assignee_id is not None or ticket.status not in {s.value for s in OPEN_STATUSES}:
        return None
    category = await session.get(Category, ticket.category_id) if ticket.category_id else None
    skill = await session.get(Skill, category.skill_id) if category and category.skill_id else None
    min_level = category.min_level if category else 1
    candidates = await _candidates(session, skill)
    while True:
        decision = choose_agent(candidates, skill=skill.slug if skill else None, min_level=min_level)
        if decision.agent_id is None:
            if not await _already_waiting(session, ticket.id, decision.reason):
                await tickets.record_event(session, ticket.id, EventKind.UNASSIGNED,
                                           reason=decision.reason)
            return decision
        await session.exec(select(Agent).where(Agent.id == decision.agent_id).with_for_update())
        load = (await tickets.count_open_by_assignee(session, [decision.agent_id])).get(
            decision.agent_id, 0)
        chosen = next(c for c in candidates if c.agent_id == decision.agent_id)
        if load < chosen.capacity:
            break
        # Someone filled this agent while we decided: look again with the true load.
        candidates = [c if c is not chosen else Candidate(**{**chosen.__dict__, "load": load})
                      for c in candidates]
    await tickets.set_assignee(session, ticket, decision.agent_id, reason=decision.reason,
                               data={"skill": skill.slug if skill else None,
                                     "eligible": decision.eligible})
    return decision
