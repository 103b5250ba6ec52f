"""Templates: rendering per language, channel and step with fallbacks; the sandbox's walls;
save-time refusals (unknown variables, loops, SMS segments in GSM-7 and UCS-2); versions and the
language/category fallback chain on a real database."""
from __future__ import annotations

import time

import pytest
from sqlmodel import select

from app.db import make_engine, make_sessionmaker
from app.seed_templates import TEMPLATES
from crm.errors import InvalidInput
from replies.models import Step, Template
from replies.rendering import (MAX_RENDERED_CHARS, Draft, render, render_text, sample_contexts,
                               validate_template)
from replies.templates import find_template, rollback_template, save_template, template_history
from routing.categories import upsert_category

LIMIT = 3


def check(body: str, *, step: str = "status_changed", channel: str = "sms", language: str = "fr",
          subject: str = "", html: str | None = None, limit: int = LIMIT):
    return validate_template(Draft(step, channel, language, body, subject, html), sms_max_segments=limit)


def refused(body: str, **kwargs) -> str:
    with pytest.raises(InvalidInput) as caught:
        check(body, **kwargs)
    return caught.value.message


# --- the seeded set ------------------------------------------------------------------------

def test_every_seeded_template_passes_the_save_time_checks_and_every_sms_fits_in_two_segments() -> None:
    steps = {s.value for s in Step}
    assert {k[0] for k in TEMPLATES} == steps
    for step in steps:
        for language in ("fr", "en", "ar"):
            for channel in ("email", "sms"):
                assert (step, channel, language) in TEMPLATES, (step, channel, language)
    for language in ("fr", "en", "ar"):
        assert ("acknowledgement", "letter", language) in TEMPLATES and ("resolved", "letter", language) in TEMPLATES
    for (step, channel, language), (subject, body, html) in TEMPLATES.items():
        checked = validate_template(Draft(step, channel, language, body, subject, html), sms_max_segments=LIMIT)
        if channel == "sms":
            assert checked.sms.count <= 2, (step, language, checked.sms, checked.longest.body)
            if language == "fr":
                assert checked.sms.encoding == "GSM-7", (step, checked.longest.body)
            if step not in ("help", "opt_out_confirmation"):
                assert "2026-42" in checked.longest.body  # the short reference SMS threading finds


@pytest.mark.parametrize("language,named,anonymous", [
    ("fr", "Bonjour Amina Benali,", "Madame, Monsieur,"),
    ("en", "Dear Sarah Johnson,", "Dear Sir or Madam,"),
    ("ar", "السيد(ة) أمينة بنعلي،", "سيدتي، سيدي،"),
])
def test_emails_greet_by_name_and_fall_back_politely(language: str, named: str, anonymous: str) -> None:
    for step in ("acknowledgement", "status_changed", "resolved", "satisfaction_survey"):
        subject, body, html = TEMPLATES[(step, "email", language)]
        template = Template(step=step, channel="email", language=language, subject=subject, body=body, html=html)
        full, _, bare, _ = sample_contexts(step, language)
        with_name, without = render(template, full.context), render(template, bare.context)
        assert with_name.body.startswith(named) and without.body.startswith(anonymous)
        assert "GRU-2026-000042" in with_name.subject and "\n" not in with_name.subject
        assert "None" not in with_name.body + without.body


def test_the_acknowledgement_names_the_agent_and_the_due_date_when_known() -> None:
    subject, body, _ = TEMPLATES[("acknowledgement", "email", "fr")]
    full, _, bare, _ = sample_contexts("acknowledgement", "fr")
    assert "confiée à Karim" in render_text(body, full.context)
    assert "au plus tard le vendredi 6 mars 2026" in render_text(body, full.context)
    text = render_text(body, bare.context)
    assert "confiée" not in text and "au plus tard" not in text and "sera traitée" in text


def test_a_letter_is_a_printable_page_with_values_escaped() -> None:
    subject, body, html = TEMPLATES[("acknowledgement", "letter", "ar")]
    context = sample_contexts("acknowledgement", "ar")[0].context
    context["ticket"]["subject"] = "<script>alert(1)</script>"
    page = render(Template(step="acknowledgement", channel="letter", language="ar", subject=subject, body=body,
                           html=html), context)
    assert 'dir="rtl"' in page.html and "@page" in page.html
    assert "<script>" not in page.html and "&lt;script&gt;" in page.html
    assert "<script>" in page.body  # the text version is text: nothing to escape


def test_the_fallback_from_the_issue_works() -> None:
    source = 'Bonjour {{ citizen.first_name or "Madame, Monsieur" }}'
    samples = sample_contexts("agent_reply", "fr")
    assert [render_text(source, s.context) for s in samples[:3]] == [
        "Bonjour Amina", "Bonjour Madame, Monsieur", "Bonjour Madame, Monsieur"]
    assert check(source).samples == 4


