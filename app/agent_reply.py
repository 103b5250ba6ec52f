"""An agent's reply through the API: preview, send, the fallback channel, suggestions. Gathers
what replies needs (the ticket's context, the citizen's channels) and says who may do what.

Roles: agents, supervisors and administrators preview and read suggestions on any ticket; an
agent sends on the tickets they hold, a supervisor or administrator on any. The front desk
(frontdesk) logs contacts and carries out letters and call backs, but does not write replies:
the answer belongs to whoever handles the request (403).
"""
from __future__ import annotations

from email.utils import make_msgid

from pydantic import BaseModel, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.jobs.acknowledge import email_headers
from app.reply_context import reply_context
from app.settings import Settings
from app.template_admin import RenderedOut, SmsCost
from channels.sms.segments import sms_segments
from crm import tickets
from crm.errors import Forbidden, InvalidInput, NotFound
from crm.models import Citizen, Message, Ticket
from crm.types import Channel, Direction
from replies.compose import ChannelUnavailable, Reply, build_reply, insert_answer, queue_reply
from replies.models import KnowledgeAnswer, Step
from replies.notify import email_thread
from replies.outbox import list_outbox
from replies.reach import REPLY_CHANNELS, Route, failed_for_good, next_route, routes_for
from replies.rendering import render, render_text
from replies.suggest import choice_of_template, suggestions_for
from replies.templates import Rendered, find_template, get_template
from routing.categories import localised_name
from routing.models import Agent, Category, Role
from routing.supervision import SUPERVISORS

WRITERS = {Role.AGENT.value, *SUPERVISORS}


class ReplyIn(BaseModel):
    template_id: int | None = Field(None, description="a template to start from (agent_reply, or any step)")
    answer_id: int | None = Field(None, description="a ready answer (suggestions), set into the channel's frame")
    text: str | None = Field(None, max_length=20_000, description="the agent's edited text; required without a "
                                                                  "template or answer")
    subject: str | None = Field(None, max_length=300, description="email and letter; default: the template's")
    channel: str | None = Field(None, description="email, sms, letter or phone; default: the ticket's reply channel")
    idempotency_key: str | None = Field(None, max_length=80, description="the same key twice sends one reply")


class RouteOut(BaseModel):
    channel: str
    to: str | None
    reachable: bool
    why: str


class ReplyPreviewOut(RenderedOut):
    ticket: str
    channel: str
    to: str
    language: str
    template_id: int | None
    answer_id: int | None
    channels: list[RouteOut]


class ReplySentOut(BaseModel):
    ticket: str
    delivery_id: int
    message_id: int | None
    channel: str
    to: str
    state: str
    created: bool
    subject: str | None
    text: str
    sms: SmsCost | None = None


class FallbackOut(BaseModel):
    ticket: str
    reply_channel: str
    proposed: RouteOut | None
    channels: list[RouteOut]
    last_failure: dict | None = None


class SuggestionOut(BaseModel):
    kind: str
    id: int
    title: str
    language: str
    score: float
    why: list[str]


class SuggestionsOut(BaseModel):
    ticket: str
    message_id: int | None
    language: str | None
    suggestions: list[SuggestionOut]


def require_writer(agent: Agent) -> None:
    if agent.role not in WRITERS:
        raise Forbidden("replies are written by agents, supervisors and administrators; the front desk logs "
                        "contacts and carries out letters and call backs")


def _route_out(route: Route) -> RouteOut:
    return RouteOut(channel=route.channel, to=route.to, reachable=route.reachable, why=route.why)


def _cost(reply: Reply) -> SmsCost | None:
    if reply.channel != Channel.SMS.value:
        return None
    cost = sms_segments(reply.text)
    return SmsCost(segments=cost.count, encoding=cost.encoding, characters=len(reply.text), units=cost.units)


async def _last_inbound(session: AsyncSession, ticket: Ticket, channel: str | None = None) -> Message | None:
    query = select(Message).where(Message.ticket_id == ticket.id, Message.direction == Direction.IN.value)
    if channel:
        query = query.where(Message.channel == channel, col(Message.rfc_message_id).is_not(None))
    return (await session.exec(query.order_by(col(Message.id).desc()).limit(1))).first()


