"""The knowledge base: ready answers suggestions offer beside templates. Every agent reads;
supervisors create, edit and retire (an answer is kept, as replies sent from it name it)."""
from __future__ import annotations

from litestar import Controller, delete, get, post, put
from litestar.di import Provide
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import provide_agent
from app.knowledge_admin import AnswerIn, AnswerOut, answer_one, answers_list, create_answer, edit_answer, retire
from app.settings import Settings
from routing.models import Agent


class KnowledgeController(Controller):
    path = "/api/v1/knowledge"
    tags = ["knowledge"]
    dependencies = {"agent": Provide(provide_agent)}
    security = [{"BearerToken": []}]

    @get("/", summary="The answers, by title; filtered by language and category slug")
    async def list_answers(self, agent: Agent, db_session: AsyncSession, language: str | None = None,
                           category: str | None = None, include_retired: bool = False) -> list[AnswerOut]:
        return await answers_list(db_session, language=language, category=category,
                                  include_retired=include_retired)

    @get("/{answer_id:int}", summary="One answer")
    async def one(self, answer_id: int, agent: Agent, db_session: AsyncSession) -> AnswerOut:
        return await answer_one(db_session, answer_id)

    @post("/", summary="A new answer (supervisors); 400 says what is wrong", status_code=201)
    async def create(self, data: AnswerIn, agent: Agent, db_session: AsyncSession, settings: Settings) -> AnswerOut:
        created = await create_answer(db_session, settings, agent, data)
        await db_session.commit()
        return created

    @put("/{answer_id:int}", summary="Rewrite an answer (supervisors), checked like a new one")
    async def edit(self, answer_id: int, data: AnswerIn, agent: Agent, db_session: AsyncSession,
                   settings: Settings) -> AnswerOut:
        edited = await edit_answer(db_session, settings, agent, answer_id, data)
        await db_session.commit()
        return edited

    @delete("/{answer_id:int}", summary="Retire an answer (supervisors): no longer suggested", status_code=200)
    async def remove(self, answer_id: int, agent: Agent, db_session: AsyncSession) -> AnswerOut:
        retired = await retire(db_session, agent, answer_id)
        await db_session.commit()
        return retired
