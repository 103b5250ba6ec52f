"""Test harness: every app test runs on SQLite (jobs in process) and, when configured,
on PostgreSQL with Redis (jobs through a real arq worker in burst mode)."""
from __future__ import annotations

import asyncio
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio as redis
from arq.worker import Worker
from litestar import Litestar
from sqlmodel.ext.asyncio.session import AsyncSession

from app import migrations
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.queue import InProcessQueue
from app.seeds import DEMO_PASSWORD, seed_demo_agents, seed_reference_data
from app.settings import Settings
from app.worker import worker_options
from routing.agents import get_agent_by_email, issue_token

PG_URL = os.environ.get("GUICHET_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("GUICHET_TEST_REDIS_URL")
BACKENDS = ["sqlite", *(["postgres"] if PG_URL else [])]
SUPERVISOR = "claire.dubois@demo.guichet.fr"


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI", "").lower() == "true" and not (PG_URL and REDIS_URL):
        raise pytest.UsageError(
            "CI=true but GUICHET_TEST_DATABASE_URL / GUICHET_TEST_REDIS_URL are not set: "
            "run the suite with `make test`, which finds PostgreSQL and Redis"
        )


def pg_admin_dsn() -> str:
    assert PG_URL
    return PG_URL.replace("+asyncpg", "")


def pg_url_for(database: str) -> str:
    assert PG_URL
    return PG_URL.rsplit("/", 1)[0] + "/" + database


async def pg_execute(sql: str) -> None:
    connection = await asyncpg.connect(pg_admin_dsn())
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@asynccontextmanager
async def pg_database(template: str | None = None) -> AsyncIterator[str]:
    """A throwaway PostgreSQL database (a copy of `template` when given), dropped afterwards."""
    name = f"guichet_t_{uuid.uuid4().hex[:10]}"
    await pg_execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield pg_url_for(name)
    finally:
        await pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def base_settings(**overrides) -> Settings:
    values = dict(redis_url=None, smtp_url=None, public_url="http://testserver.local",
                  service_name="Mairie de Test", default_region="FR", sweep_interval_seconds=3600,
                  send_retry_base_seconds=0.05, secret_key="test-secret-key")
    return Settings(_env_file=None, **{**values, **overrides})


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "guichet.db"
    migrations.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    """One migrated PostgreSQL database that every test's database is copied from."""
    if not PG_URL:
        yield None
        return
    name = f"guichet_tpl_{uuid.uuid4().hex[:8]}"
    asyncio.run(pg_execute(f'CREATE DATABASE "{name}"'))
    migrations.upgrade(pg_url_for(name))
    yield name
    asyncio.run(pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def database_url(backend: str, tmp_path: Path, sqlite_template: Path,
                       pg_template: str | None) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    if backend == "sqlite":
        path = tmp_path / "guichet.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    async with pg_database(template=pg_template) as url:
        yield url


@pytest.fixture
async def redis_url(backend: str) -> AsyncIterator[str | None]:
    """PostgreSQL tests go through Redis and arq; the Redis database is emptied for each test."""
    if backend != "postgres" or not REDIS_URL:
        yield None
        return
    client = redis.Redis.from_url(REDIS_URL)
    await client.flushdb()
    await client.aclose()
    yield REDIS_URL


@pytest.fixture
def settings(database_url: str, redis_url: str | None, tmp_path: Path) -> Settings:
    return base_settings(database_url=database_url, redis_url=redis_url,
                         queue_name=f"guichet-test:{uuid.uuid4().hex[:8]}",
                         session_dir=str(tmp_path / "sessions"))


@dataclass
class Stack:
    """The running application as a test sees it: HTTP client, job runner, database."""

    settings: Settings
    app: Litestar
    client: httpx.AsyncClient

    async def drain(self) -> None:
        """Run every queued job, and the jobs they queue, to the end."""
        if self.settings.redis_url:
            options = {**worker_options(self.settings), "cron_jobs": []}
            worker = Worker(**options, burst=True, poll_delay=0.01, handle_signals=False)
            try:
                await worker.main()
            finally:
                await worker.close()
        else:
            queue = self.app.state.queue
            assert isinstance(queue, InProcessQueue)
            await queue.join()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.app.state.sessionmaker() as session:
            yield session

    async def token(self, email: str = SUPERVISOR) -> str:
        async with self.session() as session:
            token = await issue_token(session, await get_agent_by_email(session, email))
            await session.commit()
        return token

    async def csrf_token(self, path: str = "/login") -> str:
        """The token a form of the pages carries (the client keeps its cookie)."""
        page = await self.client.get(path)
        match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert match, f"{path} has no CSRF token"
        return match.group(1)

    async def sign_in(self, email: str = SUPERVISOR, password: str = DEMO_PASSWORD) -> httpx.Response:
        """Sign this client in to the pages (the session cookie stays in the client)."""
        token = await self.csrf_token("/login")
        response = await self.client.post("/login", data={"email": email, "password": password,
                                                          "_csrf_token": token})
        assert response.status_code == 303, response.text
        return response

    async def post_request(self, **fields) -> dict:
        body = {"name": "Nadia Amrani", "email": "nadia@example.org", "category": "etat_civil",
                "subject": "Copie d'acte de naissance", "message": "Bonjour, il me faut une copie.",
                **fields}
        response = await self.client.post("/api/v1/requests", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    async def ticket(self, reference: str) -> dict:
        response = await self.client.get(f"/api/v1/tickets/{reference}",
                                         headers={"Authorization": f"Bearer {await self.token()}"})
        assert response.status_code == 200, response.text
        return response.json()


async def seed(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            await seed_reference_data(session)
            await seed_demo_agents(session)
            await session.commit()
    finally:
        await engine.dispose()


@pytest.fixture
async def seeded(settings: Settings) -> Settings:
    """The test's settings, on a database with the demo's categories, agents and templates (for
    tests that start the app themselves, with settings of their own)."""
    await seed(settings.database_url)
    return settings


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Stack]:
    """The app in this test's event loop (Litestar's test client would run it in another
    thread's loop, where the in-process job queue could not be awaited)."""
    app = create_app(settings)
    started, stop = asyncio.Event(), asyncio.Event()

    async def hold_lifespan() -> None:
        # Entered and exited in this one task: anyio's cancel scopes inside the
        # lifespan refuse to be closed by another task (pytest-asyncio tears
        # fixtures down in a new one).
        async with app.lifespan():
            started.set()
            await stop.wait()

    holder = asyncio.create_task(hold_lifespan())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({holder, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if holder.done():
        waiter.cancel()
        holder.result()  # start-up failed: raise its error
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            yield Stack(settings, app, client)
    finally:
        stop.set()
        await holder


@pytest.fixture
async def bare_stack(settings: Settings) -> AsyncIterator[Stack]:
    """The app on an empty (migrated) database."""
    async with running(settings) as stack:
        yield stack


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    """The app with the demo's categories, agents and templates."""
    async with demo_stack(settings) as stack:
        yield stack


@pytest.fixture
async def local(settings: Settings) -> AsyncIterator[Stack]:
    """The demo stack in local mode: it takes unsigned Twilio posts, so a test can text it."""
    async with demo_stack(settings.model_copy(update={"twilio_allow_unsigned": True})) as stack:
        yield stack


@asynccontextmanager
async def demo_stack(settings: Settings) -> AsyncIterator[Stack]:
    await seed(settings.database_url)
    async with running(settings) as stack:
        await stack.drain()  # the start-up sweep
        yield stack
