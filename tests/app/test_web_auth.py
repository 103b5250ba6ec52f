"""Signing in and out of the pages: argon2 passwords, server-side sessions, cookie flags, CSRF,
the failed sign-in limit, password change, the access trail."""
from __future__ import annotations

import re

import pytest

from sqlmodel import select

from app.seeds import DEMO_PASSWORD
from crm.models import AccessRecord
from tests.conftest import Stack, base_settings, running, seed

FRONTDESK = "sophie.martin@demo.guichet.fr"


def _token(html: str) -> str:
    return re.search(r'name="_csrf_token" value="([^"]+)"', html).group(1)


async def test_sign_in_sets_a_safe_cookie_and_goes_where_they_wanted(stack: Stack) -> None:
    first = await stack.client.get("/desk?q=Amrani")
    assert first.headers["location"] == "/login?next=/desk%3Fq%3DAmrani" or first.headers["location"].startswith("/login?next=/desk")
    token = await stack.csrf_token("/login")
    response = await stack.client.post("/login", data={"email": FRONTDESK.upper(), "password": DEMO_PASSWORD,
                                                       "next": "/desk?q=Amrani", "_csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/desk?q=Amrani"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("guichet_session="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie
    assert (await stack.client.get("/desk")).status_code == 200
    async with stack.session() as session:
        actions = (await session.exec(select(AccessRecord.action).where(AccessRecord.subject_type == "agent"))).all()
    assert "sign_in" in actions


async def test_the_cookies_are_secure_behind_https(settings) -> None:
    await seed(settings.database_url)
    async with running(settings.model_copy(update={"public_url": "https://guichet.example.fr"})) as stack:
        page = await stack.client.get("/login")
        assert "Secure" in page.headers["set-cookie"]  # the CSRF cookie
        csrf_cookie = page.cookies.get("guichet_csrf")  # a Secure cookie: httpx keeps it for https only
        response = await stack.client.post("/login", data={"email": FRONTDESK, "password": DEMO_PASSWORD,
                                                           "_csrf_token": _token(page.text)},
                                           headers={"Cookie": f"guichet_csrf={csrf_cookie}"})
        assert any("Secure" in h for h in response.headers.get_list("set-cookie") if h.startswith("guichet_session="))


async def test_no_open_redirect_after_sign_in(stack: Stack) -> None:
    token = await stack.csrf_token("/login")
    response = await stack.client.post("/login", data={"email": FRONTDESK, "password": DEMO_PASSWORD,
                                                       "next": "//evil.example/", "_csrf_token": token})
    assert response.headers["location"] == "/desk"


@pytest.mark.parametrize(("email", "home"), [(FRONTDESK, "/desk"), ("amina.benali@demo.guichet.fr", "/queue"),
                                           ("claire.dubois@demo.guichet.fr", "/supervisor")])
async def test_each_role_lands_on_its_own_page_when_it_asked_for_none(stack: Stack, email: str, home: str) -> None:
    response = await stack.sign_in(email)
    assert response.headers["location"] == home
    assert (await stack.client.get("/")).headers["location"] == home
    assert (await stack.client.get("/login")).headers["location"] == home
    assert (await stack.client.get(home)).status_code == 200


async def test_a_post_without_csrf_token_is_refused_but_the_api_needs_none(stack: Stack) -> None:
    await stack.client.get("/login")
    refused = await stack.client.post("/login", data={"email": FRONTDESK, "password": DEMO_PASSWORD})
    assert refused.status_code == 403 and "<html" in refused.text
    token = await stack.token()
    api = await stack.client.post("/api/v1/contacts", headers={"Authorization": f"Bearer {token}"}, json={
        "channel": "phone", "full_name": "Ali Ben", "phone": "+33612345678", "category": "voirie",
        "subject": "Lampadaire", "note": "Le lampadaire est éteint"})
    assert api.status_code == 201


async def test_wrong_passwords_are_limited_per_email_and_address(stack: Stack) -> None:
    token = await stack.csrf_token("/login")
    for _ in range(5):
        wrong = await stack.client.post("/login", data={"email": FRONTDESK, "password": "not-the-password",
                                                        "_csrf_token": token})
        assert wrong.status_code == 400 and "Courriel ou mot de passe incorrect" in wrong.text
    locked = await stack.client.post("/login", data={"email": FRONTDESK, "password": DEMO_PASSWORD,
                                                     "_csrf_token": token})
    assert locked.status_code == 429 and "Trop d’échecs de connexion" in locked.text
    # Another agent from the same computer is not locked out.
    await stack.sign_in("karim.haddad@demo.guichet.fr")


async def test_unknown_email_says_the_same_as_a_wrong_password(stack: Stack) -> None:
    token = await stack.csrf_token("/login")
    unknown = await stack.client.post("/login", data={"email": "nobody@demo.guichet.fr", "password": "x" * 12,
                                                      "_csrf_token": token})
    assert unknown.status_code == 400 and "Courriel ou mot de passe incorrect" in unknown.text


async def test_sign_out_ends_the_session_for_real(stack: Stack) -> None:
    await stack.sign_in(FRONTDESK)
    old_cookie = stack.client.cookies.get("guichet_session")
    token = _token((await stack.client.get("/desk")).text)
    out = await stack.client.post("/logout", data={"_csrf_token": token})
    assert out.status_code == 303 and out.headers["location"].startswith("/login")
    stack.client.cookies.set("guichet_session", old_cookie)  # a copy of the cookie is worth nothing now
    assert (await stack.client.get("/desk")).status_code == 303
    async with stack.session() as session:
        actions = (await session.exec(select(AccessRecord.action).where(AccessRecord.subject_type == "agent"))).all()
    assert "sign_out" in actions


async def test_a_new_session_id_at_sign_in(stack: Stack) -> None:
    stack.client.cookies.set("guichet_session", "planted-by-someone-else", domain="testserver.local")
    await stack.sign_in(FRONTDESK)
    assert stack.client.cookies.get("guichet_session") not in (None, "planted-by-someone-else")


async def test_changing_the_password_signs_out_the_other_sessions(settings) -> None:
    await seed(settings.database_url)
    async with running(settings) as stack, running(settings) as other:
        await stack.sign_in(FRONTDESK)
        await other.sign_in(FRONTDESK)
        token = _token((await stack.client.get("/account")).text)
        bad = await stack.client.post("/account/password", data={
            "_csrf_token": token, "current_password": "wrong-password", "new_password": "a-new-password-1",
            "confirm_password": "a-new-password-1"})
        assert bad.status_code == 400 and "Ce n’est pas votre mot de passe actuel" in bad.text
        changed = await stack.client.post("/account/password", data={
            "_csrf_token": token, "current_password": DEMO_PASSWORD, "new_password": "a-new-password-1",
            "confirm_password": "a-new-password-1"})
        assert changed.status_code == 303
        assert (await stack.client.get("/account")).status_code == 200  # this one goes on
        assert (await other.client.get("/account")).status_code == 303  # the other one is over
        other.client.cookies.clear()
        await other.sign_in(FRONTDESK, "a-new-password-1")


def test_settings_without_a_secret_key_make_one_and_keep_it(tmp_path) -> None:
    from app.web.sessions import load_secret_key

    settings = base_settings(secret_key=None)
    first = load_secret_key(settings, tmp_path / "secret_key")
    assert len(first) > 40 and load_secret_key(settings, tmp_path / "secret_key") == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
