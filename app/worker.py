"""arq worker settings: the same job functions the embedded mode runs in process."""
from __future__ import annotations

import time
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker

from app.db import make_engine
from app.jobs import FUNCTIONS
from app.jobs.context import build_job_context
from app.jobs.email_idle import MailWatchers
from app.logs import configure_logging
from app.queue import ArqQueue
from app.settings import Settings


def worker_options(settings: Settings, *, watch_mail: bool = False) -> dict[str, Any]:
    """watch_mail: also sit in IMAP IDLE on each mailbox (a long-running worker, not a burst)."""
    if not settings.redis_url:
        raise ValueError("GUICHET_REDIS_URL is not set: without Redis, jobs run inside `guichet serve`")

    async def startup(ctx: dict[str, Any]) -> None:
        engine = make_engine(settings.database_url)
        ctx.update(build_job_context(settings, engine, ArqQueue(ctx["redis"], settings.queue_name)))
        # Pick up what a crashed process or a lost enqueue left behind.
        await ctx["queue"].enqueue("sweep", 0, job_id=f"sweep:startup:{time.time_ns()}")
        if watch_mail:
            ctx["mail_watchers"] = MailWatchers(ctx)
            ctx["mail_watchers"].start()

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "mail_watchers" in ctx:
            await ctx["mail_watchers"].close()
        if "engine" in ctx:
            await ctx["engine"].dispose()

    return {
        "functions": list(FUNCTIONS.values()),
        "cron_jobs": [
            cron(FUNCTIONS["sweep"], second=0, unique=True, run_at_startup=False),
            cron(FUNCTIONS["poll_mailboxes"], second={0, 30}, unique=True, run_at_startup=True),
        ],
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "queue_name": settings.queue_name,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "max_jobs": 20,
        "job_timeout": 300,
        "keep_result": 3600,
    }


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    configure_logging(settings.log_level, settings.log_json)
    Worker(**worker_options(settings, watch_mail=not burst), burst=burst).run()
