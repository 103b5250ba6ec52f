"""Browser journey of issue 8 part 4 (administration): Claire, a supervisor, opens the French SMS
acknowledgement, previews it on a real ticket, types a text too long for the SMS limit and sees it
refused with the reason next to the field and her text kept, saves a valid one, and rolls back
to the first version; then the other administration pages. axe-core on every page visited
(screenshots in var/test-artifacts/)."""
from __future__ import annotations

import re

import httpx

from app.seeds import DEMO_PASSWORD
from tests.e2e.browser import axe_check, browser_page, served, tab_to

CLAIRE = "claire.dubois@demo.guichet.fr"
# "é", "ç" and "€" are not all GSM-7: UCS-2, 67 characters a segment; this is well over 3 segments.
TOO_LONG = "Votre demande est enregistrée, reçue et traitée rapidement : 10 € de frais. " * 4
SHORTER = "{{ service.name }} : demande {{ ticket.short_reference }} bien reçue. Merci."


def test_a_supervisor_edits_a_template_is_refused_saves_and_rolls_back(tmp_path) -> None:
    with served(tmp_path) as (base, settings):
        response = httpx.post(f"{base}/api/v1/requests", json={
            "name": "Nadia Amrani", "email": "nadia@example.org", "category": "etat_civil",
            "subject": "Copie d'acte de naissance", "message": "Bonjour, il me faut une copie."})
        assert response.status_code == 201, response.text
        reference = response.json()["reference"]
        with browser_page() as page:
            journey(page, base, reference)


def journey(page, base: str, reference: str) -> None:
    page.goto(f"{base}/supervisor/templates")
    page.fill("#email", CLAIRE)
    page.fill("#password", DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/supervisor/templates")
    axe_check(page, "admin-templates")
    page.select_option("#filter-step", "acknowledgement")
    page.select_option("#filter-language", "fr")
    page.select_option("#filter-channel", "sms")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*/supervisor/templates\?.*channel=sms.*"))
    rows = page.locator("#templates tbody tr")
    assert rows.count() == 1
    rows.first.locator("a").click()
    page.wait_for_url(re.compile(r".*/supervisor/templates/\d+$"))
    first_url = page.url

    page.fill("#ticket", reference)
    page.keyboard.press("Enter")  # the form's first button: preview, never save
    page.wait_for_selector("#sms-cost")
    assert "1 segment(s), GSM-7" in page.locator("#sms-cost").inner_text()
    assert "demande enregistrée" in page.locator("#preview pre").inner_text()
    axe_check(page, "admin-template-preview")
    assert page.locator("#history tr").count() == 2  # header and version 1: nothing saved

    page.fill("#body", TOO_LONG)
    page.fill("#change_note", "plus de détails")
    tab_to(page, "form.template-form button.save")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    error = page.locator("#body-error").inner_text()
    assert "UCS-2" in error and "segments" in error
    assert page.locator("#body").get_attribute("aria-invalid") == "true"
    assert page.locator("#body").input_value().strip() == TOO_LONG.strip()  # her text, to shorten
    axe_check(page, "admin-template-refused")

    page.fill("#body", SHORTER)
    page.fill("#change_note", "plus court")
    page.click("form.template-form button.save")
    page.wait_for_url(re.compile(r".*/supervisor/templates/\d+\?done=saved"))
    assert page.locator("#history tr.active-version").get_attribute("data-version") == "2"
    assert "Claire Dubois" in page.locator("#history").inner_text()
    axe_check(page, "admin-template-saved")

    first = page.locator('#history tr[data-version="1"]')
    first.locator("input[name=change_note]").fill("retour au texte d'origine")
    first.locator("button").click()
    page.wait_for_url(re.compile(r".*/supervisor/templates/\d+\?done=rolledback"))
    assert page.locator("#history tr.active-version").get_attribute("data-version") == "3"
    assert page.locator("#body").input_value().endswith("Répondez à ce SMS pour la compléter.")
    assert page.url.split("?")[0] != first_url
    axe_check(page, "admin-template-rolled-back")

    for path, name in (("/supervisor/categories", "admin-categories"), ("/supervisor/categories/1", "admin-category"),
                       ("/supervisor/agents", "admin-agents"), ("/supervisor/agents/1", "admin-agent"),
                       ("/supervisor/skills", "admin-skills"), ("/supervisor/calendar", "admin-calendar"),
                       ("/supervisor/templates/new?lang=ar", "admin-template-new-arabic")):
        page.goto(f"{base}{path}")
        axe_check(page, name)
    assert page.locator("html").get_attribute("dir") == "rtl"
