"""Liveness and readiness."""
from __future__ import annotations

from litestar import Response, get
from litestar.datastructures import State
from sqlalchemy import text


@get("/health", tags=["health"], summary="The process is alive")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/ready", tags=["health"], summary="The database (and Redis when configured) answer")
async def ready(state: State) -> Response[dict[str, str]]:
    checks: dict[str, str] = {}
    try:
        async with state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; say which kind
        checks["database"] = f"unavailable: {type(exc).__name__}"
    if state.redis is not None:
        try:
            await state.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"unavailable: {type(exc).__name__}"
    ok = all(value == "ok" for value in checks.values())
    return Response({"status": "ready" if ok else "not ready", **checks}, status_code=200 if ok else 503)
