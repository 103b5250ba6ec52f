"""Who may open a page: the signed-in agent and `require_role(...)`.

Every page handler that is not public carries `guards=[require_role(...)]`;
tests/app/test_web_roles.py walks every route and fails on a page that has neither a role
guard nor a place in PUBLIC_PAGES."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from routing.agents import password_stamp
from routing.models import Agent, Role

STAFF = (Role.FRONTDESK, Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
_AGENT = "guichet.agent"
_MISSING = object()

Guard = Callable[[ASGIConnection, BaseRouteHandler], Awaitable[None]]


class SignInRequired(Exception):
    """Anonymous on an agents' page: app/errors.py sends them to /login?next=…"""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign in required")
        self.next_path = next_path


class PageForbidden(Exception):
    """Signed in, but this page is not for their role: a 403 page in their language."""


def session_data(connection: ASGIConnection) -> dict[str, Any]:
    data = connection.scope.get("session")
    return data if isinstance(data, dict) else {}


async def signed_in_agent(connection: ASGIConnection) -> Agent | None:
    """The agent of this session, read once per request; a session whose agent is gone,
    deactivated or has changed password since is ended here."""
    cached = connection.scope.get(_AGENT, _MISSING)  # type: ignore[call-overload]
    if cached is not _MISSING:
        return cached
    agent = None
    data = session_data(connection)
    if isinstance(data.get("agent_id"), int):
        async with connection.app.state.sessionmaker() as db:
            agent = await db.get(Agent, data["agent_id"])
        if agent is None or not agent.active or password_stamp(agent) != data.get("stamp"):
            agent = None
            connection.clear_session()
    connection.scope[_AGENT] = agent  # type: ignore[literal-required]
    return agent


def loaded_agent(connection: ASGIConnection) -> Agent | None:
    """The agent `signed_in_agent` found for this request, without asking the database again."""
    agent = connection.scope.get(_AGENT)  # type: ignore[call-overload]
    return agent if isinstance(agent, Agent) else None


def require_role(*roles: Role) -> Guard:
    """A guard: anonymous visitors go to the sign-in page, other roles get a 403 page."""
    allowed = frozenset(role.value for role in roles)

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        agent = await signed_in_agent(connection)
        if agent is None:
            query = connection.scope.get("query_string", b"").decode("latin-1")
            raise SignInRequired(connection.url.path + (f"?{query}" if query else ""))
        if agent.role not in allowed:
            raise PageForbidden()

    guard.roles = allowed  # type: ignore[attr-defined]  # read by the role-matrix test
    return guard


async def current_agent(request: ASGIConnection) -> Agent:
    """The `agent` dependency of guarded pages (the guard has already loaded it)."""
    agent = await signed_in_agent(request)
    if agent is None:  # a page that forgot its guard
        raise SignInRequired(request.url.path)
    return agent
