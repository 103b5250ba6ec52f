"""The administration pages through HTTP (issue 8 part 4): templates (list, save, refusals shown
next to the field with the text kept, history, rollback, preview on a real ticket), categories,
skills, agents (created with a password shown once, edited, deactivated, password reset) and
team calendars; each change on the audit trail; roles refused; a form without CSRF token 403."""
from __future__ import annotations

import html
import re

from sqlmodel import select

from crm.models import AccessRecord
from app.seeds import MORE_AGENTS, seed_demo_agents
from routing.agents import get_agent_by_email
from routing.models import Agent, AgentSkill, Category, Skill, Team
from tests.conftest import Stack

AMINA, CLAIRE = "amina.benali@demo.guichet.fr", "claire.dubois@demo.guichet.fr"
DEMO_ADMIN = next(a for a in MORE_AGENTS if a.role == "admin")  # the full demo's administrator
ADMIN = DEMO_ADMIN.email
# 3 segments max; this sentence repeated makes a UCS-2 SMS (the "é", "ç" and "€") well over it.
LONG_SMS = "Votre demande est enregistrée, reçue et traitée rapidement : 10 € de frais. " * 6


async def sign_in(stack: Stack, email: str) -> None:
    """Signed in, pages in English: the assertions read the English messages (the translations
    are checked where they matter: the French preview below)."""
    await stack.sign_in(email)
    token = await stack.csrf_token("/account")
    response = await stack.client.post("/account/language", data={"language": "en", "back": "/account",
                                                                   "_csrf_token": token})
    assert response.status_code == 303


async def post_form(stack: Stack, path: str, data: dict, page: str = "/supervisor/templates"):
    token = await stack.csrf_token(page)
    return await stack.client.post(path, data={**data, "_csrf_token": token})


async def audit(stack: Stack, subject_type: str) -> list[tuple[int | None, str, int]]:
    async with stack.session() as session:
        rows = (await session.exec(select(AccessRecord).where(AccessRecord.subject_type == subject_type)
                                   .order_by(AccessRecord.id))).all()
        return [(r.agent_id, r.action, r.subject_id) for r in rows]


def template_id(page: str, slot: str) -> int:
    match = re.search(rf'data-template="{re.escape(slot)}"><th scope="row"><a href="/supervisor/templates/(\d+)"', page)
    assert match, f"no row {slot}"
    return int(match.group(1))


async def sign_in_admin(stack: Stack) -> None:
    """The tests' seed has no administrator: the full demo's one is added, then signed in."""
    async with stack.session() as session:
        await seed_demo_agents(session, [DEMO_ADMIN])
        await session.commit()
    await sign_in(stack, ADMIN)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


# --- templates ---------------------------------------------------------------------------------

async def test_templates_list_filters_and_an_agent_gets_403(stack: Stack) -> None:
    await sign_in(stack, AMINA)
    for path in ("/supervisor/templates", "/supervisor/templates/new", "/supervisor/categories",
                 "/supervisor/agents", "/supervisor/skills", "/supervisor/calendar"):
        assert (await stack.client.get(path)).status_code == 403, path
    stack.client.cookies.clear()
    await sign_in(stack, CLAIRE)
    page = (await stack.client.get("/supervisor/templates?channel=sms&language=ar")).text
    assert 'data-template="acknowledgement|*|ar|sms"' in page
    assert 'data-template="acknowledgement|*|fr|sms"' not in page and "|email\"" not in page
    unknown = await stack.client.get("/supervisor/templates?category=nope")
    assert unknown.status_code == 400 and "unknown category" in unknown.text
    assert 'href="/supervisor/templates"' in page  # in the supervisor's navigation