# --- the sandbox ---------------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ citizen.__class__ }}",
    "{{ citizen['__class__'] }}",
    "{{ citizen.name.__class__ }}",
    "{{ range.__self__ }}",
])
def test_sandbox_escapes_are_refused_at_save(source: str) -> None:
    assert "internal" in refused(source)


@pytest.mark.parametrize("source,reason", [
    ("{{ citizen.name.format(1) }}", "calling functions or methods is not allowed"),
    ("{{ lipsum() }}", "calling functions or methods is not allowed"),
    ("{% set x = 1 %}{{ x }}", "{% set %} is not allowed"),
    ("{% macro m() %}{{ m() }}{% endmacro %}", "{% macro %} is not allowed"),
    ("{% include 'x' %}", "{% include %} is not allowed"),
    ("{{ 9 ** 9 ** 9 }}", "the ** operator is not allowed"),
    ("{{ citizen.name|center(1000000) }}", "No filter named 'center'"),
    ("{{ citizen.name|attr('__class__') }}", "No filter named 'attr'"),
    ("{{ citizen.name|safe }}", "No filter named 'safe'"),
])
def test_constructs_outside_the_whitelist_are_refused(source: str, reason: str) -> None:
    assert reason in refused(source)


def test_loop_bombs_are_bounded() -> None:
    assert "the ** operator is not allowed" in refused("{% for i in range(10**9) %}x{% endfor %}")
    assert "range() is limited to 1000 items, not 100000" in refused("{% for i in range(100000) %}{% endfor %}")
    nested = "{% for i in range(9) %}{% for j in range(9) %}{% for k in range(9) %}{% endfor %}{% endfor %}{% endfor %}"
    assert "at most 2 loops may be nested" in refused(nested)
    assert "recursive loops" in refused("{% for i in range(3) recursive %}{{ loop([]) }}{% endfor %}")
    big = "{% for i in range(1000) %}{% for j in range(1000) %}xxxxxxxxxx{% endfor %}{% endfor %}"
    started = time.perf_counter()
    assert f"longer than {MAX_RENDERED_CHARS} characters" in refused(big, channel="letter")
    assert time.perf_counter() - started < 1.0  # stopped early, not after ten million characters
    assert "repeating a text" in refused("{{ 'x' * 100000000 }}")
    assert "filter's result is longer" in refused("{{ range(1000)|join('x' * 999) }}")


def test_at_send_time_a_refusal_is_an_invalid_input_not_a_crash() -> None:
    """A row stored before these checks (or written by hand) fails as a typed error."""
    for source in ("{{ ''.__class__ }}", "{% for i in range(5000) %}{% endfor %}", "{{ 1 / 0 }}",
                   "{{ nothing.here }}"):
        with pytest.raises(InvalidInput):
            render_text(source, sample_contexts("resolved", "fr")[0].context)


# --- save-time refusals --------------------------------------------------------------------

def test_unknown_variables_are_refused_with_their_line() -> None:
    message = refused("Bonjour,\n{{ citizen.first_name or 'vous' }}\n{{ citizen.birthday }}\n{{ agent.phone }}")
    assert "line 3: unknown variable citizen.birthday (citizen has: first_name, last_name, name, salutation)" \
        in message
    assert "line 4: unknown variable agent.phone" in message
    assert "line 1: unknown variable 'user'" in refused("{{ user }}")
    assert "unknown variable 'ticket' (available: links, service)" in refused("{{ ticket.reference }}", step="help")
    assert "unknown variable loop.cycle" in refused("{% for i in range(2) %}{{ loop.cycle }}{% endfor %}")
    assert "line 2: syntax error" in refused("ok\n{% if %}")


def test_a_template_that_cannot_render_on_a_sample_is_refused() -> None:
    message = refused("{{ ticket.due_date[0:3] ~ citizen.first_name[0] }}")
    assert "cannot render on sample data" in message and "line 1" in message
    assert "empty for a citizen without a first name" in refused("Bonjour {{ citizen.first_name }}")
    assert "empty for a citizen with no name, no agent" in refused("{{ citizen.first_name or 'x' }} {{ agent.name }}")


def test_field_rules() -> None:
    assert "an email needs a subject" in refused("Bonjour", channel="email")
    assert "an SMS has no subject" in refused("Bonjour", subject="Objet")
    assert "HTML body is for email and letter only" in refused("Bonjour", html="<p>x</p>")
    assert "unknown channel 'fax'" in refused("Bonjour", channel="fax")
    assert "unknown step 'birthday'" in refused("Bonjour", step="birthday")


# --- SMS segments --------------------------------------------------------------------------

def test_sms_beyond_the_limit_is_refused_with_its_count_and_encoding_gsm7() -> None:
    text = "Votre demande est traitée, merci de votre patience. " * 9  # é is GSM-7
    assert check(text[:300]).sms.encoding == "GSM-7"
    message = refused(text)
    assert "the SMS takes 4 segments in GSM-7 (468 characters) on the longest sample, more than the 3" in message
    assert check(text, limit=4).sms.count == 4


