"""One place where expected failures become HTTP answers: JSON for the API, a page in the
visitor's language for the pages."""
from __future__ import annotations

import logging
from urllib.parse import quote

from crm.errors import DomainError
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from app.web.guard import PageForbidden, SignInRequired

log = logging.getLogger("guichet.http")


NOT_PAGES = ("/api/", "/webhooks/", "/schema", "/health", "/ready", "/receipts/", "/static/")
# What the error page says, by status (msgids, translated in the page).
PAGE_MESSAGES = {
    400: "The request could not be understood.",
    403: "Your role does not give access to this page.",
    404: "This page or this request does not exist.",
    413: "The file is too large.",
    429: "Too many attempts. Wait a little, then try again.",
}
CSRF_MESSAGE = "This form has expired. Go back, reload the page and send it again."


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(NOT_PAGES)


def error_page(request: Request, status_code: int, message: str | None = None) -> Response:
    from app.web.pages import render

    return render(request, "error.html", {
        "status_code": status_code,
        "message": message or PAGE_MESSAGES.get(status_code, "Something went wrong; it has been logged.")},
        status_code=status_code)


def sign_in_required(_: Request, exc: SignInRequired) -> Response:
    return Redirect(f"/login?next={quote(exc.next_path, safe='/')}", status_code=303)


def page_forbidden(request: Request, _: PageForbidden) -> Response:
    return error_page(request, 403)


def domain_error(request: Request, exc: DomainError) -> Response:
    if is_page(request):
        return error_page(request, exc.status_code)
    body = {"status_code": exc.status_code, "code": exc.code, "detail": exc.message}
    if exc.fields:
        body["errors"] = exc.fields
    body |= getattr(exc, "extra", None) or {}  # what the error proposes (the next channel...)
    return Response(body, status_code=exc.status_code, media_type=MediaType.JSON)


def validation_error(request: Request, exc: ValidationException) -> Response:
    """Litestar's validation failures, reshaped as one message per field."""
    if is_page(request):
        return error_page(request, 400)
    errors: dict[str, str] = {}
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key = str(item.get("key") or item.get("source") or "body")
            errors.setdefault(key, str(item.get("message", "invalid")))
    body = {"status_code": 400, "code": "invalid_input", "detail": exc.detail or "invalid request"}
    if errors:
        body["errors"] = errors
    return Response(body, status_code=400, media_type=MediaType.JSON)


def unexpected_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and is_page(request):
        csrf = exc.status_code == 403 and "CSRF" in str(exc.detail)
        return error_page(request, exc.status_code, CSRF_MESSAGE if csrf else None)
    if isinstance(exc, HTTPException):
        return Response({"status_code": exc.status_code, "detail": exc.detail},
                        status_code=exc.status_code, headers=exc.headers, media_type=MediaType.JSON)
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    if is_page(request):
        return error_page(request, 500)
    return Response({"status_code": 500, "detail": "internal error; it has been logged"},
                    status_code=HTTP_500_INTERNAL_SERVER_ERROR, media_type=MediaType.JSON)


EXCEPTION_HANDLERS = {
    SignInRequired: sign_in_required,
    PageForbidden: page_forbidden,
    DomainError: domain_error,
    ValidationException: validation_error,
    Exception: unexpected_error,
}
