"""Citizens, for authenticated agents: search-as-you-type."""
from __future__ import annotations

from dataclasses import dataclass

from litestar import get
from litestar.di import Provide
from litestar.params import Parameter
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import provide_agent
from app.settings import Settings
from crm import search
from routing.models import Agent


@dataclass
class CitizenHitOut:
    id: int
    full_name: str
    contact_points: list[str]  # masked: "n…@example.org", "+33 6 •• •• •• 78"
    matched: str  # why: "phone", "email", "national id", "reference GRU-2026-000042", "name 91%"
    score: int  # 0-100


@dataclass
class CitizenSearchOut:
    results: list[CitizenHitOut]


@get("/api/v1/citizens/search", tags=["citizens"], dependencies={"agent": Provide(provide_agent)},
     summary="Find a citizen by name, phone, email, national id or ticket reference (as you type)",
     security=[{"BearerToken": []}])
async def search_citizens(
    agent: Agent, db_session: AsyncSession, settings: Settings,
    q: str = Parameter(default="", description="at least 2 characters; never logged nor stored"),
    limit: int = Parameter(default=10, ge=1, le=search.MAX_LIMIT),
) -> CitizenSearchOut:
    hits = await search.search_citizens(db_session, q, default_region=settings.default_region,
                                        limit=limit, agent_id=agent.id)
    await db_session.commit()
    return CitizenSearchOut([CitizenHitOut(h.citizen_id, h.full_name, h.contact_points, h.matched, h.score)
                             for h in hits])