def test_a_french_accent_outside_gsm7_switches_to_ucs2() -> None:
    assert check("Réf. {{ ticket.short_reference }} : votre acte est prêt à la mairie.").sms.encoding == "UCS-2"
    assert check("Réf. {{ ticket.short_reference }} : votre acte est disponible.").sms.encoding == "GSM-7"
    text = "Votre acte est prêt. " * 11  # 231 characters, one "ê" each time: UCS-2, 67 a segment
    message = refused(text)
    assert "the SMS takes 4 segments in UCS-2 (231 characters)" in message
    assert "characters outside GSM-7 (ê)" in message
    assert check(text.replace("ê", "e")).sms == check(text.replace("ê", "e")).sms  # GSM-7: 2 segments
    assert check(text.replace("ê", "e")).sms.count == 2


def test_arabic_and_emoji_are_ucs2() -> None:
    arabic = check("{{ service.name }}: تم استلام طلبكم، المرجع {{ ticket.short_reference }}.", language="ar")
    assert arabic.sms.encoding == "UCS-2"
    assert "in UCS-2" in refused("شكرا جزيلا على ثقتكم. " * 11, language="ar")
    emoji = check("Merci 🙏 réf. {{ ticket.short_reference }}")
    assert emoji.sms.encoding == "UCS-2" and emoji.sms.units == len("Merci 🙏 réf. 2026-42") + 1  # a pair
    assert "(🙏)" in refused("Merci 🙏 " * 30)


def test_the_longest_sample_counts_with_the_real_service_name() -> None:
    body = "{{ service.name }} : " + "x" * 140
    assert validate_template(Draft("help", "sms", "fr", body), sms_max_segments=1, service_name="Mairie").sms.count == 1
    with pytest.raises(InvalidInput, match="2 segments"):
        validate_template(Draft("help", "sms", "fr", body), sms_max_segments=1,
                          service_name="Communauté d'agglomération du Grand Exemple")


# --- versions and the fallback chain, on a database ----------------------------------------

@pytest.fixture
async def session(database_url: str):
    engine = make_engine(database_url)
    async with make_sessionmaker(engine)() as session:
        yield session
    await engine.dispose()


async def _save(session, language: str, body: str, *, step: str = "resolved", category_id=None, channel="sms"):
    template, _ = await save_template(session, step=step, channel=channel, language=language, body=body,
                                      category_id=category_id, sms_max_segments=LIMIT, change_note="test")
    return template


async def test_language_then_category_fallback(session) -> None:
    category = await upsert_category(session, slug="voirie", name="Voirie", names={}, skill_slug="voirie")
    english = await _save(session, "en", "Resolved.")
    french = await _save(session, "fr", "Traitée.")
    french_roads = await _save(session, "fr", "Voirie : traitée.", category_id=category.id)

    async def find(language, category_id=None, default="fr"):
        found = await find_template(session, step="resolved", channel="sms", category_id=category_id,
                                    language=language, default_language=default)
        return found.id if found else None

    assert await find("fr", category.id) == french_roads.id  # the category's own first
    assert await find("fr") == french.id  # no category: the generic one
    assert await find("en", category.id) == english.id  # the language beats the category
    assert await find("ar", category.id) == french_roads.id  # no Arabic: the default language
    assert await find("ar", default="de") == english.id  # neither: any language ("en" before "fr")
    assert await find(None) == french.id
    assert await find_template(session, step="help", channel="sms", category_id=None, language="fr",
                               default_language="fr") is None


async def test_versions_stay_linear_and_one_is_active(session) -> None:
    first = await _save(session, "fr", "Version un.")
    second = await _save(session, "fr", "Version deux.")
    back, _ = await rollback_template(session, first.id, created_by=None, sms_max_segments=LIMIT)
    history = await template_history(session, second.id)
    assert [(t.version, t.active, t.body) for t in history] == [
        (3, True, "Version un."), (2, False, "Version deux."), (1, False, "Version un.")]
    assert back.copied_from_id == first.id and back.change_note == "rollback to version 1"
    active = (await session.exec(select(Template).where(Template.active))).all()
    assert [t.id for t in active] == [back.id] and back.active_key == "resolved|*|fr|sms"


async def test_the_database_holds_one_active_version_per_slot(session) -> None:
    """The unique active key: a second active row for a slot cannot be written, however it comes
    (two saves racing: the loser's flush fails and save_template turns it into a Conflict, 409)."""
    from sqlalchemy.exc import IntegrityError

    await _save(session, "fr", "Version un.")
    await session.commit()
    session.add(Template(step="resolved", channel="sms", language="fr", body="intrus", version=7, active=True,
                         active_key="resolved|*|fr|sms"))
    with pytest.raises(IntegrityError):
        await session.flush()
    await session.rollback()
    await _save(session, "fr", "Version deux.")
    rows = (await session.exec(select(Template).where(Template.active))).all()
    assert [(t.version, t.body) for t in rows] == [(2, "Version deux.")]
