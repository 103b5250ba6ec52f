"""GET /events: Server-Sent Events telling a page that what it shows has changed.

Every POLL_SECONDS the stream reads a cheap version of each scope the page asked for (`queue`:
the agent's work list, routing.worklist.queue_version; `ticket=REF`: crm.tickets.ticket_version;
`board`: the supervisor's board, routing.board.board_version)
in a short session of its own (no connection is held between polls), and sends an event named
after the scope when it differs from the last one; the page (static/live.js) then reloads that
fragment. A comment every poll keeps proxies from closing the stream; it ends after
MAX_SECONDS (the browser reconnects by itself) and as soon as the client goes (Litestar cancels
the stream on disconnect)."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from litestar import Request, get
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from app.web.guard import require_role
from app.web.queue import WORKERS
from app.web.supervisor import SUPERVISING
from crm import tickets
from crm.errors import NotFound
from routing.board import board_version
from routing.models import Agent
from routing.worklist import queue_version

POLL_SECONDS = 2.0
MAX_SECONDS = 600
RETRY_MILLISECONDS = 3000


async def _versions(sessionmaker, agent_id: int, want_queue: bool, reference: str,
                    want_board: bool = False) -> dict[str, str]:
    found: dict[str, str] = {}
    async with sessionmaker() as db:
        if want_queue:
            found["queue"] = await queue_version(db, agent_id)
        if want_board:
            found["board"] = await board_version(db)
        if reference:
            try:
                ticket = await tickets.find_by_reference(db, reference)
            except NotFound:
                return found
            found["ticket"] = await tickets.ticket_version(db, ticket.id)
    return found


async def change_events(sessionmaker, agent_id: int, *, want_queue: bool, reference: str,
                        want_board: bool = False, poll_seconds: float = POLL_SECONDS,
                        max_seconds: float = MAX_SECONDS) -> AsyncIterator[ServerSentEventMessage]:
    """"ready" at once, then one event per scope that changed since the previous poll."""
    last = await _versions(sessionmaker, agent_id, want_queue, reference, want_board)
    yield ServerSentEventMessage(event="ready", data="ok", retry=RETRY_MILLISECONDS)
    ends = time.monotonic() + max_seconds
    while time.monotonic() < ends:
        await asyncio.sleep(poll_seconds)
        now = await _versions(sessionmaker, agent_id, want_queue, reference, want_board)
        changed = [scope for scope, version in now.items() if last.get(scope) != version]
        last = now
        for scope in changed:
            yield ServerSentEventMessage(event=scope, data=now[scope])
        if not changed:
            yield ServerSentEventMessage(comment="-")


@get("/events", include_in_schema=False, guards=[require_role(*WORKERS)])
async def events(request: Request, agent: Agent, ticket: str = "",
                 watch_queue: Annotated[bool, Parameter(query="queue")] = False,
                 board: bool = False) -> ServerSentEvent:
    """?queue=true: the agent's work list; ?ticket=REF: one ticket; ?board=true: the supervisor's
    board (supervisors and admins only; ignored for others). Several may be asked."""
    return ServerSentEvent(change_events(request.app.state.sessionmaker, agent.id, want_queue=watch_queue,
                                         reference=ticket.strip().upper()[:40],
                                         want_board=board and agent.role in {r.value for r in SUPERVISING}),
                           headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
