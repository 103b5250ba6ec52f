"""Several assigners at once on real PostgreSQL: no ticket assigned twice, no agent over capacity."""
from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from app.db import make_engine, make_sessionmaker
from crm.models import Citizen, EventKind, Ticket, TicketEvent
from routing.agents import create_agent
from routing.assign import RoutingConfig, assign_ticket
from routing.categories import upsert_category
from routing.policy import RoutingRules
from tests.conftest import PG_URL, pg_database

AGENTS, CAPACITY, TICKETS, ASSIGNERS = 5, 3, 40, 8

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (CI=true makes its absence a failure)")


async def test_concurrent_assigners_never_double_assign_nor_overfill(pg_template: str) -> None:
    async with pg_database(template=pg_template) as url:
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        try:
            async with sessions() as session:
                category = await upsert_category(session, slug="etat_civil", name="État civil", names={},
                                                 skill_slug="etat_civil")
                for n in range(AGENTS):
                    await create_agent(session, email=f"agent{n}@test.fr", name=f"Agent {n}", role="agent",
                                       skills={"etat_civil": 3}, capacity=CAPACITY)
                citizen = Citizen(full_name="Nadia Amrani")
                session.add(citizen)
                await session.flush()
                for n in range(TICKETS):
                    session.add(Ticket(reference=f"GRU-2026-{n + 1:06d}", citizen_id=citizen.id,
                                       category_id=category.id, origin_channel="webform", reply_channel="email"))
                await session.commit()
                ids = list((await session.exec(select(Ticket.id))).all())

            config = RoutingConfig(RoutingRules(None, None))

            async def assigner(seed: int) -> int:
                order = ids[:]
                random.Random(seed).shuffle(order)
                done = 0
                for ticket_id in order:
                    async with sessions() as session:
                        decision = await assign_ticket(session, ticket_id, config)
                        await session.commit()
                        done += bool(decision and decision.agent_id)
                return done

            results = await asyncio.gather(*(assigner(seed) for seed in range(ASSIGNERS)))

            async with sessions() as session:
                loads = dict((await session.exec(
                    select(Ticket.assignee_id, func.count()).where(col(Ticket.assignee_id).is_not(None))
                    .group_by(Ticket.assignee_id))).all())
                assigned_events = dict((await session.exec(
                    select(TicketEvent.ticket_id, func.count())
                    .where(TicketEvent.kind == EventKind.ASSIGNED.value)
                    .group_by(TicketEvent.ticket_id))).all())
        finally:
            await engine.dispose()
    assert sum(results) == AGENTS * CAPACITY  # each success was a distinct, real assignment
    assert len(loads) == AGENTS and max(loads.values()) == CAPACITY  # full, never over
    assert len(assigned_events) == AGENTS * CAPACITY and set(assigned_events.values()) == {1}
