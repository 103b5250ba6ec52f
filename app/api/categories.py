"""The categories the public form offers; which steps each tells the citizen about (agents
read, supervisors set)."""
from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, get, put
from litestar.di import Provide
from pydantic import BaseModel, Field
from routing.categories import active_categories, category_by_slug, localised_name, set_notify_steps
from routing.models import NOTIFIABLE_STEPS, Agent, Category
from routing.supervision import require_supervisor
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import provide_agent
from crm.errors import NotFound


@dataclass
class CategoryOut:
    slug: str
    name: str


@get("/api/v1/categories", tags=["categories"], summary="Categories a citizen can choose")
async def list_categories(db_session: AsyncSession, lang: str = "fr") -> list[CategoryOut]:
    return [CategoryOut(c.slug, localised_name(c, lang)) for c in await active_categories(db_session)]


class NotifyStepsIn(BaseModel):
    notify_steps: list[str] = Field(..., max_length=20, description=", ".join(NOTIFIABLE_STEPS))


class NotifyStepsOut(BaseModel):
    category: str
    notify_steps: list[str]
    known_steps: list[str]


def _steps_out(category: Category) -> NotifyStepsOut:
    return NotifyStepsOut(category=category.slug, notify_steps=list(category.notify_steps),
                          known_steps=list(NOTIFIABLE_STEPS))


class CategoryNotificationsController(Controller):
    path = "/api/v1/categories/{slug:str}/notify-steps"
    tags = ["categories"]
    dependencies = {"agent": Provide(provide_agent)}
    security = [{"BearerToken": []}]

    @get("/", summary="The steps this category tells the citizen about")
    async def read(self, slug: str, agent: Agent, db_session: AsyncSession) -> NotifyStepsOut:
        category = await category_by_slug(db_session, slug)
        if category is None:
            raise NotFound(f"no category {slug!r}")
        return _steps_out(category)

    @put("/", summary="Set the steps this category tells the citizen about (supervisors); 400 names an unknown step")
    async def write(self, slug: str, data: NotifyStepsIn, agent: Agent, db_session: AsyncSession) -> NotifyStepsOut:
        require_supervisor(agent)
        category = await set_notify_steps(db_session, slug, data.notify_steps)
        await db_session.commit()
        return _steps_out(category)
