"""MMS media: fetched by the worker from Twilio's media host only (the stand-in, through
GUICHET_TWILIO_API_BASE_URL), with the account's credentials and the size limit counted
while streaming; any other URL is refused and recorded, and a second server standing for
"anywhere else" proves it is never called."""
from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from app.settings import Settings
from crm.attachments import path_for
from crm.models import Ticket
from tests.replies.test_sms_delivery import ACCOUNT, TOKEN, text_in, texting
from tests.twilio_server import twilio_server

MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT}/Messages/MM{'7' * 32}/Media"
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40  # a JPEG's first bytes, then 10 kB


async def attachments_of(stack, ticket_id: int) -> tuple[list[dict], list[dict]]:
    """The first message's attachments and the ticket's timeline, once the media job has written
    its note. Under a full suite's load the job was twice found not run yet after the drain
    that followed the webhook (no request at the stand-in, no attachment; root cause not found:
    it never failed alone): drained again, a few times, before the caller's assertions."""
    async with stack.session() as session:
        reference = (await session.get(Ticket, ticket_id)).reference
    for _ in range(5):
        ticket = await stack.ticket(reference)
        if any((event.get("reason") or "").startswith("MMS media") for event in ticket["timeline"]):
            break
        await stack.drain()
        await asyncio.sleep(0.2)
    return ticket["messages"][0]["attachments"], ticket["timeline"]


async def test_twilio_media_are_stored_and_other_hosts_never_fetched(seeded: Settings, tmp_path: Path) -> None:
    with twilio_server("AC" + "9" * 32, "elsewhere") as elsewhere:
        async with texting(seeded, attachment_dir=str(tmp_path)) as (stack, twilio):
            twilio.serve_media(f"{MESSAGES}/ME{'1' * 32}", "image/jpeg", PHOTO)
            twilio.redirects[f"{MESSAGES}/ME{'2' * 32}"] = f"{elsewhere.base_url}/redirected"
            urls = [
                f"https://api.twilio.com{MESSAGES}/ME{'1' * 32}",  # ours: fetched
                f"{elsewhere.base_url}/photo.jpg",  # another host: refused, never fetched
                f"https://api.twilio.com{MESSAGES}/ME{'2' * 32}",  # redirects off Twilio: refused
                f"https://api.twilio.com/2010-04-01/Accounts/AC{'8' * 32}/Messages/MM1/Media/ME3",
            ]
            media = {f"MediaUrl{i}": url for i, url in enumerate(urls)}
            media |= {f"MediaContentType{i}": "image/jpeg" for i in range(len(urls))}
            event = await text_in(stack, "Voici la photo du trottoir", NumMedia=str(len(urls)), **media)
            files, timeline = await attachments_of(stack, event.ticket_id)

            assert elsewhere.requests == []  # never a byte asked of anyone else
            assert [(r.method, r.path, r.auth) for r in twilio.requests if r.method == "GET"] == [
                ("GET", f"{MESSAGES}/ME{'1' * 32}", (ACCOUNT, TOKEN)),
                ("GET", f"{MESSAGES}/ME{'2' * 32}", (ACCOUNT, TOKEN)),
            ]
            assert [(f["filename"], f["size"], f["refused"]) for f in files] == [
                (f"ME{'1' * 32}.jpg", len(PHOTO), None),
                ("photo.jpg", 0, "not fetched: not Twilio's media host: http://127.0.0.1"),
                (f"ME{'2' * 32}.jpg", 0, "not fetched: redirected off Twilio's media hosts, to http://127.0.0.1"),
                ("ME3.jpg", 0, "not fetched: not a media URL of this Twilio account"),
            ]
            stored = path_for(tmp_path, hashlib.sha256(PHOTO).hexdigest())
            assert stored.read_bytes() == PHOTO
            [note] = [e for e in timeline if e["reason"] and e["reason"].startswith("MMS media")]
            assert note["reason"] == "MMS media: 1 of 4 stored"

            # Asked again (a duplicate job): nothing fetched twice, nothing listed twice.
            await stack.app.state.queue.enqueue("fetch_sms_media", event.message_id, job_id="again")
            await stack.drain()
            assert len([r for r in twilio.requests if r.method == "GET"]) == 2
            assert len((await attachments_of(stack, event.ticket_id))[0]) == 4


@pytest.mark.parametrize("with_length", [True, False])
async def test_media_over_the_size_limit_are_refused_while_streaming(
        seeded: Settings, tmp_path: Path, with_length: bool) -> None:
    store = tmp_path / "attachments"
    async with texting(seeded, attachment_dir=str(store), attachment_max_bytes=1000) as (stack, twilio):
        twilio.serve_media(f"{MESSAGES}/ME{'4' * 32}", "video/mp4", b"\0" * 3_000_000,
                           with_length=with_length)
        event = await text_in(stack, "La vidéo", NumMedia="1", MediaContentType0="video/mp4",
                              MediaUrl0=f"https://api.twilio.com{MESSAGES}/ME{'4' * 32}")
        [file], _ = await attachments_of(stack, event.ticket_id)
        assert file["refused"] == "not fetched: larger than 1000 bytes"
        # Declared: refused on the header; not declared: reading stopped past the limit.
        assert file["size"] == 3_000_000 if with_length else 1000 < file["size"] < 3_000_000
        assert not store.exists() or not any(store.rglob("*"))  # nothing written