async def test_a_supervisor_saves_is_refused_with_the_reason_and_rolls_back(stack: Stack) -> None:
    await sign_in(stack, CLAIRE)
    listing = (await stack.client.get("/supervisor/templates?step=acknowledgement&channel=sms&language=fr")).text
    first = template_id(listing, "acknowledgement|*|fr|sms")
    original = (await stack.client.get(f"/supervisor/templates/{first}")).text
    slot = {"step": "acknowledgement", "channel": "sms", "language": "fr", "category": "", "from_id": str(first)}
    no_token = await stack.client.post("/supervisor/templates", data={**slot, "body": "x"})
    assert no_token.status_code == 403

    too_long = await post_form(stack, "/supervisor/templates", {**slot, "body": LONG_SMS, "change_note": "longer"})
    assert too_long.status_code == 400
    assert 'id="body-error"' in too_long.text and "segments in UCS-2" in text_of(too_long.text)
    assert html.escape(LONG_SMS.strip(), quote=False) in too_long.text  # the text as typed, to fix
    unknown = await post_form(stack, "/supervisor/templates", {**slot, "body": "Bonjour {{ citizen.shoe_size }}"})
    assert unknown.status_code == 400 and "shoe_size" in text_of(unknown.text)

    saved = await post_form(stack, "/supervisor/templates", {
        **slot, "body": "{{ service.name }} : demande {{ ticket.short_reference }} bien reçue.",
        "change_note": "plus court"})
    assert saved.status_code == 303 and saved.headers["location"].endswith("?done=saved")
    second = int(re.search(r"/supervisor/templates/(\d+)", saved.headers["location"]).group(1))
    page = (await stack.client.get(saved.headers["location"])).text
    assert "Claire Dubois" in page and "plus court" in page and 'data-version="2" class="active-version"' in page
    assert "+{{ service.name }} : demande {{ ticket.short_reference }} bien reçue." in html.unescape(page)

    rolled = await post_form(stack, f"/supervisor/templates/{first}/rollback", {"change_note": "retour"})
    assert rolled.status_code == 303 and rolled.headers["location"].endswith("?done=rolledback")
    page = (await stack.client.get(rolled.headers["location"])).text
    assert 'data-version="3" class="active-version"' in page and "retour" in page
    assert (await stack.client.get(f"/supervisor/templates/{second}")).status_code == 200
    again = (await stack.client.get("/supervisor/templates?step=acknowledgement&channel=sms&language=fr")).text
    third = template_id(again, "acknowledgement|*|fr|sms")
    assert third not in (first, second)
    assert text_of(original).count("Répondez à ce SMS") and "Répondez à ce SMS" in text_of(
        (await stack.client.get(f"/supervisor/templates/{third}")).text)


async def test_preview_on_a_real_ticket_shows_the_sms_cost(stack: Stack) -> None:
    reference = (await stack.post_request(name="Nadia Amrani"))["reference"]
    await stack.drain()
    await sign_in(stack, CLAIRE)
    listing = (await stack.client.get("/supervisor/templates?step=acknowledgement&language=fr")).text
    sms, email = template_id(listing, "acknowledgement|*|fr|sms"), template_id(listing, "acknowledgement|*|fr|email")
    page = text_of((await stack.client.get(f"/supervisor/templates/{sms}?ticket={reference}&lang=en")).text)
    assert "SMS: 1 segment(s), GSM-7" in page  # "é" is in GSM-7, and the text fits in 160
    year, number = reference.split("-")[1:]
    assert f"demande enregistrée, réf. {year}-{int(number)}" in page
    french = text_of((await stack.client.get(f"/supervisor/templates/{sms}?ticket={reference}&lang=fr")).text)
    assert "SMS : 1 segment(s), GSM-7" in french
    mail = text_of((await stack.client.get(f"/supervisor/templates/{email}?ticket={reference}&lang=en")).text)
    assert re.search(r"Subject: .*" + re.escape(reference), mail) and "Nadia" in mail
    missing = await stack.client.get(f"/supervisor/templates/{sms}?ticket=GRU-1999-000999")
    assert missing.status_code == 200 and "no ticket with this reference" in missing.text

    # The text being edited, previewed before it is saved: rendered on the ticket, nothing stored.
    slot = {"step": "acknowledgement", "channel": "sms", "language": "ar", "category": "etat_civil"}
    draft = await post_form(stack, "/supervisor/templates?lang=en", {
        **slot, "body": "مرجع طلبكم {{ ticket.reference }}", "ticket": reference, "action": "preview"})
    assert draft.status_code == 200, draft.text
    shown = text_of(draft.text)
    assert f"مرجع طلبكم {reference}" in shown and "SMS: 1 segment(s), UCS-2" in shown
    assert 'value="etat_civil" selected' in draft.text  # the form as it was
    listing = (await stack.client.get("/supervisor/templates?category=etat_civil")).text
    assert "data-template" not in listing  # nothing saved
    saved = await post_form(stack, "/supervisor/templates", {**slot, "body": "مرجع طلبكم {{ ticket.reference }}",
                                                              "action": "save"})
    assert saved.status_code == 303
    listing = (await stack.client.get("/supervisor/templates?category=etat_civil")).text
    assert 'data-template="acknowledgement|etat_civil|ar|sms"' in listing


