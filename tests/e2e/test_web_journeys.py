"""Browser journeys of issue 8 in Debian's Chromium: the front desk logs a walk-in for a new
citizen with the keyboard alone and prints the receipt; the citizen tracks it (a wrong
verification refused, guessing limited); the same pages in Arabic, right to left. axe-core
checks every page visited; screenshots go to var/test-artifacts/."""
from __future__ import annotations

import re
import time

import pytest

from app.seeds import DEMO_PASSWORD
from tests.e2e.browser import ARTIFACTS, axe_check, browser_page, served, tab_to, wait_for_focus

FRONTDESK = "sophie.martin@demo.guichet.fr"
REFERENCE = re.compile(r"GRU-\d{4}-\d{6}")


def press_enter_and_wait(page) -> None:
    with page.expect_navigation():
        page.keyboard.press("Enter")


def sign_in(page, base: str, email: str = FRONTDESK) -> None:
    page.goto(f"{base}/desk")
    assert "/login" in page.url
    axe_check(page, "login")
    wait_for_focus(page, "#email")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/desk")


def log_walk_in(page, base: str) -> tuple[str, str]:
    """The desk, keyboard only: search, nobody found, new citizen, category, note, submit."""
    started = time.monotonic()
    wait_for_focus(page, "#q")
    page.keyboard.type("Yasmine Idrissi")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/desk\?q=.*"))
    assert page.locator("#citizen-new").is_checked()
    assert page.locator("#full_name").input_value() == "Yasmine Idrissi"
    axe_check(page, "desk")
    tab_to(page, "#phone")
    page.keyboard.type("06 12 34 56 78")
    tab_to(page, "#category")
    page.keyboard.type("Voirie")
    assert page.locator("#category").input_value() == "voirie"
    tab_to(page, "#note")
    page.keyboard.type("Un lampadaire est éteint rue des Lilas depuis une semaine.")
    tab_to(page, "#log-submit")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/desk/receipts/GRU-.*"))
    elapsed = time.monotonic() - started
    assert elapsed < 30, f"logging a walk-in took {elapsed:.1f}s"
    reference = page.locator("#reference").inner_text().strip()
    assert REFERENCE.fullmatch(reference)
    return reference, page.locator("#tracking-code").inner_text().strip()


def test_front_desk_logs_a_walk_in_with_the_keyboard_and_the_citizen_tracks_it(tmp_path) -> None:
    with served(tmp_path) as (base, _), browser_page() as page:
        sign_in(page, base)
        reference, code = log_walk_in(page, base)
        page.reload()  # the pipeline has run by now: the citizen's name is on the receipt
        assert "Yasmine Idrissi" in page.content()
        axe_check(page, "receipt")
        page.evaluate("window.print = () => { window.__printed = true; }")
        tab_to(page, "[data-print]")
        page.keyboard.press("Enter")
        assert page.evaluate("window.__printed === true")
        page.emulate_media(media="print")
        page.screenshot(path=str(ARTIFACTS / "receipt-print.png"), full_page=True)
        assert not page.locator(".agent-nav").is_visible() and not page.locator("[data-print]").is_visible()
        page.emulate_media(media="screen")

        # "Where is my request?" at the desk.
        page.goto(f"{base}/desk/requests?reference={reference}")
        assert "Prise en charge par le service" in page.content() or "Demande reçue" in page.content()
        axe_check(page, "desk-lookup")

        # The citizen, at home: wrong verification refused, the right one shows the steps.
        page.context.clear_cookies()
        page.goto(f"{base}/track")
        axe_check(page, "track")
        page.fill("#reference", reference)
        page.fill("#verification", "0000")
        press_enter_and_wait(page)
        assert "Nous n’avons trouvé aucune demande" in page.content()
        axe_check(page, "track-refused")
        page.fill("#reference", reference)
        page.fill("#verification", "5678")  # the end of 06 12 34 56 78
        press_enter_and_wait(page)
        content = page.content()
        assert "Demande reçue" in content and reference in content
        assert "Sophie" not in content and "Karim" not in content  # never an agent's name
        axe_check(page, "track-result")
        page.goto(f"{base}/track")
        page.fill("#reference", reference)
        page.fill("#verification", code)  # the receipt's code works as well
        press_enter_and_wait(page)
        assert "Demande reçue" in page.content()

        # Guessing: after a few wrong digits the reference is locked, with a clear message.
        for guess in ("1111", "2222", "3333", "4444", "5555"):
            page.goto(f"{base}/track")
            page.fill("#reference", reference)
            page.fill("#verification", guess)
            press_enter_and_wait(page)
        assert "Trop de tentatives" in page.content()
        axe_check(page, "track-limited")


def test_the_pages_in_arabic_read_right_to_left(tmp_path) -> None:
    with served(tmp_path) as (base, _), browser_page() as page:
        page.goto(f"{base}/track?lang=ar")
        assert page.get_attribute("html", "dir") == "rtl" and page.get_attribute("html", "lang") == "ar"
        assert "تتبع طلبي" in page.content()
        axe_check(page, "track-ar")
        page.goto(f"{base}/login?lang=ar")
        assert page.get_attribute("html", "dir") == "rtl"
        sign_in(page, base)
        page.click("button[name=language][value=ar]")
        page.wait_for_url(f"{base}/desk")
        assert page.get_attribute("html", "dir") == "rtl"
        assert "الاستقبال" in page.content()
        axe_check(page, "desk-ar")
        page.goto(f"{base}/account")
        assert page.get_attribute("html", "dir") == "rtl"  # the agent's choice stays
        axe_check(page, "account-ar")


@pytest.mark.parametrize("path", ["/request", "/login"])
def test_public_pages_pass_axe(tmp_path, path: str) -> None:
    with served(tmp_path) as (base, _), browser_page() as page:
        page.goto(base + path)
        axe_check(page, "public" + path.replace("/", "-"))
