"""Reply templates: read by every agent; saved, rolled back by supervisors; validated and
previewed on a real ticket before anything is sent."""
from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import Provide
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import provide_agent
from app.settings import Settings
from app.template_admin import (
    PreviewIn,
    PreviewOut,
    RollbackIn,
    SavedOut,
    TemplateIn,
    TemplateOut,
    ValidationOut,
    check_draft,
    preview,
    roll_back,
    save_version,
    template_one,
    template_versions,
    templates_list,
)
from routing.models import Agent


class TemplatesController(Controller):
    path = "/api/v1/templates"
    tags = ["templates"]
    dependencies = {"agent": Provide(provide_agent)}
    security = [{"BearerToken": []}]

    @get("/", summary="The active version of each template, filtered")
    async def list_active(self, agent: Agent, db_session: AsyncSession, step: str | None = None,
                          language: str | None = None, channel: str | None = None,
                          category: str | None = None) -> list[TemplateOut]:
        return await templates_list(db_session, step=step, language=language, channel=channel, category=category)

    @get("/{template_id:int}", summary="One version of a template")
    async def one(self, template_id: int, agent: Agent, db_session: AsyncSession) -> TemplateOut:
        return await template_one(db_session, template_id)

    @get("/{template_id:int}/history", summary="Every version of the template's slot, newest first")
    async def history(self, template_id: int, agent: Agent, db_session: AsyncSession) -> list[TemplateOut]:
        return await template_versions(db_session, template_id)

    @post("/", summary="Save a template: a new active version of its slot (supervisors); 400 says what is wrong",
          status_code=201)
    async def save(self, data: TemplateIn, agent: Agent, db_session: AsyncSession, settings: Settings) -> SavedOut:
        saved = await save_version(db_session, settings, agent, data)
        await db_session.commit()
        return saved

    @post("/{template_id:int}/rollback", summary="A new active version copying this one (supervisors)",
          status_code=201)
    async def rollback(self, template_id: int, data: RollbackIn, agent: Agent, db_session: AsyncSession,
                       settings: Settings) -> SavedOut:
        saved = await roll_back(db_session, settings, agent, template_id, data)
        await db_session.commit()
        return saved

    @post("/validate", summary="Every check of a save, without saving", status_code=200)
    async def dry_run(self, data: TemplateIn, agent: Agent, settings: Settings) -> ValidationOut:
        return check_draft(settings, data)

    @post("/preview", summary="A template, or a draft, rendered on a real ticket", status_code=200)
    async def preview_on_ticket(self, data: PreviewIn, agent: Agent, db_session: AsyncSession,
                      settings: Settings) -> PreviewOut:
        return await preview(db_session, settings, data)