# --- categories --------------------------------------------------------------------------------

async def test_categories_create_edit_refuse_and_audit(stack: Stack) -> None:
    await sign_in(stack, CLAIRE)
    async with stack.session() as session:
        skill = (await session.exec(select(Skill).where(Skill.slug == "urbanisme"))).one()
        team = (await session.exec(select(Team))).first()
    form = {"slug": "terrasses", "name": "Terrasses de café", "name_ar": "المقاهي", "skill_id": str(skill.id),
            "min_level": "2", "priority": "high", "team_id": str(team.id), "sla_first_response_minutes": "120",
            "sla_resolution_minutes": "2400", "notify_steps": ["acknowledgement", "resolved"],
            "escalation": ["raise_priority"]}
    bad = await post_form(stack, "/supervisor/categories", {**form, "sla_first_response_minutes": "soon"},
                          "/supervisor/categories/new")
    assert bad.status_code == 400 and 'id="sla_first_response_minutes-error"' in bad.text
    assert "Refused: a whole number" in bad.text
    french = await stack.client.post("/supervisor/categories?lang=fr", data={
        **form, "priority": "soon", "_csrf_token": await stack.csrf_token("/supervisor/categories/new")})
    assert french.status_code == 400 and "Refusé : priorité inconnue" in french.text  # the reasons translated
    assert 'value="Terrasses de café"' in bad.text  # what was typed stays
    backwards = await post_form(stack, "/supervisor/categories", {**form, "sla_resolution_minutes": "60"},
                                "/supervisor/categories/new")
    assert backwards.status_code == 400 and "cannot come before the first response" in backwards.text
    created = await post_form(stack, "/supervisor/categories", form, "/supervisor/categories/new")
    assert created.status_code == 303, created.text
    async with stack.session() as session:
        category = (await session.exec(select(Category).where(Category.slug == "terrasses"))).one()
    assert (category.skill_id, category.min_level, category.priority, category.team_id) == (skill.id, 2, "high", team.id)
    assert category.notify_steps == ["acknowledgement", "resolved"] and category.names["ar"] == "المقاهي"
    edited = await post_form(stack, f"/supervisor/categories/{category.id}",
                             {**form, "sla_first_response_minutes": "", "notify_steps": ["acknowledgement"]},
                             f"/supervisor/categories/{category.id}")
    assert edited.status_code == 303
    async with stack.session() as session:
        category = await session.get(Category, category.id)
    assert category.sla_first_response_minutes is None and category.notify_steps == ["acknowledgement"]
    taken = await post_form(stack, f"/supervisor/categories/{category.id}", {**form, "slug": "etat_civil"},
                            "/supervisor/categories")
    assert taken.status_code == 409 and "already taken" in taken.text
    claire = await get_agent_by_email_via(stack, CLAIRE)
    assert [(a, action) for a, action, _ in await audit(stack, "category")] == [
        (claire, "category:create"), (claire, "category:update")]
    listing = (await stack.client.get("/supervisor/categories")).text
    assert 'data-category="terrasses"' in listing


