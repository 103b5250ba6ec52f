"""One place where expected failures become HTTP answers."""
from __future__ import annotations

import logging

from crm.errors import DomainError
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

log = logging.getLogger("guichet.http")


def domain_error(_: Request, exc: DomainError) -> Response:
    body = {"status_code": exc.status_code, "code": exc.code, "detail": exc.message}
    if exc.fields:
        body["errors"] = exc.fields
    body |= getattr(exc, "extra", None) or {}  # what the error proposes (the next channel...)
    return Response(body, status_code=exc.status_code, media_type=MediaType.JSON)


def validation_error(_: Request, exc: ValidationException) -> Response:
    """Litestar's validation failures, reshaped as one message per field."""
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
    if isinstance(exc, HTTPException):
        return Response({"status_code": exc.status_code, "detail": exc.detail},
                        status_code=exc.status_code, headers=exc.headers, media_type=MediaType.JSON)
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return Response({"status_code": 500, "detail": "internal error; it has been logged"},
                    status_code=HTTP_500_INTERNAL_SERVER_ERROR, media_type=MediaType.JSON)


EXCEPTION_HANDLERS = {
    DomainError: domain_error,
    ValidationException: validation_error,
    Exception: unexpected_error,
}
