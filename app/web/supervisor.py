"""The supervisor's board (/supervisor): agents and teams (open vs capacity, presence, oldest
ticket, SLA at risk / breached), the open tickets, moves (one, several), presence, and the
rebalance plan (/supervisor/rebalance) applied whole or picked.

Plain forms; each POST calls the same routing.supervision service as the JSON API
(app/api/routing.py) and answers 303 back to the board with what happened; a refused change
(over capacity, unknown ticket…) shows the board again with the reason."""
from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.queue import JobQueue, enqueue_after_commit
from app.settings import Settings, routing_config
from app.web.guard import require_role
from app.web.pages import render
from crm.errors import DomainError
from routing.board import open_tickets
from routing.models import Agent, Presence, Role
from routing.supervision import apply_moves, move_tickets, rebalance_plan, set_presence, workload

SUPERVISING = (Role.SUPERVISOR, Role.ADMIN)
NOTICES = {"moved", "presence", "rebalanced"}
WHY_MAX = 500


def _why(form, default: str) -> str:
    return (str(form.get("why") or "").strip() or default)[:WHY_MAX]


async def _board(request: Request, db_session: AsyncSession, settings: Settings, *, error: str | None = None,
                 status_code: int = 200) -> Template:
    load = await workload(db_session, routing_config(settings))
    tickets = await open_tickets(db_session, limit=200)
    query = request.query_params
    notice = query.get("done") if query.get("done") in NOTICES else None
    return render(request, "supervisor.html", {
        "load": load, "tickets": tickets, "presences": [p.value for p in Presence], "error": error,
        "notice": notice, "count": query.get("n", ""), "skipped": query.get("skipped", "")},
        status_code=status_code)


@get("/supervisor", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def board(request: Request, agent: Agent, db_session: AsyncSession, settings: Settings) -> Template:
    return await _board(request, db_session, settings)


def _agent_id(value: object) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


@post("/supervisor/reassign", include_in_schema=False, status_code=303, guards=[require_role(*SUPERVISING)])
async def reassign(request: Request, agent: Agent, db_session: AsyncSession,
                   settings: Settings) -> Template | Redirect:
    """One ticket (typed reference) or the ticked ones, to an agent or back to the queue; all or none."""
    form = await request.form()
    references = [r for r in form.getall("references") if r] if "references" in form else []
    typed = str(form.get("reference") or "").strip()
    if typed:
        references.append(typed)
    if not references:
        return await _board(request, db_session, settings, error="Tick at least one ticket, or type a reference.",
                            status_code=400)
    try:
        moved = await move_tickets(db_session, references, _agent_id(form.get("agent_id")), by=agent,
                                   why=_why(form, "moved from the supervisor's board"),
                                   config=routing_config(settings))
    except DomainError as exc:
        await db_session.rollback()
        return await _board(request, db_session, settings, error=exc.message, status_code=exc.status_code)
    await db_session.commit()
    return Redirect(f"/supervisor?done=moved&n={len(moved)}", status_code=303)


@post("/supervisor/presence", include_in_schema=False, status_code=303, guards=[require_role(*SUPERVISING)])
async def presence(request: Request, agent: Agent, db_session: AsyncSession, settings: Settings,
                   queue: JobQueue) -> Template | Redirect:
    """Away or offline hands the agent's unanswered tickets to others; available fills them."""
    form = await request.form()
    target, wanted = _agent_id(form.get("agent_id")), str(form.get("presence") or "")
    try:
        if target is None:
            raise DomainError("choose an agent")
        moved = await set_presence(db_session, target, wanted, by=agent, why=_why(form, "set on the board"),
                                   redistribute=form.get("redistribute", "on") == "on",
                                   config=routing_config(settings))
    except DomainError as exc:
        await db_session.rollback()
        return await _board(request, db_session, settings, error=exc.message, status_code=exc.status_code)
    await db_session.commit()
    if wanted == Presence.AVAILABLE.value:
        await enqueue_after_commit(queue, "fill_agent", target)
    return Redirect(f"/supervisor?done=presence&n={len(moved)}", status_code=303)


@get("/supervisor/rebalance", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def rebalance_page(request: Request, agent: Agent, db_session: AsyncSession, settings: Settings) -> Template:
    moves = await rebalance_plan(db_session, routing_config(settings))
    await db_session.commit()  # routing state created on first sight of old tickets
    names = {a.agent_id: a.name for a in (await workload(db_session, routing_config(settings))).agents}
    return render(request, "supervisor_rebalance.html", {"moves": moves, "names": names})


@post("/supervisor/rebalance", include_in_schema=False, status_code=303, guards=[require_role(*SUPERVISING)])
async def apply_rebalance(request: Request, agent: Agent, db_session: AsyncSession,
                          settings: Settings) -> Redirect:
    """`apply=all`: the whole plan as it is now; else the ticked moves (by ticket reference)."""
    form = await request.form()
    config = routing_config(settings)
    moves = await rebalance_plan(db_session, config)
    if form.get("apply") != "all":
        wanted = {r.strip().upper() for r in form.getall("references")} if "references" in form else set()
        moves = [m for m in moves if m.reference in wanted]
    applied, skipped = await apply_moves(db_session, moves, by=agent, config=config)
    await db_session.commit()
    return Redirect(f"/supervisor?done=rebalanced&n={len(applied)}&skipped={len(skipped)}", status_code=303)


ROUTES = [board, reassign, presence, rebalance_page, apply_rebalance]
