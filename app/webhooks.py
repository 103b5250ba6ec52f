"""Push channels' webhooks: is this really from the provider, and record it raw once."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import parse_qsl

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession
from twilio.request_validator import RequestValidator

from app.settings import Settings
from channels.base import ParseError
from channels.sms import twilio_inbound
from channels.sms.twilio_status import parse_status
from crm.errors import InvalidInput
from crm.inbound import record_inbound_fast
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


async def record_twilio_sms(engine: AsyncEngine, body: bytes) -> Recorded:
    """Store the signed body as Twilio sent it, once per MessageSid; committed on return.

    `engine` is app.db's acknowledgement engine (one autocommit statement, no pre-ping): a
    connection the database dropped fails on use, so the insert is tried once more on a fresh
    one — safe, it is idempotent by MessageSid."""
    try:
        sid = twilio_inbound.external_id(body)
    except ParseError as exc:
        raise InvalidInput(str(exc), fields={"MessageSid": "required"}) from exc
    for attempt in (1, 2):
        try:
            async with engine.begin() as connection:
                event_id, created = await record_inbound_fast(connection, channel=Channel.SMS.value,
                                                              external_id=sid, payload=body)
            return Recorded(event_id, created)
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
            log.info("a pooled database connection was dropped; recording again on a new one")
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
