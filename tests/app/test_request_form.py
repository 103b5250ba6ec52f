"""GET/POST /request: the public form a citizen fills in, in French by default."""
from __future__ import annotations

import re

from tests.conftest import Stack

REFERENCE = re.compile(r"GRU-\d{4}-\d{6}")


def _csrf(page: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def _submission_id(page: str) -> str:
    match = re.search(r'name="submission_id" value="([^"]+)"', page)
    assert match, "the form carries a submission id"
    return match.group(1)


async def test_form_is_french_by_default_english_and_arabic_on_request(stack: Stack) -> None:
    french = await stack.client.get("/request")
    assert french.status_code == 200
    assert '<html lang="fr" dir="ltr">' in french.text
    assert "Nous contacter" in french.text and "Envoyer ma demande" in french.text
    assert "État civil" in french.text  # categories come from the database
    english = await stack.client.get("/request?lang=en")
    assert "Contact us" in english.text and "Civil status" in english.text
    arabic = await stack.client.get("/request?lang=ar")
    assert '<html lang="ar" dir="rtl">' in arabic.text and "اتصل بنا" in arabic.text
    unknown = await stack.client.get("/request?lang=xx")
    assert '<html lang="fr"' in unknown.text


async def test_every_input_has_a_label(stack: Stack) -> None:
    page = (await stack.client.get("/request")).text
    ids = set(re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page))
    labelled = set(re.findall(r'<label for="([^"]+)"', page))
    assert ids and ids <= labelled


async def test_posting_the_form_shows_the_reference_and_opens_a_ticket(stack: Stack) -> None:
    page = (await stack.client.get("/request")).text
    form = {"submission_id": _submission_id(page), "_csrf_token": _csrf(page), "lang": "fr", "name": "Fatima Zahra El Amrani",
            "email": "fatima@example.org", "phone": "", "category": "urbanisme",
            "subject": "Permis de construire", "message": "Où en est mon dossier de permis ?"}
    done = await stack.client.post("/request", data=form)
    assert done.status_code == 200
    assert "Demande reçue" in done.text
    reference = REFERENCE.search(done.text).group(0)
    await stack.drain()
    ticket = await stack.ticket(reference)
    assert ticket["category"] == "urbanisme"
    assert ticket["assignee"]["email"] == "karim.haddad@demo.guichet.fr"
    # Pressing the button twice (same submission id) gives the same reference, not a second ticket.
    again = await stack.client.post("/request", data=form)
    assert REFERENCE.search(again.text).group(0) == reference


async def test_changed_resubmission_is_a_new_request(stack: Stack) -> None:
    page = (await stack.client.get("/request")).text
    form = {"submission_id": _submission_id(page), "_csrf_token": _csrf(page), "lang": "fr", "name": "A B",
            "email": "ab@example.org", "category": "voirie", "message": "Nid de poule"}
    first = REFERENCE.search((await stack.client.post("/request", data=form)).text).group(0)
    changed = await stack.client.post("/request", data={**form, "message": "Deux nids de poule"})
    assert changed.status_code == 200
    assert REFERENCE.search(changed.text).group(0) != first


async def test_errors_are_shown_next_to_fields_and_values_kept(stack: Stack) -> None:
    page = (await stack.client.get("/request")).text
    response = await stack.client.post("/request", data={
        "submission_id": _submission_id(page), "_csrf_token": _csrf(page), "lang": "fr", "name": "Jean Dupont",
        "email": "jean@", "category": "", "message": "Bonjour"})
    assert response.status_code == 400
    assert 'id="email-error"' in response.text and 'aria-invalid="true"' in response.text
    assert 'value="Jean Dupont"' in response.text and "Bonjour</textarea>" in response.text
    assert "obligatoire" in response.text  # the category error, in French
    assert "Merci de corriger" in response.text


async def test_garbage_form_post_is_a_400_page_not_a_500(stack: Stack) -> None:
    token = _csrf((await stack.client.get("/request")).text)
    response = await stack.client.post("/request", data={"name": "x" * 500, "message": "m", "_csrf_token": token,
                                                         "category": "voirie", "email": "a@b.fr"})
    assert response.status_code == 400
    assert "<form" in response.text


async def test_the_form_refuses_a_post_without_its_csrf_token(stack: Stack) -> None:
    """A page of another site cannot post in the citizen's name: no token, a 403 page."""
    page = (await stack.client.get("/request")).text
    response = await stack.client.post("/request", data={"submission_id": _submission_id(page), "name": "A B",
                                                         "email": "ab@example.org", "category": "voirie",
                                                         "message": "Nid de poule"})
    assert response.status_code == 403
    assert "<html" in response.text and "expiré" in response.text


async def test_home_leads_to_the_form(stack: Stack) -> None:
    response = await stack.client.get("/")
    assert response.status_code in (301, 302, 307, 308)
    assert response.headers["location"].endswith("/request")
