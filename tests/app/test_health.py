"""/health and /ready, and the OpenAPI document."""
from __future__ import annotations

import asyncio

from app import migrations
from tests.conftest import Stack, base_settings, running


async def test_health_and_ready(stack: Stack) -> None:
    assert (await stack.client.get("/health")).json() == {"status": "ok"}
    ready = await stack.client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["database"] == "ok"
    assert body.get("redis") == ("ok" if stack.settings.redis_url else None)


async def test_ready_is_503_when_the_database_is_unreachable() -> None:
    settings = base_settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    async with running(settings) as stack:
        assert (await stack.client.get("/health")).status_code == 200
        ready = await stack.client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["database"].startswith("unavailable")


async def test_ready_is_503_when_redis_is_unreachable(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"
    await asyncio.to_thread(migrations.upgrade, url)
    async with running(base_settings(database_url=url, redis_url="redis://127.0.0.1:1/0")) as stack:
        ready = await stack.client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["database"] == "ok" and ready.json()["redis"].startswith("unavailable")


async def test_openapi_documents_the_public_routes(stack: Stack) -> None:
    schema = (await stack.client.get("/schema/openapi.json")).json()
    assert {"/api/v1/requests", "/api/v1/tickets/{reference}", "/api/v1/categories", "/health",
            "/ready"} <= set(schema["paths"])
    assert "BearerToken" in schema["components"]["securitySchemes"]
