"""/desk's error paths through HTTP: each shows the form again (400) with a clear message beside
the field, keeps what was typed, and creates nothing (no citizen, no ticket, no file)."""
from __future__ import annotations

import re
from pathlib import Path

import httpx
from sqlmodel import func, select

from crm.models import Attachment, Citizen, InboundEvent, Ticket
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


WALK_IN = {"citizen": "new", "full_name": "Karim Ziani", "phone": "06 11 22 33 44", "channel": "counter",
           "category": "etat_civil", "note": "Demande de copie d'acte de naissance."}


async def _counts(stack: Stack) -> tuple[int, int, int, int]:
    async with stack.session() as session:
        return tuple([(await session.exec(select(func.count()).select_from(model))).one()
                      for model in (Citizen, Ticket, Attachment, InboundEvent)])


def _errors(page: str) -> dict[str, str]:
    """Field -> the message shown beside it."""
    return dict(re.findall(r'<p class="error" id="([a-z_]+)-error">([^<]+)</p>', page))


async def _refused(stack: Stack, fields: dict[str, str], scan=None) -> tuple[str, dict[str, str]]:
    before = await _counts(stack)
    response = await post_desk(stack, fields, scan=scan)
    assert response.status_code == 400, (response.status_code, response.text[:500])
    assert 'id="errors"' in response.text and 'role="alert"' in response.text  # the summary, announced
    await stack.drain()
    assert await _counts(stack) == before, "a refused form created something"
    return response.text, _errors(response.text)



async def test_desk_errors_show_the_form_again_with_a_clear_message_and_create_nothing(stack: Stack) -> None:
    await stack.sign_in(SOPHIE)
    page, errors = await _refused(stack, {**WALK_IN, "citizen": "999999", "full_name": ""})
    assert "Cette personne n’est plus dans le fichier (fusionnée ou supprimée) : cherchez-la à nouveau." in page
    assert "Demande de copie d&#39;acte de naissance." in page  # what was typed is kept

    page, errors = await _refused(stack, {**WALK_IN, "category": ""})
    assert errors == {"category": "obligatoire"}
    assert 'aria-invalid="true" aria-describedby="category-error"' in page

    _, errors = await _refused(stack, {**WALK_IN, "full_name": ""})
    assert errors == {"full_name": "Saisissez le nom de la nouvelle personne, ou choisissez-la dans les résultats "
                                   "de la recherche."}
    _, errors = await _refused(stack, {**WALK_IN, "phone": "12"})
    assert errors == {"phone": "ce numéro de téléphone n’est pas valide"}
    page, errors = await _refused(stack, {**WALK_IN, "email": "nadia@", "phone": ""})
    assert errors == {"email": "Cette adresse électronique n’est pas valide."}
    assert 'value="nadia@"' in page
    _, errors = await _refused(stack, {**WALK_IN, "full_name": "x" * 300})
    assert errors == {"full_name": "C’est trop long."}

    for scan in (("virus.exe", b"MZ" * 10, "application/octet-stream"), ("run.sh", b"#!/bin/sh\n", "application/x-sh")):
        page, errors = await _refused(stack, WALK_IN, scan=scan)
        assert errors == {"scan": "Ce type de fichier n’est pas accepté (programmes et scripts refusés) : "
                                  "numérisez en PDF ou en image."}, errors
        assert "Choisissez à nouveau le document numérisé" in page  # a browser never keeps a file input

    # The same form, corrected, goes through: nothing above was left half-done in the way.
    accepted = await post_desk(stack, WALK_IN)
    assert accepted.status_code == 303 and accepted.headers["location"].startswith("/desk/receipts/")


async def test_a_huge_upload_is_refused_on_the_form_or_before_it(settings) -> None:
    """Over the attachment limit: the form again, nothing kept. Over the whole body limit (limit
    plus the form's room): refused before the handler reads it, with the 413 page."""
    from tests.conftest import running, seed

    await seed(settings.database_url)
    small = settings.model_copy(update={"attachment_max_bytes": 2_000_000})
    async with running(small) as stack:
        await stack.sign_in(SOPHIE)
        store = Path(small.attachment_dir)
        kept = {f for f in store.rglob("*") if f.is_file()}
        page, errors = await _refused(stack, WALK_IN, scan=("lettre.pdf", b"%PDF" + b"1" * 2_500_000,
                                                            "application/pdf"))
        assert errors == {"scan": "Le fichier est trop volumineux."}
        assert {f for f in store.rglob("*") if f.is_file()} == kept, "a refused scan was kept"
        before = await _counts(stack)
        huge = await post_desk(stack, WALK_IN, scan=("lettre.pdf", b"0" * 5_000_000, "application/pdf"))
        assert huge.status_code == 413 and "Le fichier est trop volumineux." in huge.text
        assert await _counts(stack) == before


async def test_track_says_in_french_when_too_many_attempts(stack: Stack) -> None:
    accepted = await stack.post_request(phone="06 12 34 56 78")
    await stack.drain()
    page = (await stack.client.get("/track")).text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)

    async def attempt(verification: str, **extra) -> httpx.Response:
        return await stack.client.post("/track", data={"_csrf_token": token, "reference": accepted["reference"],
                                                       "verification": verification, **extra})

    for _ in range(5):
        wrong = await attempt("0000")
        assert wrong.status_code == 400 and "Nous n’avons trouvé aucune demande" in wrong.text
    locked = await attempt("5678")  # the right digits, but too late: locked
    assert locked.status_code == 429
    assert re.search(r"Trop de tentatives\. Pour votre protection, réessayez dans (59|60) minutes, "
                     r"ou adressez-vous à l’accueil\.", locked.text), locked.text
    assert "Où elle en est" not in locked.text  # the result page's "Where it stands:" never shows
    arabic = await attempt("5678", lang="ar")
    assert arabic.status_code == 429 and "محاولات كثيرة" in arabic.text and 'dir="rtl"' in arabic.text
