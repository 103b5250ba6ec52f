"""Agents' sessions on the pages, and CSRF protection of every form.

Server-side sessions (litestar's ServerSideSessionConfig): the cookie holds only a random id;
what it stands for is kept in Redis when GUICHET_REDIS_URL is set (every web process sees it),
else in files under GUICHET_SESSION_DIR (the embedded mode is one process; files survive a
restart). Chosen over signed cookies because signing out and changing a password must end a
session for real, not wait for a cookie to expire.

The JSON API (/api) and the webhooks (/webhooks) neither read sessions nor check CSRF tokens:
they authenticate each request (a Bearer token, a provider's signature), which a browser never
sends by itself, so a forged cross-site request carries nothing they accept."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.base import Store
from litestar.stores.file import FileStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis

from app.settings import Settings

SESSION_COOKIE = "guichet_session"
CSRF_COOKIE = "guichet_csrf"
SESSION_HOURS = 10  # a working day; then sign in again
SECRET_FILE = Path("var/secret_key")
NOT_FOR_PAGES = ["^/api/", "^/webhooks/"]  # token- or signature-authenticated: no cookies, no CSRF
_NEW_ID = "guichet.new_session_id"


def load_secret_key(settings: Settings, path: Path = SECRET_FILE) -> str:
    """GUICHET_SECRET_KEY, else the one kept in `path` (created at the first start, mode 600)."""
    if settings.secret_key:
        return settings.secret_key
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return path.read_text().strip()
        with os.fdopen(descriptor, "w") as file:
            file.write(key + "\n")
        return key


def secure_cookies(settings: Settings) -> bool:
    return urlsplit(settings.public_url).scheme == "https"


class RotatingSessionBackend(ServerSideSessionBackend):
    """A new session id at sign-in (`rotate_session_id`): an id planted in the browser before
    (session fixation) never becomes a signed-in session."""

    def get_session_id(self, connection: ASGIConnection) -> str:
        return connection.scope.get(_NEW_ID) or super().get_session_id(connection)  # type: ignore[return-value]


class GuichetSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


def session_config(settings: Settings) -> ServerSideSessionConfig:
    return GuichetSessionConfig(
        key=SESSION_COOKIE, max_age=SESSION_HOURS * 3600, httponly=True, samesite="lax",
        secure=secure_cookies(settings), exclude=NOT_FOR_PAGES, store="sessions")


def session_store(settings: Settings) -> tuple[Store, Redis | None]:
    """The store, and the Redis client to close at shutdown (None for files)."""
    if settings.redis_url:
        client = Redis.from_url(settings.redis_url)
        return RedisStore(client, namespace="guichet:sessions"), client
    return FileStore(Path(settings.session_dir), create_directories=True), None


def csrf_config(settings: Settings, secret: str) -> CSRFConfig:
    # The token cookie is HttpOnly: forms carry the token in a hidden field, scripts never read it.
    return CSRFConfig(secret=secret, cookie_name=CSRF_COOKIE, cookie_secure=secure_cookies(settings),
                      cookie_httponly=True, cookie_samesite="lax", exclude=NOT_FOR_PAGES)


async def rotate_session_id(connection: ASGIConnection, data: dict[str, Any]) -> None:
    """Drop the visitor's previous session and start `data` under a new id."""
    old = connection.cookies.get(SESSION_COOKIE)
    if old and old != "null":
        await connection.app.stores.get("sessions").delete(old)
    connection.scope[_NEW_ID] = secrets.token_hex(32)  # type: ignore[literal-required]
    connection.set_session(data)