async def get_agent_by_email_via(stack: Stack, email: str) -> int:
    async with stack.session() as session:
        return (await get_agent_by_email(session, email)).id


# --- skills and agents -------------------------------------------------------------------------

async def test_skills_admin_adds_supervisor_views_only(stack: Stack) -> None:
    await sign_in(stack, CLAIRE)
    assert 'data-skill="urbanisme"' in (await stack.client.get("/supervisor/skills")).text
    refused = await post_form(stack, "/supervisor/skills", {"slug": "cimetieres", "name": "Cimetières"},
                              "/supervisor/skills")
    assert refused.status_code == 403
    stack.client.cookies.clear()
    await sign_in_admin(stack)
    added = await post_form(stack, "/supervisor/skills", {"slug": "cimetieres", "name": "Cimetières"},
                            "/supervisor/skills")
    assert added.status_code == 303
    twice = await post_form(stack, "/supervisor/skills", {"slug": "cimetieres", "name": "Encore"}, "/supervisor/skills")
    assert twice.status_code == 409 and 'value="Encore"' in twice.text
    bad = await post_form(stack, "/supervisor/skills", {"slug": "Pas Bon!", "name": "x"}, "/supervisor/skills")
    assert bad.status_code == 400 and 'id="slug-error"' in bad.text
    assert [action for _, action, _ in await audit(stack, "skill")] == ["skill:create"]


async def test_an_admin_creates_an_agent_who_signs_in_with_the_password_shown_once(stack: Stack) -> None:
    await sign_in(stack, CLAIRE)
    assert (await stack.client.get("/supervisor/agents/new")).status_code == 403
    stack.client.cookies.clear()
    await sign_in_admin(stack)
    async with stack.session() as session:
        team = (await session.exec(select(Team))).first()
    form = {"email": "Yasmine.Kaci@demo.guichet.fr", "name": "Yasmine Kaci", "role": "agent", "team_id": str(team.id),
            "language": "ar", "capacity": "8", "languages": "fr, ar", "skill_etat_civil": "4", "skill_voirie": ""}
    bad = await post_form(stack, "/supervisor/agents", {**form, "email": "yasmine", "capacity": "0"},
                          "/supervisor/agents/new")
    assert bad.status_code == 400 and 'id="email-error"' in bad.text and 'id="capacity-error"' in bad.text
    assert 'value="Yasmine Kaci"' in bad.text
    short = await post_form(stack, "/supervisor/agents", {**form, "password": "short"}, "/supervisor/agents/new")
    assert short.status_code == 400 and "at least 10 characters" in short.text and "short" not in \
        re.findall(r'name="password"[^>]*>', short.text)[0]
    created = await post_form(stack, "/supervisor/agents", form, "/supervisor/agents/new")
    assert created.status_code == 200 and 'id="new-password"' in created.text
    password = re.search(r'<code dir="ltr">([^<]+)</code>', created.text).group(1)
    async with stack.session() as session:
        yasmine = await get_agent_by_email(session, "yasmine.kaci@demo.guichet.fr")
        levels = (await session.exec(select(AgentSkill).where(AgentSkill.agent_id == yasmine.id))).all()
    assert (yasmine.capacity, yasmine.languages, yasmine.language) == (8, ["ar", "fr"], "ar")
    assert [level.level for level in levels] == [4]
    page = (await stack.client.get(f"/supervisor/agents/{yasmine.id}")).text
    assert password not in page and "argon2" not in page and yasmine.password_hash not in page
    taken = await post_form(stack, "/supervisor/agents", form, "/supervisor/agents/new")
    assert taken.status_code == 409 and "already used" in taken.text
    stack.client.cookies.clear()
    await stack.sign_in("yasmine.kaci@demo.guichet.fr", password)
    assert (await stack.client.get("/queue")).status_code == 200


