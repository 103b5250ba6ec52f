"""Every page route × every role: anonymous visitors are sent to /login, a role a page is not
for gets a 403 page in the agent's language, and a page without a guard fails this test."""
from __future__ import annotations

import re

import pytest
from litestar import Request, get
from litestar.handlers import HTTPRouteHandler
from litestar.response import Template

from app.seeds import AGENTS, MORE_AGENTS, seed_demo_agents
from app.web.guard import require_role
from app.web.pages import render
from routing.models import Role
from tests.conftest import Stack, running, seed

# Open to everybody: the citizen's pages, signing in, and the Bearer-token receipt of the API.
# The survey page is reached from a link in a citizen's mail; its signed token is the access.
PUBLIC_PAGES = {"/", "/request", "/track", "/login", "/receipts/{reference:str}", "/survey/{token:str}"}
NOT_PAGES = ("/api/", "/webhooks/", "/schema", "/static", "/health", "/ready")
SAMPLE = {"{reference:str}": "GRU-2026-000001"}
# Never-ending answers (Server-Sent Events): the guard is checked here (anonymous, other roles);
# what an allowed role gets is a browser test's business (tests/e2e/test_web_queue.py).
STREAMS = {"/events"}
# frontdesk, agent, supervisor from the tests' seed; the administrator of the full demo, added by the matrix test
DEMO_ADMIN = next(a for a in MORE_AGENTS if a.role == "admin")
ROLE_EMAIL = {a.role: a.email for a in [*AGENTS, DEMO_ADMIN]}
# The administration pages (app/web/admin_*.py) and who may open them.
_SUPERVISING, _ADMIN = frozenset({"supervisor", "admin"}), frozenset({"admin"})
ADMIN_PAGES = {
    *{("GET", path, _SUPERVISING) for path in (
        "/supervisor/templates", "/supervisor/templates/new", "/supervisor/templates/{template_id:int}",
        "/supervisor/categories", "/supervisor/categories/new", "/supervisor/categories/{category_id:int}",
        "/supervisor/skills", "/supervisor/agents", "/supervisor/agents/{agent_id:int}", "/supervisor/calendar")},
    *{("POST", path, _SUPERVISING) for path in (
        "/supervisor/templates", "/supervisor/templates/{template_id:int}/rollback", "/supervisor/categories",
        "/supervisor/categories/{category_id:int}", "/supervisor/agents/{agent_id:int}",
        "/supervisor/calendar/{team_id:int}")},
    ("GET", "/supervisor/agents/new", _ADMIN),
    *{("POST", path, _ADMIN) for path in (
        "/supervisor/skills", "/supervisor/agents", "/supervisor/agents/{agent_id:int}/active",
        "/supervisor/agents/{agent_id:int}/password")},
}


def page_routes(app) -> list[tuple[str, str, HTTPRouteHandler]]:
    rows = []
    for route in app.routes:
        if route.path.startswith(NOT_PAGES) or not hasattr(route, "route_handlers"):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods - {"OPTIONS", "HEAD"}:
                rows.append((method, route.path, handler))
    return rows


def roles_of(handler: HTTPRouteHandler) -> frozenset[str] | None:
    for guard in handler.guards or []:
        if hasattr(guard, "roles"):
            return guard.roles
    return None


def url(path: str) -> str:
    for pattern, value in SAMPLE.items():
        path = path.replace(pattern, value)
    return re.sub(r"\{[a-z_]+:int\}", "1", path)  # a sample id: anonymous POSTs never reach it


async def test_every_page_is_public_or_guarded_by_role(stack: Stack) -> None:
    unguarded = {(m, p) for m, p, h in page_routes(stack.app) if roles_of(h) is None and p not in PUBLIC_PAGES}
    assert not unguarded, f"pages with neither require_role(...) nor a place in PUBLIC_PAGES: {unguarded}"


async def test_the_whole_matrix_of_pages_and_roles(settings) -> None:
    await seed(settings.database_url)
    async with running(settings) as stack:
        async with stack.session() as session:
            await seed_demo_agents(session, [DEMO_ADMIN])
            await session.commit()
        routes = [(m, p, roles_of(h)) for m, p, h in page_routes(stack.app) if roles_of(h) is not None]
        assert {"/desk", "/account", "/desk/requests", "/queue", "/tickets/{reference:str}", "/events",
                "/tickets/{reference:str}/attachments/{attachment_id:int}",
                "/tickets/{reference:str}/attachments/{attachment_id:int}/preview"} \
            <= {p for _, p, _ in routes}
        assert ADMIN_PAGES <= {(m, p, frozenset(r)) for m, p, r in routes}
        # Anonymous: the sign-in page, remembering where they wanted to go (GETs), or no CSRF
        # token at all for a POST (a browser that has not signed in holds none).
        for method, path, _ in routes:
            if method == "GET":
                response = await stack.client.get(url(path))
                assert response.status_code == 303, (path, response.status_code)
                assert response.headers["location"].startswith("/login?next=")
        token = await stack.csrf_token("/login")
        for method, path, _ in routes:
            if method == "POST":
                response = await stack.client.post(url(path), data={"_csrf_token": token})
                assert response.status_code == 303 and response.headers["location"].startswith("/login"), path
        for role in (Role.FRONTDESK, Role.AGENT, Role.SUPERVISOR, Role.ADMIN):
            stack.client.cookies.clear()
            await stack.sign_in(ROLE_EMAIL[role.value])
            for method, path, roles in routes:
                if method != "GET" or (path in STREAMS and role.value in roles):
                    continue
                response = await stack.client.get(url(path))
                expected = {200, 404} if role.value in roles else {403}  # 404: the sample reference
                assert response.status_code in expected, (role, path, response.status_code)


async def test_a_role_a_page_is_not_for_gets_a_403_page_in_their_language(settings) -> None:
    @get("/test-only/supervisors", guards=[require_role(Role.SUPERVISOR, Role.ADMIN)], include_in_schema=False)
    async def supervisors_only(request: Request) -> Template:
        return render(request, "error.html", {"status_code": 200, "message": "Sorry"})

    await seed(settings.database_url)
    async with running(settings) as stack:
        stack.app.register(supervisors_only)
        await stack.sign_in(ROLE_EMAIL["frontdesk"])
        french = await stack.client.get("/test-only/supervisors")
        assert french.status_code == 403
        assert '<html lang="fr" dir="ltr">' in french.text and "Votre rôle ne donne pas accès" in french.text
        token = re.search(r'name="_csrf_token" value="([^"]+)"', french.text).group(1)
        await stack.client.post("/account/language", data={"_csrf_token": token, "language": "ar",
                                                            "back": "/desk"})
        arabic = await stack.client.get("/test-only/supervisors")
        assert arabic.status_code == 403 and '<html lang="ar" dir="rtl">' in arabic.text
        assert "دورك لا يتيح الوصول" in arabic.text
        stack.client.cookies.clear()
        await stack.sign_in(ROLE_EMAIL["supervisor"])
        assert (await stack.client.get("/test-only/supervisors")).status_code == 200


@pytest.mark.parametrize("path", ["/desk", "/account"])
async def test_pages_say_who_is_signed_in_and_offer_to_sign_out(stack: Stack, path: str) -> None:
    await stack.sign_in(ROLE_EMAIL["frontdesk"])
    page = (await stack.client.get(path)).text
    assert "Sophie Martin" in page and 'action="/logout"' in page
    assert '<main id="main"' in page and 'class="skip" href="#main"' in page and "<header" in page
