"""Routing's reference data for supervisors and administrators: categories (/supervisor/categories:
skill, team, SLA targets, the steps the citizen is told about), skills (/supervisor/skills),
agents (/supervisor/agents: created, edited, deactivated, password reset) and the teams'
business calendars (/supervisor/calendar). Services in routing/administration.py; every change
is on the access trail (who, what)."""
from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.settings import Settings, routing_config
from app.web.admin_forms import choices, field_errors, text, whole_number
from app.web.guard import require_role
from app.web.i18n import LANGUAGES
from app.web.pages import render
from app.web.supervisor import SUPERVISING
from crm.errors import DomainError, InvalidInput
from routing.administration import (
    DAYS,
    AgentIn,
    CalendarIn,
    CategoryIn,
    agent_row,
    agent_rows,
    all_categories,
    create_agent_account,
    day_intervals,
    edit_agent_account,
    get_category,
    reference_lists,
    reset_password,
    save_category,
    save_skill,
    save_team_calendar,
    set_agent_active,
)
from routing.categories import ESCALATIONS
from routing.models import NOTIFIABLE_STEPS, Agent, Category, Role
from routing.policy import PRIORITY_RANK

ADMIN = (Role.ADMIN,)
NOTICES = {"saved", "created", "deactivated", "activated", "password"}


def _options(reference) -> dict[str, list[tuple[str, str]]]:
    """(value, label) pairs of the selects: skills, teams, priorities."""
    return {"skills": [(str(s.id), s.name) for s in reference.skills],
            "teams": [(str(t.id), t.name) for t in reference.teams],
            "priorities": [(p, p) for p in PRIORITY_RANK], "roles": [(r.value, r.value) for r in Role],
            "languages": [("fr", "Français"), ("en", "English"), ("ar", "العربية")]}


def _notice(request: Request) -> str | None:
    done = request.query_params.get("done")
    return done if done in NOTICES else None


async def _refused(request: Request, db_session: AsyncSession, exc: DomainError, page) -> Template:
    """Roll the change back and show the form again, as typed, with the reasons."""
    await db_session.rollback()
    return await page(errors=field_errors(exc), status_code=exc.status_code)


# --- categories --------------------------------------------------------------------------------

