"""What every job receives in ctx, built once per worker (arq) or per app (in-process)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import make_sessionmaker
from app.queue import JobQueue
from app.registry import PARSERS, build_senders
from app.settings import Settings


def build_job_context(settings: Settings, engine: AsyncEngine, queue: JobQueue | None = None) -> dict[str, Any]:
    return {
        "settings": settings,
        "engine": engine,
        "sessionmaker": make_sessionmaker(engine),
        "queue": queue,
        "parsers": PARSERS,
        "senders": build_senders(settings),
    }
