"""/tickets/{reference}: the request, the citizen's whole history across channels, duplicate
suggestions, one-click status changes, internal notes, attachments and the reply composer.

Plain form posts; static/live.js previews as the agent types (POST …/reply with partial=true
answers the preview alone) and reloads the history when /events says the ticket changed.
Services: app.ticket_workspace (what the page shows), routing.supervision.change_status,
crm.tickets.add_note, app.agent_reply (preview and send, as the API)."""
from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.agent_reply import ReplyIn, preview_reply, send_reply
from app.queue import JobQueue, enqueue_after_commit
from app.settings import Settings
from app.status_change import change_status_and_follow_up
from app.ticket_workspace import ticket_workspace
from app.web.guard import require_role
from app.web.pages import render
from app.web.queue import CHANNEL_LABELS, SLA_LABELS, WORKERS
from crm import tickets
from crm.attachments import preview_kind
from crm.errors import DomainError
from replies.models import DeliveryState
from replies.reach import REPLY_CHANNELS
from routing.models import Agent

FORM = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
NOTICES = {"sent": "Your reply is on its way.", "status": "The status was changed.", "note": "Your note was added."}


def _reply_in(data: dict[str, str]) -> ReplyIn:
    def number(name: str) -> int | None:
        value = (data.get(name) or "").strip()
        return int(value) if value.isdigit() else None

    pick = (data.get("pick") or "").strip()  # "template:12" or "answer:3" (suggestions and picker)
    kind, _, ident = pick.partition(":")
    return ReplyIn(template_id=int(ident) if kind == "template" and ident.isdigit() else number("template_id"),
                   answer_id=int(ident) if kind == "answer" and ident.isdigit() else number("answer_id"),
                   text=(data.get("text") or "").strip() or None, subject=(data.get("subject") or "").strip() or None,
                   channel=(data.get("channel") or "").strip() or None,
                   idempotency_key=(data.get("idempotency_key") or "").strip()[:80] or None)


async def _page(request: Request, agent: Agent, db_session: AsyncSession, settings: Settings, reference: str, *,
                form: dict[str, str] | None = None, preview: Any = None, error: str | None = None,
                notice: str | None = None, partial: str = "", status_code: int = 200) -> Template:
    workspace = await ticket_workspace(db_session, settings, agent, reference)
    await db_session.commit()  # the access trail of the read
    context = {"w": workspace, "t": workspace.ticket, "form": form or {}, "preview": preview, "error": error,
               "notice": notice, "channel_labels": CHANNEL_LABELS, "sla_labels": SLA_LABELS,
               "reply_channels": REPLY_CHANNELS, "preview_kind": preview_kind}
    template = {"history": "ticket_history.html", "preview": "ticket_preview.html"}.get(partial, "ticket.html")
    return render(request, template, context, status_code=status_code)


@get("/tickets/{reference:str}", include_in_schema=False, guards=[require_role(*WORKERS)])
async def ticket_page(request: Request, agent: Agent, db_session: AsyncSession, settings: Settings, reference: str,
                      partial: str = "", done: str = "") -> Template:
    return await _page(request, agent, db_session, settings, reference, notice=NOTICES.get(done),
                       partial=partial if partial == "history" else "")


@post("/tickets/{reference:str}/status", include_in_schema=False, status_code=303, guards=[require_role(*WORKERS)])
async def set_status(request: Request, agent: Agent, db_session: AsyncSession, settings: Settings, queue: JobQueue,
                     reference: str, data: FORM) -> Template | Redirect:
    try:
        ticket = await change_status_and_follow_up(
            db_session, queue, reference, data.get("status") or "", by=agent,
            why=(data.get("why") or "").strip()[:500] or "from the ticket page")
    except DomainError as exc:
        await db_session.rollback()
        return await _page(request, agent, db_session, settings, reference, error=exc.message,
                           status_code=exc.status_code)
    return Redirect(f"/tickets/{ticket.reference}?done=status", status_code=303)


@post("/tickets/{reference:str}/notes", include_in_schema=False, status_code=303, guards=[require_role(*WORKERS)])
async def add_note(request: Request, agent: Agent, db_session: AsyncSession, settings: Settings, reference: str,
                   data: FORM) -> Template | Redirect:
    try:
        ticket = await tickets.find_by_reference(db_session, reference)
        await tickets.add_note(db_session, ticket, data.get("note") or "", agent_id=agent.id)
    except DomainError as exc:
        await db_session.rollback()
        return await _page(request, agent, db_session, settings, reference, error=exc.message,
                           status_code=exc.status_code)
    await db_session.commit()
    return Redirect(f"/tickets/{ticket.reference}?done=note#notes", status_code=303)


@post("/tickets/{reference:str}/reply", include_in_schema=False, status_code=200, guards=[require_role(*WORKERS)])
async def reply(request: Request, agent: Agent, db_session: AsyncSession, settings: Settings, queue: JobQueue,
                reference: str, data: FORM) -> Template | Redirect:
    """action=preview (the default): the page with the reply as the citizen will get it (with
    partial=true, the preview alone); action=send: queued, then back to the ticket."""
    form = {k: str(v) for k, v in data.items() if k != "_csrf_token"}
    partial = "preview" if form.get("partial") == "true" else ""
    try:
        wanted = _reply_in(form)
        if form.get("action") == "send":
            sent = await send_reply(db_session, settings, agent, reference, wanted)
            await db_session.commit()
            if sent.created and sent.state == DeliveryState.QUEUED.value:
                await enqueue_after_commit(queue, "send_delivery", sent.delivery_id)
            return Redirect(f"/tickets/{sent.ticket}?done=sent", status_code=303)
        preview = await preview_reply(db_session, settings, agent, reference, wanted)
    except ValidationError as exc:
        return await _page(request, agent, db_session, settings, reference, form=form, partial=partial,
                           error="; ".join(str(e["msg"]) for e in exc.errors()), status_code=400)
    except DomainError as exc:
        await db_session.rollback()
        return await _page(request, agent, db_session, settings, reference, form=form, partial=partial,
                           error=exc.message, status_code=exc.status_code)
    if not form.get("text") and preview.text:
        form["text"] = preview.text  # the agent edits from what the template gave
    return await _page(request, agent, db_session, settings, reference, form=form, preview=preview,
                       partial=partial)
