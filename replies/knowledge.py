"""The knowledge base: ready answers to what citizens often ask, validated like a template."""
from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.columns import utcnow
from crm.errors import InvalidInput, NotFound
from replies.models import KnowledgeAnswer, Step
from replies.rendering import LETTER, Draft, validate_template

LANGUAGES = ("fr", "en", "ar")


def _checked(title: str, language: str, body: str, keywords: list[str], examples: list[str],
             sms_max_segments: int) -> dict:
    """The fields as stored, after the checks of an agent_reply template (InvalidInput naming the
    rule): an answer is set into that frame, on any channel, so it must render on every one."""
    language = language.strip().lower()
    if language not in LANGUAGES:
        raise InvalidInput(f"unknown language {language!r}; known: {', '.join(LANGUAGES)}",
                           fields={"language": "unknown language"})
    if not title.strip():
        raise InvalidInput("an answer needs a title", fields={"title": "required"})
    keywords = [k.strip() for k in keywords if k.strip()]
    examples = [e.strip() for e in examples if e.strip()]
    if not (keywords or examples):
        raise InvalidInput("give keywords or example messages: suggestions find an answer by them",
                           fields={"keywords": "keywords or examples required"})
    validate_template(Draft(step=Step.AGENT_REPLY.value, channel=LETTER, language=language, body=body),
                      sms_max_segments=sms_max_segments)
    return {"title": title.strip(), "language": language, "body": body, "keywords": keywords,
            "examples": examples}


async def add_answer(session: AsyncSession, *, title: str, language: str, body: str, keywords: list[str],
                     examples: list[str], category_id: int | None = None, created_by: int | None = None,
                     sms_max_segments: int = 3) -> KnowledgeAnswer:
    """Store an answer after the checks of an agent_reply template (InvalidInput naming the rule)."""
    answer = KnowledgeAnswer(**_checked(title, language, body, keywords, examples, sms_max_segments),
                             category_id=category_id, created_by=created_by)
    session.add(answer)
    await session.flush()
    return answer


async def get_answer(session: AsyncSession, answer_id: int) -> KnowledgeAnswer:
    answer = await session.get(KnowledgeAnswer, answer_id)
    if answer is None:
        raise NotFound(f"no answer {answer_id} in the knowledge base")
    return answer


async def update_answer(session: AsyncSession, answer_id: int, *, title: str, language: str, body: str,
                        keywords: list[str], examples: list[str], category_id: int | None, active: bool = True,
                        sms_max_segments: int = 3) -> KnowledgeAnswer:
    """The answer rewritten in place (what agents chose it for stays learnt), checked like a new
    one; `updated_at` tells the suggestions' index to rebuild."""
    answer = await get_answer(session, answer_id)
    for name, value in _checked(title, language, body, keywords, examples, sms_max_segments).items():
        setattr(answer, name, value)
    answer.category_id, answer.active, answer.updated_at = category_id, active, utcnow()
    await session.flush()
    return answer


async def retire_answer(session: AsyncSession, answer_id: int) -> KnowledgeAnswer:
    """No longer suggested nor offered; kept, as replies sent from it name it."""
    answer = await get_answer(session, answer_id)
    answer.active, answer.updated_at = False, utcnow()
    await session.flush()
    return answer


async def list_answers(session: AsyncSession, *, language: str | None = None, category_id: int | None = None,
                       include_retired: bool = False) -> list[KnowledgeAnswer]:
    query = select(KnowledgeAnswer)
    if language:
        query = query.where(KnowledgeAnswer.language == language.strip().lower())
    if category_id is not None:
        query = query.where(KnowledgeAnswer.category_id == category_id)
    if not include_retired:
        query = query.where(KnowledgeAnswer.active)
    return list((await session.exec(query.order_by(col(KnowledgeAnswer.title), col(KnowledgeAnswer.id)))).all())


async def find_answer(session: AsyncSession, title: str, language: str) -> KnowledgeAnswer | None:
    return (await session.exec(select(KnowledgeAnswer).where(KnowledgeAnswer.title == title,
                                                             KnowledgeAnswer.language == language))).first()
