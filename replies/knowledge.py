"""The knowledge base: ready answers to what citizens often ask, validated like a template."""
from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from replies.models import KnowledgeAnswer, Step
from replies.rendering import LETTER, Draft, validate_template


async def add_answer(session: AsyncSession, *, title: str, language: str, body: str, keywords: list[str],
                     examples: list[str], category_id: int | None = None, created_by: int | None = None,
                     sms_max_segments: int = 3) -> KnowledgeAnswer:
    """Store an answer after the checks of an agent_reply template (InvalidInput naming the rule)."""
    validate_template(Draft(step=Step.AGENT_REPLY.value, channel=LETTER, language=language, body=body),
                      sms_max_segments=sms_max_segments)
    answer = KnowledgeAnswer(title=title.strip(), language=language, body=body, category_id=category_id,
                             keywords=[k.strip() for k in keywords if k.strip()],
                             examples=[e.strip() for e in examples if e.strip()], created_by=created_by)
    session.add(answer)
    await session.flush()
    return answer


async def find_answer(session: AsyncSession, title: str, language: str) -> KnowledgeAnswer | None:
    return (await session.exec(select(KnowledgeAnswer).where(KnowledgeAnswer.title == title,
                                                             KnowledgeAnswer.language == language))).first()
