"""Reply templates for supervisors (/supervisor/templates): the list filtered by category, step,
language and channel; a template with its version history (who, when, what changed), a new
version saved or an old one rolled back, and its preview on a real ticket.

The same services as the JSON API (app/template_admin.py): a template the save refuses (unknown
variable, render failure, SMS over the segment limit...) comes back with the service's reason
next to the field, and the text as the supervisor typed it."""
from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.settings import Settings
from app.template_admin import (
    RollbackIn,
    TemplateIn,
    roll_back,
    save_version,
    template_filters,
    template_index,
    template_workspace,
)
from app.web.admin_forms import field_errors, text
from app.web.guard import require_role
from app.web.pages import render
from app.web.supervisor import SUPERVISING
from crm.errors import DomainError, InvalidInput
from routing.models import Agent

TEMPLATE_NOTICES = {"saved", "rolledback"}
FILTERS = ("step", "language", "channel", "category")
FORM_FIELDS = ("step", "channel", "language", "category", "subject", "body", "html", "change_note")


@get("/supervisor/templates", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def templates_page(request: Request, agent: Agent, db_session: AsyncSession) -> Template:
    chosen = {name: request.query_params.get(name) or None for name in FILTERS}
    try:
        rows, filters = await template_index(db_session, **chosen)
        error, status = None, 200
    except DomainError as exc:
        rows, filters, error, status = [], await template_filters(db_session), exc.message, exc.status_code
    return render(request, "admin_templates.html", {"rows": rows, "filters": filters, "chosen": chosen,
                                                    "error": error}, status_code=status)


async def _form_page(request: Request, db_session: AsyncSession, settings: Settings, *, template_id: int | None,
                     values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                     ticket: str = "", draft: TemplateIn | None = None, status_code: int = 200) -> Template:
    workspace = await template_workspace(db_session, settings, template_id, ticket, draft)
    if values is None:
        values = ({name: getattr(workspace.template, name) or "" for name in FORM_FIELDS if name != "change_note"}
                  if workspace.template else {name: request.query_params.get(name, "") for name in FILTERS})
    done = request.query_params.get("done")
    return render(request, "admin_template.html", {
        "workspace": workspace, "values": values, "errors": errors or {},
        "filters": await template_filters(db_session),
        "notice": done if done in TEMPLATE_NOTICES else None}, status_code=status_code)


@get("/supervisor/templates/new", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def new_template(request: Request, agent: Agent, db_session: AsyncSession, settings: Settings) -> Template:
    return await _form_page(request, db_session, settings, template_id=None)


@get("/supervisor/templates/{template_id:int}", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def template_page(request: Request, template_id: int, agent: Agent, db_session: AsyncSession,
                        settings: Settings) -> Template:
    """`?ticket=REF`: the active text previewed on that ticket."""
    return await _form_page(request, db_session, settings, template_id=template_id,
                            ticket=request.query_params.get("ticket", "")[:40])


def _template_in(values: dict[str, str]) -> TemplateIn:
    try:
        return TemplateIn(**{**values, "category": values.get("category") or None, "html": values.get("html") or None})
    except ValidationError as exc:
        fields = {str(error["loc"][0]): error["msg"] for error in exc.errors()}
        raise InvalidInput("; ".join(f"{k}: {v}" for k, v in fields.items()), fields=fields) from None


@post("/supervisor/templates", include_in_schema=False, status_code=303, guards=[require_role(*SUPERVISING)])
async def save_template_page(request: Request, agent: Agent, db_session: AsyncSession,
                             settings: Settings) -> Template | Redirect:
    """A new active version of the slot; refused: the form again, as typed, with the reason.
    `action=preview`: the typed text rendered on the ticket `ticket`, not saved."""
    form = await request.form()
    values = {name: text(form, name) for name in FORM_FIELDS}
    source, ticket = text(form, "from_id", 20), text(form, "ticket", 40)
    template_id = int(source) if source.isdigit() else None
    try:
        draft = _template_in(values)
        if form.get("action") == "preview":  # the text as typed, on a real ticket; nothing saved
            return await _form_page(request, db_session, settings, template_id=template_id, values=values,
                                    ticket=ticket, draft=draft)
        saved = await save_version(db_session, settings, agent, draft)
    except DomainError as exc:
        await db_session.rollback()
        return await _form_page(request, db_session, settings, template_id=template_id, values=values,
                                errors=field_errors(exc), ticket=ticket, status_code=exc.status_code)
    await db_session.commit()
    return Redirect(f"/supervisor/templates/{saved.template.id}?done=saved", status_code=303)


@post("/supervisor/templates/{template_id:int}/rollback", include_in_schema=False, status_code=303,
      guards=[require_role(*SUPERVISING)])
async def rollback_template_page(request: Request, template_id: int, agent: Agent, db_session: AsyncSession,
                                 settings: Settings) -> Template | Redirect:
    """A new active version copying this one (checked again: the rules may have tightened)."""
    form = await request.form()
    try:
        saved = await roll_back(db_session, settings, agent, template_id,
                                RollbackIn(change_note=text(form, "change_note", 500)))
    except DomainError as exc:
        await db_session.rollback()
        return await _form_page(request, db_session, settings, template_id=template_id,
                                errors={"rollback": exc.message}, status_code=exc.status_code)
    await db_session.commit()
    return Redirect(f"/supervisor/templates/{saved.template.id}?done=rolledback", status_code=303)


ROUTES = [templates_page, new_template, template_page, save_template_page, rollback_template_page]
