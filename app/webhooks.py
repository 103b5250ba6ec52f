"""Push channels' webhooks: is this really from the provider, and record it raw once."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import parse_qsl

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession
from twilio.request_validator import RequestValidator

from app.db import AckDatabase
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
    if not RequestValidator(settings.twilio_auth_token).validate(url, params, signature):
        raise BadSignature("X-Twilio-Signature does not match")


# What a connection the database server dropped (a restart, a proxy's idle timeout) raises on use.
_DROPPED = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.exceptions.AdminShutdownError, OSError)


async def record_twilio_sms(database: AckDatabase, body: bytes) -> Recorded:
    """Store the signed body as Twilio sent it, once per MessageSid; committed on return.

    `database` is app.db's acknowledgement database (one autocommit statement, no pre-ping): a
    pooled connection the server dropped fails on use, so the insert is tried once more on a
    fresh one — safe, it is idempotent by MessageSid (should the first attempt have committed
    after all, the answer is the same and the sweep asks for its job)."""
    try:
        sid = twilio_inbound.external_id(body)
    except ParseError as exc:
        raise InvalidInput(str(exc), fields={"MessageSid": "required"}) from exc
    for attempt in (1, 2):
        try:
            if isinstance(database, asyncpg.Pool):
                async with database.acquire() as driver:
                    event_id, created = await record_inbound_returning(driver, channel=Channel.SMS.value,
                                                                       external_id=sid, payload=body)
            else:
                async with database.begin() as connection:
                    event_id, created = await record_inbound_fast(connection, channel=Channel.SMS.value,
                                                                  external_id=sid, payload=body)
            return Recorded(event_id, created)
        except (*_DROPPED, DBAPIError) as exc:
            if attempt == 2 or (isinstance(exc, DBAPIError) and not exc.connection_invalidated):
                raise
            log.info("a pooled database connection was dropped (%s); recording again on a new one",
                     type(exc).__name__)
    raise AssertionError("unreachable")


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
