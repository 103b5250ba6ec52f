"""/desk's error paths through HTTP: each shows the form again (400) with a clear message beside
the field, keeps what was typed, and creates nothing (no citizen, no ticket, no file)."""
from __future__ import annotations

import re

import httpx
from sqlmodel import func, select

from crm.models import Attachment, Citizen, Ticket
from tests.conftest import Stack

SOPHIE = "sophie.martin@demo.guichet.fr"


async def post_desk(stack: Stack, fields: dict[str, str], *,
                    scan: tuple[str, bytes, str] | None = None) -> httpx.Response:
    """The front-desk form as a browser sends it (multipart, CSRF token, a fresh submission id)."""
    page = (await stack.client.get("/desk")).text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)
    submission = re.search(r'name="submission_id" value="([^"]+)"', page).group(1)
    files = {"scan": scan} if scan else {"scan": ("", b"", "application/octet-stream")}
    return await stack.client.post("/desk", data={"_csrf_token": token, "submission_id": submission, **fields},
                                   files=files)
