"""create_app(): the Litestar application, its routes, dependencies and lifespan."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from arq.connections import ArqRedis
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from app.api.categories import CategoryNotificationsController, list_categories
from app.api.citizens import get_citizen_record, get_citizen_timeline, search_citizens
from app.api.contacts import contacts_router
from app.api.duplicates import DuplicatesController
from app.api.health import health, ready
from app.api.knowledge import KnowledgeController
from app.api.outbox import FrontDeskController, OutboxController
from app.api.replies import RepliesController
from app.api.requests import create_request
from app.api.routing import RoutingController
from app.api.survey import satisfaction_barometer
from app.api.templates import TemplatesController
from app.api.tickets import get_ticket
from app.api.twilio import twilio_sms, twilio_status
from app.db import close_ack_database, make_ack_database, make_engine, make_sessionmaker
from app.dependencies import provide_queue, provide_session, provide_settings
from app.errors import EXCEPTION_HANDLERS
from app.jobs import FUNCTIONS
from app.jobs.context import build_job_context
from app.jobs.email_idle import MailWatchers
from app.logs import configure_logging
from app.queue import ArqQueue, InProcessQueue
from app.settings import Settings, get_settings
from app.web import web_router
from app.web.sessions import csrf_config, load_secret_key, session_config, session_store
from app.web.survey import survey_comment, survey_page
from app.web.throttle import Throttle
from app.webhooks import SmsRecorder

log = logging.getLogger("guichet.app")
WEB = Path(__file__).parent / "web"


async def _sweep_every(queue: InProcessQueue, seconds: int, poll_mail: bool) -> None:
    while True:
        if poll_mail:
            await queue.enqueue("poll_mailboxes", job_id="poll_mailboxes")
        await asyncio.sleep(seconds)
        await queue.enqueue("sweep", job_id="sweep")


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    secret_key = load_secret_key(settings)
    sessions, sessions_redis = session_store(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.ack_database = await make_ack_database(settings.database_url, engine)
        app.state.redis = None
        ticker = watchers = None
        if settings.redis_url:
            # Connects lazily: the app starts while Redis is down and /ready says so.
            app.state.redis = ArqRedis.from_url(settings.redis_url)
            app.state.queue = ArqQueue(app.state.redis, settings.queue_name)
        else:
            ctx = build_job_context(settings, engine)
            queue = InProcessQueue(FUNCTIONS, ctx)
            ctx["queue"] = app.state.queue = queue
            queue.start()
            # Whatever a previous process recorded but did not finish is finished now.
            await queue.enqueue("sweep", 0, job_id="sweep:startup")
            ticker = asyncio.create_task(_sweep_every(queue, settings.sweep_interval_seconds,
                                                      poll_mail=bool(settings.imap_mailboxes)))
            watchers = MailWatchers(ctx)
            watchers.start()
        app.state.sms_recorder = SmsRecorder(app.state.ack_database, app.state.queue)
        app.state.throttle = Throttle(app.state.redis)
        if sessions_redis is None:
            Path(settings.session_dir).mkdir(parents=True, exist_ok=True)
            await sessions.delete_expired()  # type: ignore[attr-defined]  # files of sessions long over
        try:
            yield
        finally:
            await app.state.sms_recorder.close()
            if ticker is not None:
                ticker.cancel()
            if watchers is not None:
                await watchers.close()
            if isinstance(app.state.queue, InProcessQueue):
                await app.state.queue.stop()
            if app.state.redis is not None:
                await app.state.redis.aclose()
            if sessions_redis is not None:
                await sessions_redis.aclose()
            await close_ack_database(app.state.ack_database, engine)
            await engine.dispose()

    return Litestar(
        route_handlers=[
            health, ready, list_categories, CategoryNotificationsController, create_request, get_ticket, search_citizens,
            get_citizen_record, get_citizen_timeline,
            twilio_sms, twilio_status, RoutingController,
            DuplicatesController, TemplatesController, KnowledgeController, RepliesController, OutboxController,
            FrontDeskController, survey_page, survey_comment, satisfaction_barometer,
            contacts_router(settings), web_router(settings),
            create_static_files_router(path="/static", directories=[WEB / "static"]),
        ],
        dependencies={
            "db_session": Provide(provide_session),
            "queue": Provide(provide_queue, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
        },
        lifespan=[lifespan],
        state=State({"settings": settings, "secret_key": secret_key}),
        stores={"sessions": sessions},
        middleware=[session_config(settings).middleware],
        csrf_config=csrf_config(settings, secret_key),
        exception_handlers=EXCEPTION_HANDLERS,
        template_config=TemplateConfig(directory=WEB / "templates", engine=JinjaTemplateEngine),
        openapi_config=OpenAPIConfig(
            title="Guichet", version="0.1.0", path="/schema",
            components=Components(security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer",
                                              description="an agent's token from `guichet agents token`"),
            }),
        ),
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,  # app.logs configures logging once, for every entry point
    )




def freeze_startup_heap() -> None:
    """Leave what the process built at startup (modules, tables, the app: most of its heap) out
    of the cyclic garbage collector's full passes. Each full pass walked all of it (190,000
    objects: 100–150 ms with the whole server stopped, measured with gc.callbacks), once every
    few thousand webhooks under load, which is the closed loop's p99. For a server process only:
    frozen objects are never freed."""
    gc.collect()
    gc.freeze()


def create_served_app() -> Litestar:
    """`guichet serve --workers N`: what each uvicorn process runs (settings from the
    environment, logging set up in that process)."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = create_app(settings)
    freeze_startup_heap()
    return app
