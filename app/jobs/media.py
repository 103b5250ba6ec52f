"""Fetch the media of an inbound MMS into the attachment store (Twilio's host only)."""
from __future__ import annotations

import logging
import mimetypes
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import select

from app.settings import attachment_policy
from channels.base import RetryLater
from channels.sms.twilio_media import MediaRefused, fetch_media
from crm import tickets
from crm.attachments import attachments_by_message, record_refused, store_attachments
from crm.models import EventKind, Message
from crm.types import AttachmentData

log = logging.getLogger("guichet.jobs.media")


def _filename(url: str, content_type: str, index: int) -> str:
    """Twilio names no file: the media SID (ME…) and an extension for its type."""
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1][:80] or f"media-{index + 1}"
    if "." in name:
        return name
    return name + (mimetypes.guess_extension(content_type.split(";")[0].strip()) or "")


async def fetch_sms_media(ctx: dict[str, Any], message_id: int, attempt: int = 1) -> str:
    settings = ctx["settings"]
    async with ctx["sessionmaker"]() as session:
        message = await session.get(Message, message_id)
        if message is None:
            return "no such message"
        media = list(message.meta.get("media") or [])
        if not media or (await attachments_by_message(session, [message_id])).get(message_id):
            return "nothing to fetch"
    got: list[AttachmentData] = []
    refused: list[tuple[str, str, int, str]] = []  # filename, content type, size, why
    for index, item in enumerate(media):
        url, declared = str(item.get("url") or ""), str(item.get("content_type") or "")
        name = _filename(url, declared, index)
        if not (settings.twilio_account_sid and settings.twilio_auth_token):
            refused.append((name, declared, 0, "not fetched: no Twilio credentials configured"))
            continue
        try:
            data, content_type = await fetch_media(
                url, account_sid=settings.twilio_account_sid, auth_token=settings.twilio_auth_token,
                max_bytes=settings.attachment_max_bytes, api_base_url=settings.twilio_api_base_url)
        except MediaRefused as exc:
            refused.append((name, declared, exc.size, f"not fetched: {exc}"))
            log.warning("message %s: MMS media %s refused: %s", message_id, index, exc)
        except RetryLater as exc:
            if attempt < settings.send_max_attempts:
                delay = min(settings.send_retry_base_seconds * 2 ** (attempt - 1), 3600.0)
                await ctx["queue"].enqueue("fetch_sms_media", message_id, attempt + 1, defer_seconds=delay,
                                           job_id=f"fetch_sms_media:{message_id}:{attempt + 1}")
                return "retry"
            refused.append((name, declared, 0, f"not fetched after {attempt} attempts: {exc}"))
        else:
            got.append(AttachmentData(filename=_filename(url, content_type, index),
                                      content_type=content_type, data=data))
    async with ctx["sessionmaker"]() as session:
        message = (await session.exec(select(Message).where(Message.id == message_id).with_for_update())).one()
        if (await attachments_by_message(session, [message_id])).get(message_id):
            return "fetched concurrently"
        stored = await store_attachments(session, message_id, tuple(got), attachment_policy(settings))
        for filename, content_type, size, why in refused:
            stored.append(await record_refused(session, message_id, filename=filename,
                                               content_type=content_type, size=size, reason=why))
        kept = sum(1 for row in stored if row.sha256)
        await tickets.record_event(
            session, message.ticket_id, EventKind.NOTE,
            reason=f"MMS media: {kept} of {len(media)} stored",
            data={"message_id": message_id, "media": [
                {"filename": row.filename, "size": row.size, **({"refused": row.refused} if row.refused else {})}
                for row in stored]})
        await session.commit()
    return f"{kept} stored"