async def test_edit_deactivate_and_reset_password(stack: Stack) -> None:
    amina = await get_agent_by_email_via(stack, AMINA)
    await sign_in(stack, CLAIRE)
    page = (await stack.client.get(f"/supervisor/agents/{amina}")).text
    values = {name: re.search(rf'type="hidden" name="{name}" value="([^"]*)"', page).group(1)
              for name in ("name", "email", "role", "team_id", "language")}
    fax = await post_form(stack, f"/supervisor/agents/{amina}", {
        **values, "capacity": "12", "channel_capacity": "fax:2", "hours_mon": "9h-17h"}, f"/supervisor/agents/{amina}")
    assert fax.status_code == 400 and 'id="channel_capacity-error"' in fax.text and 'value="fax:2"' in fax.text
    changed = await post_form(stack, f"/supervisor/agents/{amina}", {
        **values, "capacity": "12", "languages": "fr ar en", "skill_etat_civil": "5", "skill_social": "2",
        "channel_capacity": "phone:2, sms:10", "hours_mon": "08:30-12:00", "hours_tue": "08:30-12:00 14:00-17:00"},
        f"/supervisor/agents/{amina}")
    assert changed.status_code == 303, " ".join(text_of(changed.text).split())[-700:]
    async with stack.session() as session:
        agent = await session.get(Agent, amina)
    assert (agent.capacity, agent.languages) == (12, ["ar", "en", "fr"])
    assert agent.channel_capacity == {"phone": 2, "sms": 10}
    assert agent.working_hours == {"mon": [["08:30", "12:00"]], "tue": [["08:30", "12:00"], ["14:00", "17:00"]]}
    page = (await stack.client.get(f"/supervisor/agents/{amina}")).text
    assert 'value="phone:2 sms:10"' in page and 'value="08:30-12:00 14:00-17:00"' in page
    cleared = await post_form(stack, f"/supervisor/agents/{amina}", {  # every day empty: the team's hours
        **values, "capacity": "12", "languages": "fr ar en", "skill_etat_civil": "5", "skill_social": "2",
        "channel_capacity": "phone:2, sms:10"}, f"/supervisor/agents/{amina}")
    assert cleared.status_code == 303
    async with stack.session() as session:
        assert (await session.get(Agent, amina)).working_hours is None
    promoted = await post_form(stack, f"/supervisor/agents/{amina}", {**values, "role": "admin", "capacity": "12"},
                               f"/supervisor/agents/{amina}")
    assert promoted.status_code == 403 and "only administrators" in promoted.text
    assert (await post_form(stack, f"/supervisor/agents/{amina}/active", {"active": "false"},
                            f"/supervisor/agents/{amina}")).status_code == 403
    stack.client.cookies.clear()
    await sign_in_admin(stack)
    reset = await post_form(stack, f"/supervisor/agents/{amina}/password", {"password": ""},
                            f"/supervisor/agents/{amina}")
    assert reset.status_code == 200 and 'id="new-password"' in reset.text
    new_password = re.search(r'<code dir="ltr">([^<]+)</code>', reset.text).group(1)
    chosen = await post_form(stack, f"/supervisor/agents/{amina}/password", {"password": "tiny"},
                             f"/supervisor/agents/{amina}")
    assert chosen.status_code == 400 and 'id="password-error"' in chosen.text
    reference = (await stack.post_request(name="Leila Haddad", email="leila@example.org"))["reference"]
    await stack.drain()
    assert (await stack.ticket(reference))["assignee"]["email"] == AMINA  # civil status, level 5
    off = await post_form(stack, f"/supervisor/agents/{amina}/active", {"active": "false"},
                          f"/supervisor/agents/{amina}")
    assert off.status_code == 303 and off.headers["location"].endswith("done=deactivated")
    assignee = (await stack.ticket(reference))["assignee"]
    assert assignee is None or assignee["email"] != AMINA  # handed back to the router
    myself = await get_agent_by_email_via(stack, ADMIN)
    refused = await post_form(stack, f"/supervisor/agents/{myself}/active", {"active": "false"},
                              f"/supervisor/agents/{myself}")
    assert refused.status_code == 400 and "cannot deactivate yourself" in refused.text
    own = await post_form(stack, f"/supervisor/agents/{myself}/password", {"password": ""},
                          f"/supervisor/agents/{myself}")
    assert own.status_code == 400 and "your account page" in own.text
    stack.client.cookies.clear()
    token = await stack.csrf_token("/login")
    denied = await stack.client.post("/login", data={"email": AMINA, "password": new_password, "_csrf_token": token})
    assert denied.status_code != 303
    actions = [action for _, action, subject in await audit(stack, "agent") if subject == amina]
    assert actions[-2:] == ["password_reset", "agent:deactivate"] and any(a.startswith("update:") for a in actions)


