"""Signing in and out, and the agent's own account (password, language of the pages)."""
from __future__ import annotations

import logging
from typing import Annotated

from crm.errors import InvalidInput
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from routing.agents import authenticate, password_stamp, record_sign, set_page_language, set_password
from routing.models import Agent
from sqlmodel.ext.asyncio.session import AsyncSession

from app.web.guard import STAFF, require_role, signed_in_agent
from app.web.i18n import LANGUAGES
from app.web.pages import home_path, page_language, render
from app.web.sessions import rotate_session_id
from app.web.throttle import SIGN_IN, Throttle

log = logging.getLogger("guichet.web")
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def safe_next(value: str | None, default: str = "") -> str:
    """Only a path of ours: never another site (open redirect); `default` when none is given
    (empty: the agent's own home page, known once they are signed in)."""
    value = (value or "").strip()
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _minutes(seconds: int) -> int:
    return max(1, (seconds + 59) // 60)


@get("/login", include_in_schema=False)
async def login_page(request: Request, next: str | None = None) -> Template | Redirect:
    agent = await signed_in_agent(request)
    if agent is not None:
        return Redirect(safe_next(next, home_path(agent.role)))
    return render(request, "login.html", {"next": safe_next(next), "values": {}})


@post("/login", include_in_schema=False, status_code=303)
async def login(request: Request, data: Form, db_session: AsyncSession) -> Template | Redirect:
    throttle: Throttle = request.app.state.throttle
    email = (data.get("email") or "").strip().lower()
    next_path = safe_next(data.get("next"))
    subject = f"{email}|{_client(request)}"
    context = {"next": next_path, "values": {"email": email}}
    wait = await throttle.wait_seconds(SIGN_IN, subject)
    if wait:
        log.warning("sign-in refused: too many failures for one email from one address")
        return render(request, "login.html", {**context, "locked_minutes": _minutes(wait)}, status_code=429)
    agent = await authenticate(db_session, email, data.get("password") or "")
    if agent is None:
        await throttle.failed(SIGN_IN, subject)
        log.info("sign-in failed")
        return render(request, "login.html", {**context, "failed": True}, status_code=400)
    await throttle.clear(SIGN_IN, subject)
    record_sign(db_session, agent.id, "sign_in")
    await db_session.commit()
    log.info("agent %s signed in", agent.id)
    await rotate_session_id(request, {"agent_id": agent.id, "stamp": password_stamp(agent),
                                      "lang": agent.language or ""})
    return Redirect(next_path or home_path(agent.role), status_code=303)


@post("/logout", include_in_schema=False, status_code=303, guards=[require_role(*STAFF)])
async def logout(request: Request, agent: Agent, db_session: AsyncSession) -> Redirect:
    record_sign(db_session, agent.id, "sign_out")
    await db_session.commit()
    log.info("agent %s signed out", agent.id)
    language = page_language(request)
    request.clear_session()
    return Redirect(f"/login?signed_out=1&lang={language}", status_code=303)


@get("/account", include_in_schema=False, guards=[require_role(*STAFF)])
async def account_page(request: Request, agent: Agent, changed: bool = False) -> Template:
    return render(request, "account.html", {"changed": changed, "errors": {}})


@post("/account/password", include_in_schema=False, status_code=303, guards=[require_role(*STAFF)])
async def change_password(request: Request, agent: Agent, data: Form,
                          db_session: AsyncSession) -> Template | Redirect:
    throttle: Throttle = request.app.state.throttle
    subject = f"{agent.email}|{_client(request)}"
    new, confirm = data.get("new_password") or "", data.get("confirm_password") or ""
    errors: dict[str, str] = {}
    status = 400
    if await throttle.wait_seconds(SIGN_IN, subject):
        errors["current_password"] = "Too many failed attempts."
        status = 429
    elif await authenticate(db_session, agent.email, data.get("current_password") or "") is None:
        await throttle.failed(SIGN_IN, subject)
        errors["current_password"] = "This is not your current password."
    elif new != confirm:
        errors["confirm_password"] = "The two new passwords differ."
    else:
        row = await db_session.get(Agent, agent.id)
        try:
            await set_password(db_session, row, new)
        except InvalidInput:
            errors["new_password"] = "At least 10 characters."
        else:
            record_sign(db_session, agent.id, "password_change")
            await db_session.commit()
            log.info("agent %s changed their password", agent.id)
            # This session goes on (with the new stamp); every other one of theirs ends.
            await rotate_session_id(request, {"agent_id": agent.id, "stamp": password_stamp(row),
                                              "lang": row.language or ""})
            return Redirect("/account?changed=true", status_code=303)
    return render(request, "account.html", {"changed": False, "errors": errors}, status_code=status)


@post("/account/language", include_in_schema=False, status_code=303, guards=[require_role(*STAFF)])
async def change_language(request: Request, agent: Agent, data: Form, db_session: AsyncSession) -> Redirect:
    language = data.get("language") if data.get("language") in LANGUAGES else None
    row = await db_session.get(Agent, agent.id)
    await set_page_language(db_session, row, language)
    await db_session.commit()
    request.set_session({**request.session, "lang": language or ""})
    return Redirect(safe_next(data.get("back"), "/account"), status_code=303)