async def _route(session: AsyncSession, ticket: Ticket, wanted: str | None) -> tuple[Route, list[Route]]:
    channel = (wanted or ticket.reply_channel).strip().lower()
    if channel not in REPLY_CHANNELS:
        raise InvalidInput(f"a reply goes by {', '.join(REPLY_CHANNELS)}, not {channel!r}",
                           fields={"channel": "unknown reply channel"})
    routes = await routes_for(session, ticket)
    route = next(r for r in routes if r.channel == channel)
    if not route.reachable:
        raise ChannelUnavailable(route, next_route(routes, besides=channel))
    return route, routes


async def _compose(session: AsyncSession, settings: Settings, ticket: Ticket, data: ReplyIn
                   ) -> tuple[Reply, list[Route]]:
    route, routes = await _route(session, ticket, data.channel)
    language = ticket.language or settings.default_language
    context = await reply_context(session, ticket, settings, step=Step.AGENT_REPLY.value, language=language)
    # The channel's frame (the agent_reply template); a phone call back has none.
    frame_channel = route.channel if route.channel != Channel.PHONE.value else None
    frame = await find_template(session, step=Step.AGENT_REPLY.value, channel=frame_channel,
                                category_id=ticket.category_id, language=language,
                                default_language=settings.default_language) if frame_channel else None
    started, answer_id, choice = (render(frame, context) if frame else None), None, None
    if frame:
        choice = choice_of_template(frame)
    if data.template_id is not None:
        template = await get_template(session, data.template_id)
        if route.channel != Channel.PHONE.value and template.channel != route.channel:
            raise InvalidInput(f"template {template.id} is for {template.channel}; this reply goes by {route.channel}",
                               fields={"template_id": "another channel"})
        started, choice = render(template, context), choice_of_template(template)
    elif data.answer_id is not None:
        answer = await session.get(KnowledgeAnswer, data.answer_id)
        if answer is None or not answer.active:
            raise NotFound(f"no answer {data.answer_id} in the knowledge base")
        text = render_text(answer.body, context)
        base = started or Rendered("", "", None, language)
        started = Rendered(base.subject, insert_answer(base.body, text), base.template_id, language, None)
        answer_id, choice = answer.id, f"answer:{answer.id}"
    if started is None and not (data.text or "").strip():
        raise InvalidInput("give the text of the reply, or a template or answer to start from",
                           fields={"text": "required without a template"})
    citizen = await session.get(Citizen, ticket.citizen_id)
    sms_frame = await find_template(session, step=Step.AGENT_REPLY.value, channel=Channel.SMS.value,
                                    category_id=ticket.category_id, language=language,
                                    default_language=settings.default_language) \
        if route.channel == Channel.SMS.value else None
    reply = build_reply(
        route=route, language=language, started=started, text=data.text, subject=data.subject,
        short_reference=context["ticket"]["short_reference"],
        sms_prefix=render(sms_frame, context).body if sms_frame else None,
        letter={"service": settings.service_name, "reference": ticket.reference,
                "recipient": [citizen.full_name if citizen else "", *(route.to or "").split(", ")]},
        fallback_subject=f"{ticket.reference} — {ticket.subject}"[:300], answer_id=answer_id, choice=choice)
    return reply, routes


async def _ticket(session: AsyncSession, reference: str) -> Ticket:
    return await tickets.find_by_reference(session, reference)


async def preview_reply(session: AsyncSession, settings: Settings, agent: Agent, reference: str,
                        data: ReplyIn) -> ReplyPreviewOut:
    require_writer(agent)
    ticket = await _ticket(session, reference)
    reply, routes = await _compose(session, settings, ticket, data)
    return ReplyPreviewOut(subject=reply.subject, text=reply.text, html=reply.html, sms=_cost(reply),
                           ticket=ticket.reference, channel=reply.channel, to=reply.to, language=reply.language,
                           template_id=reply.template_id, answer_id=reply.answer_id,
                           channels=[_route_out(r) for r in routes])


