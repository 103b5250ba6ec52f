"""What the knowledge API does: agents read the ready answers, supervisors write them, each
checked like a template at save time. Categories are named by slug at the edge."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from app.settings import Settings
from app.template_admin import category_id_of, category_slugs
from replies import knowledge
from replies.models import KnowledgeAnswer
from routing.models import Agent
from routing.supervision import require_supervisor


class AnswerIn(BaseModel):
    title: str = Field(..., min_length=1, max_length=200)
    language: str = Field(..., min_length=2, max_length=8, description="fr, en or ar")
    body: str = Field(..., min_length=1, max_length=20_000,
                      description="a template body (variables as in templates), set into the agent_reply frame")
    keywords: list[str] = Field(default_factory=list, max_length=50)
    examples: list[str] = Field(default_factory=list, max_length=50,
                                description="whole messages citizens wrote when this was the answer")
    category: str | None = Field(None, description="a category slug; none: every category")
    active: bool = True


class AnswerOut(BaseModel):
    id: int
    title: str
    language: str
    body: str
    keywords: list[str]
    examples: list[str]
    category: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


def _out(answer: KnowledgeAnswer, slugs: dict[int, str]) -> AnswerOut:
    return AnswerOut(id=answer.id, title=answer.title, language=answer.language, body=answer.body,
                     keywords=list(answer.keywords), examples=list(answer.examples),
                     category=slugs.get(answer.category_id) if answer.category_id else None,
                     active=answer.active, created_at=answer.created_at, updated_at=answer.updated_at)


async def answers_list(session: AsyncSession, *, language: str | None, category: str | None,
                       include_retired: bool) -> list[AnswerOut]:
    slugs = await category_slugs(session)
    category_id = await category_id_of(session, category)
    return [_out(a, slugs) for a in await knowledge.list_answers(
        session, language=language, category_id=category_id, include_retired=include_retired)]


async def answer_one(session: AsyncSession, answer_id: int) -> AnswerOut:
    return _out(await knowledge.get_answer(session, answer_id), await category_slugs(session))


def _fields(data: AnswerIn, settings: Settings) -> dict:
    return {"title": data.title, "language": data.language, "body": data.body, "keywords": data.keywords,
            "examples": data.examples, "sms_max_segments": settings.sms_max_segments}


async def create_answer(session: AsyncSession, settings: Settings, agent: Agent, data: AnswerIn) -> AnswerOut:
    require_supervisor(agent)
    answer = await knowledge.add_answer(session, **_fields(data, settings), created_by=agent.id,
                                        category_id=await category_id_of(session, data.category))
    answer.active = data.active
    return _out(answer, await category_slugs(session))


async def edit_answer(session: AsyncSession, settings: Settings, agent: Agent, answer_id: int,
                      data: AnswerIn) -> AnswerOut:
    require_supervisor(agent)
    answer = await knowledge.update_answer(session, answer_id, **_fields(data, settings), active=data.active,
                                           category_id=await category_id_of(session, data.category))
    return _out(answer, await category_slugs(session))


async def retire(session: AsyncSession, agent: Agent, answer_id: int) -> AnswerOut:
    require_supervisor(agent)
    return _out(await knowledge.retire_answer(session, answer_id), await category_slugs(session))
