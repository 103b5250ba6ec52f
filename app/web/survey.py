"""The satisfaction page a survey email links to: one click records the score, in the
citizen's language; a comment may follow. The signed token is the only key (no login, no CSRF
token: the form is bound to the token, which names one ticket)."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.settings import Settings, secret_key
from app.web.i18n import page_context, pick_language
from crm.columns import utcnow
from crm.errors import InvalidInput
from crm.models import Ticket
from crm.types import Channel
from replies.survey import SCORES, SurveyToken, answer_of, read_token, record_answer, sign_answer


def _token(settings: Settings, token: str) -> SurveyToken:
    return read_token(secret_key(settings), token, valid_for=timedelta(days=settings.survey_answer_days),
                      now=utcnow())


def _refused(settings: Settings, lang: str | None, why: str) -> Template:
    language = pick_language(lang, settings.default_language)
    return Template(template_name="survey.html", status_code=400, context={
        **page_context(language), "service_name": settings.service_name, "refused": why})


async def _page(session: AsyncSession, settings: Settings, token: str, lang: str | None,
                parsed: SurveyToken, *, thanked: bool = False) -> Template:
    ticket = await session.get(Ticket, parsed.ticket_id)
    if ticket is None:
        return _refused(settings, lang, "invalid")
    language = pick_language(lang or ticket.language, settings.default_language)
    answer = await answer_of(session, ticket.id)
    secret = secret_key(settings)
    choices = [(score, sign_answer(secret, ticket.id, score, parsed.issued_at)) for score in reversed(SCORES)]
    return Template(template_name="survey.html", context={
        **page_context(language), "service_name": settings.service_name, "reference": ticket.reference,
        "token": token, "score": answer.score if answer else None, "comment": answer.comment if answer else None,
        "choices": choices, "thanked": thanked})


@get("/survey/{token:str}", include_in_schema=False)
async def survey_page(token: str, db_session: AsyncSession, settings: Settings, lang: str | None = None) -> Template:
    """A link with a score records it (a second click changes it); without, the scores to pick."""
    try:
        parsed = _token(settings, token)
    except InvalidInput as exc:
        return _refused(settings, lang, "expired" if "expired" in exc.message else "invalid")
    if parsed.score is not None and await db_session.get(Ticket, parsed.ticket_id) is not None:
        await record_answer(db_session, parsed.ticket_id, parsed.score, channel=Channel.EMAIL.value)
        await db_session.commit()
    return await _page(db_session, settings, token, lang, parsed)


@post("/survey/{token:str}", include_in_schema=False, status_code=200)
async def survey_comment(token: str, data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
                         db_session: AsyncSession, settings: Settings) -> Template:
    """The comment under a score: kept with the ticket's answer."""
    lang = data.get("lang")
    try:
        parsed = _token(settings, token)
    except InvalidInput as exc:
        return _refused(settings, lang, "expired" if "expired" in exc.message else "invalid")
    answer = await answer_of(db_session, parsed.ticket_id)
    score = parsed.score or (answer.score if answer else None)
    if score is None or await db_session.get(Ticket, parsed.ticket_id) is None:
        return _refused(settings, lang, "no_score")
    await record_answer(db_session, parsed.ticket_id, score, channel=Channel.EMAIL.value,
                        comment=str(data.get("comment") or "")[:2000], keep_score=parsed.score is None)
    await db_session.commit()
    return await _page(db_session, settings, token, lang, parsed, thanked=True)
