"""Server-rendered pages: one router (app.main mounts it), the `agent` of guarded pages, and
headers every page carries. How to add a page: docs/web.md."""
from __future__ import annotations

from litestar import Request, Router, get
from litestar.datastructures import ResponseHeader
from litestar.di import Provide
from litestar.response import Redirect

from app.settings import Settings

# Scripts, styles and images come from us only (no CDN; no inline script to inject into).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


@get("/", include_in_schema=False)
async def home(request: Request) -> Redirect:
    """Agents to their role's home page, everybody else to the request form."""
    from app.web.guard import signed_in_agent
    from app.web.pages import home_path

    agent = await signed_in_agent(request)
    return Redirect(home_path(agent.role) if agent is not None else "/request")


def web_router(settings: Settings) -> Router:
    from app.web import account, desk, receipt, request_form, supervisor, supervisor_review, supervisor_stats, track
    from app.web import attachments, live, queue, ticket_page
    from app.web import admin_routing, admin_templates
    from app.web.guard import current_agent

    return Router("/", route_handlers=[
        home, request_form.request_form, request_form.submit_request_form, receipt.receipt,
        receipt.desk_receipt, account.login_page, account.login, account.logout, account.account_page,
        account.change_password, account.change_language, track.track_form, track.track,
        desk.desk_router(settings),
        queue.queue_page, queue.take, ticket_page.ticket_page, ticket_page.set_status, ticket_page.add_note,
        ticket_page.reply, live.events,
        *supervisor.ROUTES, *supervisor_review.ROUTES, *supervisor_stats.ROUTES, *attachments.ROUTES,
        *admin_templates.ROUTES, *admin_routing.ROUTES,
    ], dependencies={"agent": Provide(current_agent)}, response_headers=[
        ResponseHeader(name="Content-Security-Policy", value=CONTENT_SECURITY_POLICY),
        ResponseHeader(name="Referrer-Policy", value="same-origin"),
        ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ])
