"""Attachments: checked against the limits, stored content-addressed on disk, listed in the db."""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePath

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.models import Attachment
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