async def send_reply(session: AsyncSession, settings: Settings, agent: Agent, reference: str,
                     data: ReplyIn) -> ReplySentOut:
    """The reply written and queued (the caller commits, then enqueues a queued delivery's send)."""
    require_writer(agent)
    found = await _ticket(session, reference)
    ticket = await tickets.get_ticket(session, found.id, for_update=True)
    if ticket.assignee_id != agent.id and agent.role not in SUPERVISORS:
        raise Forbidden("only the agent holding the ticket, or a supervisor, may reply on it")
    if data.idempotency_key is None and data.template_id is None and data.answer_id is None \
            and not (data.text or "").strip():
        raise InvalidInput("give the text of the reply, or a template or answer to start from",
                           fields={"text": "required without a template"})
    reply, _ = await _compose(session, settings, ticket, data)
    answering = await _last_inbound(session, ticket)
    header_id = headers = None
    if reply.channel == Channel.EMAIL.value:
        header_id = make_msgid(domain=settings.mail_domain)
        threaded = await _last_inbound(session, ticket, Channel.EMAIL.value) or answering
        # A request that came by no mail (the web form, the desk): the thread is ours, from the
        # acknowledgement on, so the citizen's client still shows one conversation.
        ours = None if threaded and threaded.rfc_message_id else email_thread(await tickets.messages(session, ticket.id))
        headers = email_headers(ticket, threaded, settings.reply_address, ours) if threaded else {}
    key = data.idempotency_key or header_id or make_msgid(domain="reply")
    delivery, created = await queue_reply(session, ticket, reply, agent_id=agent.id,
                                          dedupe_key=f"reply:{ticket.id}:{key}"[:200], answering=answering,
                                          header_message_id=header_id, headers=headers)
    return ReplySentOut(ticket=ticket.reference, delivery_id=delivery.id, message_id=delivery.message_id,
                        channel=delivery.channel, to=delivery.to, state=delivery.state, created=created,
                        subject=delivery.subject, text=delivery.body, sms=_cost(reply) if created else None)


async def fallback(session: AsyncSession, agent: Agent, reference: str) -> FallbackOut:
    ticket = await _ticket(session, reference)
    routes = await routes_for(session, ticket)
    current = next((r for r in routes if r.channel == ticket.reply_channel), None)
    proposed = current if current and current.reachable else next_route(routes, besides=ticket.reply_channel)
    failure = next((d for d, _ in await list_outbox(session, ticket_id=ticket.id, limit=50)
                    if failed_for_good(d)), None)
    return FallbackOut(
        ticket=ticket.reference, reply_channel=ticket.reply_channel,
        proposed=_route_out(proposed) if proposed else None, channels=[_route_out(r) for r in routes],
        last_failure={"delivery_id": failure.id, "channel": failure.channel, "to": failure.to,
                      "state": failure.state, "error": failure.last_error, "error_code": failure.error_code}
        if failure else None)


async def suggestions(session: AsyncSession, settings: Settings, agent: Agent, reference: str,
                      message_id: int | None = None) -> SuggestionsOut:
    require_writer(agent)
    ticket = await _ticket(session, reference)
    if message_id is not None:
        message = await session.get(Message, message_id)
        if message is None or message.ticket_id != ticket.id or message.direction != Direction.IN.value:
            raise NotFound(f"no message {message_id} from the citizen on {ticket.reference}")
    else:
        message = await _last_inbound(session, ticket)
    if message is None:
        return SuggestionsOut(ticket=ticket.reference, message_id=None, language=ticket.language, suggestions=[])
    categories = (await session.exec(select(Category))).all()
    names = {c.id: list(dict.fromkeys([localised_name(c, ticket.language or settings.default_language), c.name,
                                       *(c.names or {}).values()])) for c in categories}
    found = await suggestions_for(session, f"{message.subject or ''}\n{message.text}", language=ticket.language,
                                  category_id=ticket.category_id, category_names=names,
                                  database=settings.database_url)
    return SuggestionsOut(ticket=ticket.reference, message_id=message.id, language=ticket.language,
                          suggestions=[SuggestionOut(kind=s.kind, id=s.id, title=s.title, language=s.language,
                                                     score=s.score, why=s.why) for s in found])

