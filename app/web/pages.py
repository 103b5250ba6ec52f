"""What every page shares: its language, the signed-in agent, the navigation, one render call."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from litestar.connection import ASGIConnection
from litestar.response import Template
from routing.models import Role

from app.web.guard import STAFF, loaded_agent, session_data
from app.web.i18n import page_context, pick_language


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str  # a msgid, translated in the template
    roles: tuple[Role, ...]


# The agents' navigation; a new page adds its line (shown to the roles that may open it).
NAV = (
    NavItem("/desk", "Front desk", STAFF),
    NavItem("/account", "My account", STAFF),
    NavItem("/queue", "My queue", (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)),
    NavItem("/supervisor", "Supervision", (Role.SUPERVISOR, Role.ADMIN)),
)

# Where each role starts its day: the counter, the queue, the supervision board.
_HOME_BY_ROLE = {Role.FRONTDESK.value: "/desk", Role.AGENT.value: "/queue",
                 Role.SUPERVISOR.value: "/supervisor", Role.ADMIN.value: "/supervisor"}


def home_path(role: str) -> str:
    """The page a signed-in agent lands on when they asked for none."""
    return _HOME_BY_ROLE.get(role, "/desk")


def page_language(connection: ASGIConnection) -> str:
    """?lang= when given, else the signed-in agent's choice, else the administration's default."""
    settings = connection.app.state.settings
    requested = connection.query_params.get("lang") or session_data(connection).get("lang")
    return pick_language(requested, settings.default_language)


def render(connection: ASGIConnection, template_name: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200, language: str | None = None) -> Template:
    settings = connection.app.state.settings
    language = language or page_language(connection)
    agent = loaded_agent(connection)
    zone = ZoneInfo(settings.timezone)

    def when(moment: datetime, format: str = "medium") -> str:
        """A date and time in the administration's time zone, in the page's language."""
        return format_datetime(moment, format=format, tzinfo=zone, locale=language)

    nav = [item for item in NAV if agent is not None and agent.role in {r.value for r in item.roles}]
    return Template(template_name=template_name, status_code=status_code, context={
        **page_context(language), "service_name": settings.service_name, "agent": agent, "nav": nav,
        "current_path": connection.url.path, "when": when, **(context or {})})
