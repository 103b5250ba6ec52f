"""The ticket page's attachments: /tickets/{reference}/attachments/{id} downloads the file,
…/preview shows it in the browser when that is safe — raster images with their own type, text
(HTML and XML included) as plain text, never rendered — and nothing else (download only).

Both are for the roles that open tickets, and both leave an AccessRecord (crm.attachments.
read_attachment). Every answer carries `X-Content-Type-Options: nosniff` (the router's) and a
Content-Disposition; a preview also gets a CSP that forbids everything but the image itself and
sandboxes the document, so even a mislabelled file cannot run script in our origin."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from litestar import Request, get
from litestar.response import Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import error_page
from app.settings import Settings
from app.web.guard import require_role
from app.web.queue import WORKERS
from crm.attachments import as_text, preview_kind, read_attachment
from routing.models import Agent

PREVIEW_POLICY = "default-src 'none'; img-src 'self'; sandbox"
NO_PREVIEW = "This file cannot be shown in the browser; download it to open it."


def disposition(kind: str, filename: str) -> str:
    """`attachment` or `inline` with the name in both forms (RFC 6266): an ASCII fallback
    without quotes or control characters, and the exact name percent-encoded (pure)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename) or "file"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@get("/tickets/{reference:str}/attachments/{attachment_id:int}", include_in_schema=False,
     guards=[require_role(*WORKERS)])
async def download(agent: Agent, db_session: AsyncSession, settings: Settings, reference: str,
                   attachment_id: int) -> Response:
    """The bytes as they came, always as application/octet-stream: saved, never opened here."""
    row, data = await read_attachment(db_session, reference.upper(), attachment_id, Path(settings.attachment_dir),
                                      agent_id=agent.id, action="download")
    await db_session.commit()  # the access record
    return Response(data, media_type="application/octet-stream", headers={
        "Content-Disposition": disposition("attachment", row.filename), "Cache-Control": "private, no-store"})


@get("/tickets/{reference:str}/attachments/{attachment_id:int}/preview", include_in_schema=False,
     guards=[require_role(*WORKERS)])
async def preview(request: Request, agent: Agent, db_session: AsyncSession, settings: Settings, reference: str,
                  attachment_id: int) -> Response:
    row, data = await read_attachment(db_session, reference.upper(), attachment_id, Path(settings.attachment_dir),
                                      agent_id=agent.id, action="preview")
    kind = preview_kind(row.content_type)
    if kind is None:
        await db_session.rollback()  # nothing was shown
        return error_page(request, 415, NO_PREVIEW)
    await db_session.commit()
    headers = {"Content-Disposition": disposition("inline", row.filename), "Cache-Control": "private, no-store",
               "Content-Security-Policy": PREVIEW_POLICY}
    if kind == "image":
        return Response(data, media_type=row.content_type.split(";")[0].strip().lower(), headers=headers)
    return Response(as_text(data).encode("utf-8"), media_type="text/plain", headers=headers)  # Litestar adds charset=utf-8


ROUTES = [download, preview]