@get("/supervisor/categories", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def categories_page(request: Request, agent: Agent, db_session: AsyncSession) -> Template:
    return render(request, "admin_categories.html", {"categories": await all_categories(db_session),
                                                     "reference": await reference_lists(db_session),
                                                     "notice": _notice(request)})


def _category_values(category: Category | None) -> dict[str, Any]:
    if category is None:
        return {"min_level": "1", "priority": "normal", "notify_steps": ["acknowledgement", "more_information_needed",
                                                                         "resolved", "satisfaction_survey"],
                "escalation": []}
    values = category.model_dump()
    values.update({f"name_{code}": category.names.get(code, "") for code in LANGUAGES})
    return values


async def _category_form(request: Request, db_session: AsyncSession, category_id: int | None, *,
                         values: dict | None = None, errors: dict | None = None, status_code: int = 200) -> Template:
    category = await get_category(db_session, category_id) if category_id else None
    return render(request, "admin_category.html", {
        "category": category, "values": values if values is not None else _category_values(category),
        "errors": errors or {}, "options": _options(await reference_lists(db_session)), "steps": NOTIFIABLE_STEPS,
        "escalations": sorted(ESCALATIONS), "languages": LANGUAGES,
        "notice": _notice(request)}, status_code=status_code)


@get("/supervisor/categories/new", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def new_category(request: Request, agent: Agent, db_session: AsyncSession) -> Template:
    return await _category_form(request, db_session, None)


@get("/supervisor/categories/{category_id:int}", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def category_page(request: Request, category_id: int, agent: Agent, db_session: AsyncSession) -> Template:
    return await _category_form(request, db_session, category_id)


def _category_in(form) -> CategoryIn:
    return CategoryIn(
        slug=text(form, "slug", 64), name=text(form, "name", 200),
        names={code: text(form, f"name_{code}", 200) for code in LANGUAGES},
        skill_id=whole_number(form, "skill_id"), min_level=whole_number(form, "min_level", required=True) or 0,
        priority=text(form, "priority", 20), team_id=whole_number(form, "team_id"),
        sla_first_response_minutes=whole_number(form, "sla_first_response_minutes"),
        sla_resolution_minutes=whole_number(form, "sla_resolution_minutes"),
        escalation=choices(form, "escalation"), notify_steps=choices(form, "notify_steps"))


def _typed(form) -> dict[str, Any]:
    """What the visitor typed, to fill the form again (multi-valued fields as lists)."""
    return {key: form.getall(key) if len(form.getall(key)) > 1 or key in ("notify_steps", "escalation", "skills")
            else form.get(key) for key in form}


async def _save_category(request: Request, agent: Agent, db_session: AsyncSession,
                         category_id: int | None) -> Template | Redirect:
    form = await request.form()
    values = {"notify_steps": [], "escalation": [], **_typed(form)}
    try:
        category = await save_category(db_session, agent, category_id, _category_in(form))
    except DomainError as exc:
        async def page(**kwargs):
            return await _category_form(request, db_session, category_id, values=values, **kwargs)
        return await _refused(request, db_session, exc, page)
    await db_session.commit()
    return Redirect(f"/supervisor/categories/{category.id}?done=saved", status_code=303)


@post("/supervisor/categories", include_in_schema=False, status_code=303, guards=[require_role(*SUPERVISING)])
async def create_category(request: Request, agent: Agent, db_session: AsyncSession) -> Template | Redirect:
    return await _save_category(request, agent, db_session, None)


@post("/supervisor/categories/{category_id:int}", include_in_schema=False, status_code=303,
      guards=[require_role(*SUPERVISING)])
async def edit_category(request: Request, category_id: int, agent: Agent,
                        db_session: AsyncSession) -> Template | Redirect:
    return await _save_category(request, agent, db_session, category_id)


# --- skills ------------------------------------------------------------------------------------

async def _skills_form(request: Request, db_session: AsyncSession, *, values: dict | None = None,
                       errors: dict | None = None, status_code: int = 200) -> Template:
    return render(request, "admin_skills.html", {"reference": await reference_lists(db_session),
                                                 "values": values or {}, "errors": errors or {},
                                                 "notice": _notice(request)}, status_code=status_code)


@get("/supervisor/skills", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def skills_page(request: Request, agent: Agent, db_session: AsyncSession) -> Template:
    return await _skills_form(request, db_session)


@post("/supervisor/skills", include_in_schema=False, status_code=303, guards=[require_role(*ADMIN)])
async def save_skill_page(request: Request, agent: Agent, db_session: AsyncSession) -> Template | Redirect:
    """A new skill (no `skill_id`) or a skill renamed."""
    form = await request.form()
    values = _typed(form)
    try:
        await save_skill(db_session, agent, whole_number(form, "skill_id"), text(form, "slug", 64),
                         text(form, "name", 200))
    except DomainError as exc:
        async def page(**kwargs):
            return await _skills_form(request, db_session, values=values, **kwargs)
        return await _refused(request, db_session, exc, page)
    await db_session.commit()
    return Redirect("/supervisor/skills?done=saved", status_code=303)


# --- agents ------------------------------------------------------------------------------------

@get("/supervisor/agents", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def agents_page(request: Request, agent: Agent, db_session: AsyncSession) -> Template:
    return render(request, "admin_agents.html", {"rows": await agent_rows(db_session),
                                                 "reference": await reference_lists(db_session),
                                                 "notice": _notice(request)})


def _agent_values(row) -> dict[str, Any]:
    if row is None:
        return {"role": "agent", "capacity": "20", "languages": "fr"}
    a = row.agent
    values = {"email": a.email, "name": a.name, "role": a.role, "language": a.language or "",
              "capacity": str(a.capacity), "languages": ", ".join(a.languages),
              "team_id": str(row.team_ids[0]) if row.team_ids else ""}
    values.update({f"skill_{slug}": str(level) for slug, level in row.skills.items()})
    values["channel_capacity"] = " ".join(f"{channel}:{n}" for channel, n in sorted(a.channel_capacity.items()))
    values.update({f"hours_{day}": text for day, text in day_intervals(a.working_hours).items()})
    return values


def _channel_capacity(form) -> dict[str, int]:
    """`phone:2 sms:10` (commas allowed) -> {"phone": 2, "sms": 10}."""
    capacity = {}
    for item in text(form, "channel_capacity", 200).replace(",", " ").split():
        channel, _, number = item.partition(":")
        if not number.isdigit():
            raise InvalidInput(f"channel capacity: {item!r}",
                               fields={"channel_capacity": "channel:number pairs, e.g. phone:2 sms:10"})
        capacity[channel.strip().lower()] = int(number)
    return capacity


async def _agent_form(request: Request, db_session: AsyncSession, agent_id: int | None, *,
                      values: dict | None = None, errors: dict | None = None, password: str | None = None,
                      status_code: int = 200) -> Template:
    row = await agent_row(db_session, agent_id) if agent_id else None
    reference = await reference_lists(db_session)
    return render(request, "admin_agent.html", {
        "row": row, "values": values if values is not None else _agent_values(row), "errors": errors or {},
        "reference": reference, "options": _options(reference), "roles": [r.value for r in Role], "days": DAYS,
        "languages": LANGUAGES,
        "password": password, "notice": _notice(request)}, status_code=status_code)


@get("/supervisor/agents/new", include_in_schema=False, guards=[require_role(*ADMIN)])
async def new_agent(request: Request, agent: Agent, db_session: AsyncSession) -> Template:
    return await _agent_form(request, db_session, None)


@get("/supervisor/agents/{agent_id:int}", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def agent_page(request: Request, agent_id: int, agent: Agent, db_session: AsyncSession) -> Template:
    return await _agent_form(request, db_session, agent_id)


def _agent_in(form, skills: list[str]) -> AgentIn:
    levels = {}
    for slug in skills:
        level = whole_number(form, f"skill_{slug}")
        if level:  # 0 or empty: not this skill
            levels[slug] = level
    return AgentIn(email=text(form, "email", 320), name=text(form, "name", 200), role=text(form, "role", 20),
                   team_id=whole_number(form, "team_id"), language=text(form, "language", 8) or None,
                   capacity=whole_number(form, "capacity", required=True) or 0,
                   languages=[code.strip().lower() for code in text(form, "languages", 100).replace(",", " ").split()],
                   skills=levels, password=str(form.get("password") or "")[:300],
                   channel_capacity=_channel_capacity(form),
                   working_hours={day: text(form, f"hours_{day}", 200) for day in DAYS})


async def _agent_change(request: Request, db_session: AsyncSession, agent_id: int | None, action) -> Template | Redirect:
    """Run the change; refused: the form again as typed (never the password) with the reasons."""
    form = await request.form()
    values = {k: v for k, v in _typed(form).items() if k != "password"}
    skills = [s.slug for s in (await reference_lists(db_session)).skills]
    try:
        target, password, done = await action(form, skills)
    except DomainError as exc:
        async def page(**kwargs):
            return await _agent_form(request, db_session, agent_id, values=values, **kwargs)
        return await _refused(request, db_session, exc, page)
    await db_session.commit()
    if password:  # shown once, on this answer only: never in a URL, a log or the database
        return await _agent_form(request, db_session, target, password=password, status_code=200)
    return Redirect(f"/supervisor/agents/{target}?done={done}", status_code=303)


@post("/supervisor/agents", include_in_schema=False, status_code=303, guards=[require_role(*ADMIN)])
async def create_agent_page(request: Request, agent: Agent, db_session: AsyncSession) -> Template | Redirect:
    async def action(form, skills):
        created, password = await create_agent_account(db_session, agent, _agent_in(form, skills))
        return created.id, password, "created"
    return await _agent_change(request, db_session, None, action)


@post("/supervisor/agents/{agent_id:int}", include_in_schema=False, status_code=303,
      guards=[require_role(*SUPERVISING)])
async def edit_agent_page(request: Request, agent_id: int, agent: Agent, db_session: AsyncSession) -> Template | Redirect:
    async def action(form, skills):
        await edit_agent_account(db_session, agent, agent_id, _agent_in(form, skills))
        return agent_id, None, "saved"
    return await _agent_change(request, db_session, agent_id, action)


@post("/supervisor/agents/{agent_id:int}/active", include_in_schema=False, status_code=303,
      guards=[require_role(*ADMIN)])
async def agent_active_page(request: Request, agent_id: int, agent: Agent, db_session: AsyncSession,
                            settings: Settings) -> Template | Redirect:
    """`active=false` deactivates (their unanswered tickets go back to the router), `true` reactivates."""
    async def action(form, skills):
        wanted = text(form, "active", 5) == "true"
        await set_agent_active(db_session, agent, agent_id, wanted, routing_config(settings))
        return agent_id, None, "activated" if wanted else "deactivated"
    return await _agent_change(request, db_session, agent_id, action)


@post("/supervisor/agents/{agent_id:int}/password", include_in_schema=False, status_code=303,
      guards=[require_role(*ADMIN)])
async def agent_password_page(request: Request, agent_id: int, agent: Agent,
                              db_session: AsyncSession) -> Template | Redirect:
    """The password the admin typed, or a generated one shown once on the answer."""
    async def action(form, skills):
        generated = await reset_password(db_session, agent, agent_id, str(form.get("password") or "")[:300])
        return agent_id, generated, "password"
    return await _agent_change(request, db_session, agent_id, action)


# --- team calendars (business hours the SLA due times count in) --------------------------------

async def _calendar_page(request: Request, db_session: AsyncSession, *, values: dict | None = None,
                         errors: dict | None = None, status_code: int = 200) -> Template:
    teams = (await reference_lists(db_session)).teams
    return render(request, "admin_calendar.html", {
        "teams": teams, "hours": {t.id: day_intervals(t.opening_hours) for t in teams}, "days": DAYS,
        "values": values or {}, "errors": errors or {}, "notice": _notice(request),
        "categories": await all_categories(db_session)}, status_code=status_code)


@get("/supervisor/calendar", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def calendar_page(request: Request, agent: Agent, db_session: AsyncSession) -> Template:
    return await _calendar_page(request, db_session)


@post("/supervisor/calendar/{team_id:int}", include_in_schema=False, status_code=303,
      guards=[require_role(*SUPERVISING)])
async def save_calendar_page(request: Request, team_id: int, agent: Agent, db_session: AsyncSession,
                             settings: Settings) -> Template | Redirect:
    form = await request.form()
    values = {**_typed(form), "team_id": team_id}
    data = CalendarIn(name=text(form, "name", 200), hours={day: text(form, f"hours_{day}", 200) for day in DAYS},
                      always_open=form.get("always_open") == "on", holiday_country=text(form, "holiday_country", 8),
                      extra_holidays=[d for d in text(form, "extra_holidays", 5000).split() if d])
    try:
        await save_team_calendar(db_session, agent, team_id, data, settings.timezone)
    except DomainError as exc:
        async def page(**kwargs):
            return await _calendar_page(request, db_session, values=values, **kwargs)
        return await _refused(request, db_session, exc, page)
    await db_session.commit()
    return Redirect("/supervisor/calendar?done=saved", status_code=303)


ROUTES = [categories_page, new_category, category_page, create_category, edit_category, skills_page,
          save_skill_page, agents_page, new_agent, agent_page, create_agent_page, edit_agent_page,
          agent_active_page, agent_password_page, calendar_page, save_calendar_page]
