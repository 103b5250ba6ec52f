"""Push channels' webhooks: is this really from the provider, and record it raw once."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from urllib.parse import parse_qs, parse_qsl, urlparse

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession
from twilio.request_validator import RequestValidator, add_port, compare, remove_port

from app.batches import Batcher
from app.db import AckDatabase
from app.queue import JobQueue, enqueue_all_after_commit
from app.settings import Settings
from channels.base import ParseError
from channels.sms import twilio_inbound
from channels.sms.twilio_status import parse_status
from crm.errors import InvalidInput
from crm.inbound import record_inbound_fast, record_inbound_returning
from crm.types import Channel
from replies.dispatch import record_provider_status

log = logging.getLogger("guichet.webhooks")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class WebhookDisabled(Exception):
    """No provider credentials configured: the endpoint does not exist (404)."""


class BadSignature(Exception):
    """Missing or wrong signature: refused (403), nothing stored."""


@dataclass(frozen=True)
class Recorded:
    event_id: int
    created: bool


def public_url(settings: Settings, path: str, query: str) -> str:
    """The URL the provider called, as it signed it: our public base (we may sit behind a
    reverse proxy that rewrites the host and scheme), the path and the query."""
    url = settings.public_url.rstrip("/") + path
    return f"{url}?{query}" if query else url


def verify_twilio(settings: Settings, url: str, body: bytes, signature: str | None) -> None:
    if not settings.twilio_auth_token:
        if settings.twilio_allow_unsigned:
            return
        raise WebhookDisabled("SMS webhooks are off: GUICHET_TWILIO_AUTH_TOKEN is not set")
    if not signature:
        raise BadSignature("no X-Twilio-Signature")
    try:
        params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError as exc:
        raise BadSignature("the body is not UTF-8 form data") from exc
    if not _signature_matches(RequestValidator(settings.twilio_auth_token), url, params, signature):
        raise BadSignature("X-Twilio-Signature does not match")


def _signature_matches(validator: RequestValidator, url: str, params: dict[str, str], signature: str) -> bool:
    """RequestValidator.validate's answer, with one HMAC instead of two when the signature is good:
    validate signs the URL both without and with its port and accepts either, always computing
    both (a tenth of the webhook's CPU); the same two forms are tried here, the second only if
    the first fails. A URL carrying bodySHA256 (JSON webhooks) goes to validate itself."""
    parsed = urlparse(url)
    if "bodySHA256" in parse_qs(parsed.query):
        return validator.validate(url, params, signature)
    return any(compare(validator.compute_signature(form, params), signature)
               for form in (remove_port(parsed), add_port(parsed)))


# What a connection the database server dropped (a restart, a proxy's idle timeout) raises on use.
_DROPPED = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.exceptions.AdminShutdownError, OSError)


def twilio_sms_sid(body: bytes) -> str:
    try:
        sid = twilio_inbound.external_id(body)
    except ParseError as exc:
        raise InvalidInput(str(exc), fields={"MessageSid": "required"}) from exc
    if "\x00" in sid:  # PostgreSQL text refuses it: it would fail the whole batch it is in
        raise InvalidInput("MessageSid holds a NUL character", fields={"MessageSid": "invalid"})
    return sid


async def record_twilio_sms(database: AckDatabase, body: bytes) -> Recorded:
    """Store the signed body as Twilio sent it, once per MessageSid; committed on return."""
    sid = twilio_sms_sid(body)
    return (await record_twilio_smses(database, {sid: body}))[sid]


async def record_twilio_smses(database: AckDatabase, bodies: dict[str, bytes]) -> dict[str, Recorded]:
    """Store signed bodies by MessageSid, each once; committed on return.

    `database` is app.db's acknowledgement database. On PostgreSQL: one autocommit statement
    for them all, no pre-ping — a pooled connection the server dropped fails on use, so the
    insert is tried once more on a fresh one (safe: it is idempotent by MessageSid; should the
    first attempt have committed after all, the answer is the same and the sweep asks for the
    jobs). On SQLite (one writer): one transaction each."""
    for attempt in (1, 2):
        try:
            if isinstance(database, asyncpg.Pool):
                async with database.acquire() as driver:
                    recorded = await record_inbound_returning(driver, channel=Channel.SMS.value,
                                                              events=list(bodies.items()))
            else:
                recorded = {}
                for sid, body in bodies.items():
                    async with database.begin() as connection:
                        recorded[sid] = await record_inbound_fast(connection, channel=Channel.SMS.value,
                                                                  external_id=sid, payload=body)
            return {sid: Recorded(*recorded[sid]) for sid in bodies}
        except (*_DROPPED, DBAPIError) as exc:
            if attempt == 2 or (isinstance(exc, DBAPIError) and not exc.connection_invalidated):
                raise
            log.info("a pooled database connection was dropped (%s); recording again on a new one",
                     type(exc).__name__)
    raise AssertionError("unreachable")


class SmsRecorder:
    """How the SMS webhook records its posts: group commit. Posts that arrive while an insert
    runs wait for the next one, which stores them all in one statement, one commit (one WAL
    flush); each post is answered once its own row is committed. The jobs of the new events are
    asked for in the same way, one Redis round trip per batch, without the posts waiting on it
    (an enqueue lost — the process stops, Redis is down — leaves a pending event the sweep finds).
    Alone, a post is a batch of one and waits for nothing."""

    def __init__(self, database: AckDatabase, queue: JobQueue) -> None:
        self._database = database
        self._queue = queue
        self._inserts: Batcher[tuple[str, bytes], tuple[Recorded, asyncio.Future[None] | None]] = \
            Batcher(self._insert)
        self._enqueues: Batcher[int, None] = Batcher(self._enqueue)

    async def record(self, body: bytes) -> tuple[Recorded, asyncio.Future[None] | None]:
        """Committed on return, with the job's enqueue to await when the event is new (it never
        fails: a lost enqueue is the sweep's); raises BatchFailed (nothing of it stored) when its
        batch failed."""
        return await self._inserts.submit((twilio_sms_sid(body), body))

    async def close(self) -> None:
        await self._inserts.drain()
        await self._enqueues.drain()

    async def _insert(self, posts: list[tuple[str, bytes]]) -> list[tuple[Recorded, asyncio.Future[None] | None]]:
        # The same MessageSid twice in a batch (Twilio retrying a slow answer): stored once, and
        # the first post is the one that created it.
        bodies = dict(reversed(posts))
        try:
            recorded = await record_twilio_smses(self._database, bodies)
        except Exception as exc:
            log.warning("%d SMS webhooks not stored (%s): answered 503, Twilio may retry", len(bodies),
                        type(exc).__name__)
            raise
        enqueued = {sid: self._enqueues.submit_nowait(event.event_id)
                    for sid, event in recorded.items() if event.created}
        results = []
        for sid, _ in posts:
            event = recorded[sid]
            results.append((event, enqueued.pop(sid)) if sid in enqueued else (Recorded(event.event_id, False), None))
        return results

    async def _enqueue(self, event_ids: list[int]) -> list[None]:
        await enqueue_all_after_commit(self._queue, "process_inbound", event_ids)
        return [None] * len(event_ids)


async def apply_twilio_status(session: AsyncSession, body: bytes) -> bool:
    """Move the delivery Twilio reports on; False when no delivery has that MessageSid
    (logged with the SID only: a number or a text is personal data)."""
    try:
        report = parse_status(body)
    except ParseError as exc:
        raise InvalidInput(str(exc), fields={"MessageSid": "required", "MessageStatus": "required"}) from exc
    delivery = await record_provider_status(session, report.provider_id, report.status, report.error_code)
    if delivery is None:
        log.info("status %s for unknown MessageSid %s ignored", report.status, report.provider_id)
    return delivery is not None