# --- calendar ----------------------------------------------------------------------------------

async def test_team_calendar_saved_and_refused(stack: Stack) -> None:
    await sign_in(stack, CLAIRE)
    async with stack.session() as session:
        team = (await session.exec(select(Team))).first()
    page = (await stack.client.get("/supervisor/calendar")).text
    assert 'value="08:30-17:00"' in page  # the demo team's hours, Monday to Friday
    hours = {f"hours_{day}": "08:30-12:00 13:30-17:00" for day in ("mon", "tue", "wed", "thu", "fri")}
    saved = await post_form(stack, f"/supervisor/calendar/{team.id}", {
        "name": team.name, **hours, "hours_sat": "9:00-12:00", "holiday_country": "fr",
        "extra_holidays": "2026-12-24\n2026-12-31"}, "/supervisor/calendar")
    assert saved.status_code == 303
    async with stack.session() as session:
        team = await session.get(Team, team.id)
    assert team.opening_hours["sat"] == [["09:00", "12:00"]] and team.opening_hours["mon"][1] == ["13:30", "17:00"]
    assert (team.holiday_country, team.extra_holidays) == ("FR", ["2026-12-24", "2026-12-31"])
    bad = await post_form(stack, f"/supervisor/calendar/{team.id}", {"name": team.name, **hours,
                                                                      "hours_sun": "tomorrow"}, "/supervisor/calendar")
    assert bad.status_code == 400 and "hours_sun-" in bad.text and 'value="tomorrow"' in bad.text
    country = await post_form(stack, f"/supervisor/calendar/{team.id}", {"name": team.name, **hours,
                                                                          "holiday_country": "XX"}, "/supervisor/calendar")
    assert country.status_code == 400
    assert [action for _, action, _ in await audit(stack, "team")] == ["team:calendar"]


async def test_garbage_in_every_form_is_refused_never_a_500(stack: Stack) -> None:
    await sign_in_admin(stack)
    junk = [{}, {"slug": "x" * 500, "name": "", "min_level": "-1", "skill_id": "abc", "team_id": "99999",
                 "priority": "<script>", "sla_first_response_minutes": "1e9", "notify_steps": ["nope"],
                 "escalation": ["nope"]},
            {"step": "nope", "channel": "fax", "language": "français", "body": "{{ ", "category": "nope",
             "change_note": "n" * 900, "action": "preview", "ticket": "'; drop table"},
            {"email": "a@b.c", "name": "x", "role": "king", "capacity": "abc", "languages": "french!",
             "language": "xx-yy-zz", "skill_etat_civil": "9", "team_id": "-3", "password": "p" * 400},
            {"name": "", "hours_mon": "25:00-26:00", "holiday_country": "??", "extra_holidays": "31/12/2026",
             "always_open": "maybe", "active": "perhaps"}]
    paths = ["/supervisor/templates", "/supervisor/templates/1/rollback", "/supervisor/templates/999999/rollback",
             "/supervisor/categories", "/supervisor/categories/1", "/supervisor/categories/999999",
             "/supervisor/skills", "/supervisor/agents", "/supervisor/agents/1", "/supervisor/agents/999999",
             "/supervisor/agents/1/active", "/supervisor/agents/1/password", "/supervisor/calendar/1",
             "/supervisor/calendar/999999"]
    token = await stack.csrf_token("/supervisor/templates")
    for path in paths:
        for data in junk:
            response = await stack.client.post(path, data={**data, "_csrf_token": token})
            assert response.status_code < 500, (path, data, response.status_code)
