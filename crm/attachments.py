"""Attachments: checked against the limits, stored content-addressed on disk, listed in the db."""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePath

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.errors import NotFound
from crm.models import AccessRecord, Attachment, Message
from crm.tickets import find_by_reference
from crm.types import AttachmentData

DANGEROUS_SUFFIXES = frozenset({".exe", ".bat", ".cmd", ".com", ".scr", ".js", ".vbs", ".msi", ".ps1",
                                ".jar", ".lnk", ".hta", ".dll", ".cpl"})


@dataclass(frozen=True)
class AttachmentPolicy:
    root: Path
    max_bytes: int
    blocked_types: frozenset[str]


def refusal(item: AttachmentData, policy: AttachmentPolicy) -> str | None:
    """Why this file must not be stored, or None (pure)."""
    if len(item.data) > policy.max_bytes:
        return f"larger than {policy.max_bytes} bytes"
    if item.content_type.lower() in policy.blocked_types:
        return f"blocked type {item.content_type}"
    if PurePath(item.filename.lower()).suffix in DANGEROUS_SUFFIXES:
        return f"blocked file name {PurePath(item.filename).suffix}"
    return None


def path_for(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def _write_once(root: Path, data: bytes) -> str:
    """Content-addressed and atomic: the same bytes twice are one file, a crash leaves no half file."""
    digest = hashlib.sha256(data).hexdigest()
    target = path_for(root, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    return digest


async def store_attachments(session: AsyncSession, message_id: int, items: tuple[AttachmentData, ...],
                            policy: AttachmentPolicy) -> list[Attachment]:
    rows = []
    for item in items:
        reason = refusal(item, policy)
        digest = None if reason else _write_once(policy.root, item.data)
        row = Attachment(message_id=message_id, filename=(item.filename or "sans-nom")[:255],
                         content_type=item.content_type[:255], size=len(item.data), sha256=digest,
                         inline=item.inline, refused=reason)
        session.add(row)
        rows.append(row)
    await session.flush()
    return rows


async def record_refused(session: AsyncSession, message_id: int, *, filename: str, content_type: str,
                         size: int, reason: str) -> Attachment:
    """A file we did not get or did not keep (an MMS from a foreign host, too large): listed
    with why, no bytes stored."""
    row = Attachment(message_id=message_id, filename=filename[:255] or "sans-nom",
                     content_type=content_type[:255], size=size, sha256=None, refused=reason)
    session.add(row)
    await session.flush()
    return row


async def attachments_by_message(session: AsyncSession, message_ids: list[int]) -> dict[int, list[Attachment]]:
    found: dict[int, list[Attachment]] = {}
    if message_ids:
        rows = await session.exec(select(Attachment).where(col(Attachment.message_id).in_(message_ids))
                                  .order_by(col(Attachment.id)))
        for row in rows.all():
            found.setdefault(row.message_id, []).append(row)
    return found


# --- reading a stored attachment (the ticket page's download and preview) --------------------

# Shown in the page as they are: raster images only (an SVG can carry script).
PREVIEW_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Shown as plain text, never rendered: HTML and XML included, so a hostile page is only its source.
PREVIEW_TEXT_TYPES = frozenset({"text/plain", "text/csv", "text/html", "application/xhtml+xml", "text/xml",
                                "application/xml", "application/json", "text/calendar", "text/markdown"})
PREVIEW_TEXT_MAX = 200_000  # characters; a preview, the download has it all


def preview_kind(content_type: str) -> str | None:
    """"image", "text" or None (download only), from the type the sender declared (pure)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind in PREVIEW_IMAGE_TYPES:
        return "image"
    if kind in PREVIEW_TEXT_TYPES:
        return "text"
    return None


def as_text(data: bytes) -> str:
    """Bytes as text for a preview: UTF-8, else Latin-1 (every byte is a character there)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text[:PREVIEW_TEXT_MAX]


async def read_attachment(session: AsyncSession, reference: str, attachment_id: int, root: Path, *,
                          agent_id: int, action: str) -> tuple[Attachment, bytes]:
    """A stored attachment of one of the ticket's messages and its bytes, with an AccessRecord
    (`action`: "download" or "preview") of the agent who opened it: a letter's scan is personal
    data. Another ticket's file, a refused one or one missing from the store: NotFound."""
    ticket = await find_by_reference(session, reference)
    row = (await session.exec(select(Attachment).join(Message, col(Message.id) == Attachment.message_id)
                              .where(Attachment.id == attachment_id, Message.ticket_id == ticket.id))).first()
    if row is None or row.sha256 is None:
        raise NotFound("no such attachment on this ticket")
    try:
        data = path_for(root, row.sha256).read_bytes()
    except FileNotFoundError:
        raise NotFound("this attachment is no longer in the store") from None
    session.add(AccessRecord(agent_id=agent_id, action=action, subject_type="attachment", subject_id=row.id))
    return row, data
