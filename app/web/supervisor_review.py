"""What waits for a supervisor's judgement: suspected duplicate citizens (/supervisor/duplicates:
merge, different people, undo a merge), dead letters (/supervisor/outbox: resend) and
quarantined inbound messages (/supervisor/inbound: replay). The same services as the JSON API
(app/api/duplicates.py, app/api/outbox.py) and `guichet inbound list/replay`."""
from __future__ import annotations

import time

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.queue import JobQueue, enqueue_after_commit
from app.web.guard import require_role
from app.web.pages import render
from app.web.supervisor import SUPERVISING
from crm import duplicates
from crm.errors import DomainError
from crm.inbound import quarantined, reopen_for_replay
from crm.merge import recent_merges, unmerge
from crm.models import DuplicateStatus
from replies import dispatch
from replies.models import DeliveryState
from replies.outbox import list_outbox
from routing.models import Agent

REVIEW_NOTICES = {"merged", "different", "undone", "resent", "replayed"}


def _notice(request: Request) -> str | None:
    done = request.query_params.get("done")
    return done if done in REVIEW_NOTICES else None


def _reason(form) -> str:
    return str(form.get("reason") or "").strip()[:1000]


async def _duplicates_page(request: Request, agent: Agent, db_session: AsyncSession, *, error: str | None = None,
                           status_code: int = 200) -> Template:
    after = request.query_params.get("after")
    page = await duplicates.list_duplicates(db_session, status=DuplicateStatus.OPEN.value, limit=20,
                                            after_id=int(after) if after and after.isdigit() else None,
                                            agent_id=agent.id)
    merges = await recent_merges(db_session, limit=10)
    await db_session.commit()  # the access records of the listing
    return render(request, "supervisor_duplicates.html", {"page": page, "merges": merges, "error": error,
                                                          "notice": _notice(request)}, status_code=status_code)


@get("/supervisor/duplicates", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def duplicates_page(request: Request, agent: Agent, db_session: AsyncSession) -> Template:
    return await _duplicates_page(request, agent, db_session)


async def _decide(request: Request, agent: Agent, db_session: AsyncSession, action, done: str) -> Template | Redirect:
    try:
        await action(await request.form())
    except DomainError as exc:
        await db_session.rollback()
        return await _duplicates_page(request, agent, db_session, error=exc.message, status_code=exc.status_code)
    await db_session.commit()
    return Redirect(f"/supervisor/duplicates?done={done}", status_code=303)


@post("/supervisor/duplicates/{pair_id:int}/merge", include_in_schema=False, status_code=303,
      guards=[require_role(*SUPERVISING)])
async def merge_pair(request: Request, pair_id: int, agent: Agent, db_session: AsyncSession) -> Template | Redirect:
    async def action(form) -> None:
        survivor = str(form.get("survivor_id") or "")
        await duplicates.merge_pair(db_session, pair_id, survivor_id=int(survivor) if survivor.isdigit() else None,
                                    actor_id=agent.id, reason=_reason(form))
    return await _decide(request, agent, db_session, action, "merged")


@post("/supervisor/duplicates/{pair_id:int}/different", include_in_schema=False, status_code=303,
      guards=[require_role(*SUPERVISING)])
async def mark_different(request: Request, pair_id: int, agent: Agent,
                         db_session: AsyncSession) -> Template | Redirect:
    async def action(form) -> None:
        await duplicates.mark_different(db_session, pair_id, actor_id=agent.id, reason=_reason(form))
    return await _decide(request, agent, db_session, action, "different")


@post("/supervisor/merges/{merge_id:int}/undo", include_in_schema=False, status_code=303,
      guards=[require_role(*SUPERVISING)])
async def undo_merge(request: Request, merge_id: int, agent: Agent, db_session: AsyncSession) -> Template | Redirect:
    async def action(form) -> None:
        await unmerge(db_session, merge_id=merge_id, actor_id=agent.id, reason=_reason(form))
    return await _decide(request, agent, db_session, action, "undone")


@get("/supervisor/outbox", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def outbox_page(request: Request, agent: Agent, db_session: AsyncSession) -> Template:
    rows = await list_outbox(db_session, state=DeliveryState.FAILED.value, limit=200)
    return render(request, "supervisor_outbox.html", {"rows": rows, "notice": _notice(request), "error": None})


@post("/supervisor/outbox/{delivery_id:int}/resend", include_in_schema=False, status_code=303,
      guards=[require_role(*SUPERVISING)])
async def resend(request: Request, delivery_id: int, agent: Agent, db_session: AsyncSession,
                 queue: JobQueue) -> Redirect:
    delivery = await dispatch.resend(db_session, delivery_id, agent_id=agent.id, agent_name=agent.name)
    await db_session.commit()
    # A job id of its own, as the API does: the first send's id may still be known to the queue.
    await enqueue_after_commit(queue, "send_delivery", delivery.id,
                               job_id=f"send_delivery:{delivery.id}:resend:{int(delivery.updated_at.timestamp())}")
    return Redirect("/supervisor/outbox?done=resent", status_code=303)


@get("/supervisor/inbound", include_in_schema=False, guards=[require_role(*SUPERVISING)])
async def inbound_page(request: Request, agent: Agent, db_session: AsyncSession) -> Template:
    events = await quarantined(db_session)
    return render(request, "supervisor_inbound.html", {"events": events, "notice": _notice(request)})


@post("/supervisor/inbound/{event_id:int}/replay", include_in_schema=False, status_code=303,
      guards=[require_role(*SUPERVISING)])
async def replay(request: Request, event_id: int, agent: Agent, db_session: AsyncSession,
                 queue: JobQueue) -> Redirect:
    """Back in the queue after a fix; the worker interprets its raw bytes again."""
    event = await reopen_for_replay(db_session, event_id)
    await db_session.commit()
    # A job id of its own per replay: an earlier replay's id may still be known to the queue.
    await enqueue_after_commit(queue, "process_inbound", event.id, job_id=f"replay:{event.id}:{time.time_ns()}")
    return Redirect("/supervisor/inbound?done=replayed", status_code=303)


ROUTES = [duplicates_page, merge_pair, mark_different, undo_merge, outbox_page, resend, inbound_page, replay]
