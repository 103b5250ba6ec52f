"""Demo data and the default templates (app/seed_templates.py), idempotent: running twice changes nothing."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from app.seed_templates import KNOWLEDGE, TEMPLATES
from crm.errors import NotFound
from replies.knowledge import add_answer, find_answer
from replies.templates import list_templates, save_template
from routing.agents import create_agent, get_agent_by_email, set_password
from routing.categories import category_by_slug, ensure_skill, upsert_category
from routing.teams import add_member, upsert_team

SKILLS = {
    "etat_civil": "État civil",
    "urbanisme": "Urbanisme",
    "voirie": "Voirie",
    "social": "Action sociale",
    "accueil": "Accueil général",
}

CATEGORIES = [
    ("etat_civil", "État civil (naissance, mariage, décès)",
     {"en": "Civil status (birth, marriage, death)", "ar": "الحالة المدنية (ولادة، زواج، وفاة)"}, "etat_civil"),
    ("urbanisme", "Urbanisme et permis de construire",
     {"en": "Planning and building permits", "ar": "التعمير ورخص البناء"}, "urbanisme"),
    ("voirie", "Voirie, propreté, éclairage",
     {"en": "Roads, cleanliness, street lighting", "ar": "الطرق والنظافة والإنارة"}, "voirie"),
    ("social", "Action sociale et solidarité",
     {"en": "Social services and support", "ar": "العمل الاجتماعي والتضامن"}, "social"),
    ("autre", "Autre demande", {"en": "Other request", "ar": "طلب آخر"}, "accueil"),
]
# SLA targets in business minutes (first response, resolution) and what a breach does.
SLAS = {
    "etat_civil": (240, 5 * 480, ["raise_priority"]),
    "urbanisme": (2 * 480, 20 * 480, ["raise_priority"]),
    "voirie": (480, 5 * 480, ["raise_priority"]),
    "social": (120, 3 * 480, ["raise_priority", "supervisor_queue"]),
    "autre": (480, 5 * 480, []),
}
# Every demo agent signs in to the pages with this (printed by `guichet demo`); never on a real install.
DEMO_PASSWORD = "guichet-demo"
TEAM = {"slug": "mairie", "name": "Mairie — accueil et services",
        "opening_hours": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:30", "end": "17:00"},
        "holiday_country": "FR"}


@dataclass(frozen=True)
class DemoAgent:
    email: str
    name: str
    role: str
    skills: dict[str, int]
    languages: tuple[str, ...] = ("fr",)
    capacity: int = 20  # open tickets at once
    # Teams whose queue they work; at the "team" stage the router gives any member a ticket.
    teams: tuple[str, ...] = ("mairie",)


AGENTS = [
    DemoAgent("amina.benali@demo.guichet.fr", "Amina Benali", "agent", {"etat_civil": 5, "social": 3},
              ("fr", "ar")),
    DemoAgent("karim.haddad@demo.guichet.fr", "Karim Haddad", "agent", {"urbanisme": 4, "voirie": 3},
              ("fr", "ar", "en")),
    DemoAgent("sophie.martin@demo.guichet.fr", "Sophie Martin", "frontdesk", {"accueil": 4, "etat_civil": 2},
              ("fr", "en")),
    DemoAgent("claire.dubois@demo.guichet.fr", "Claire Dubois", "supervisor",
              {slug: 3 for slug in SKILLS}, ("fr", "en")),
]
# The rest of the staff in `guichet demo`'s full data set (app/demo_data.py): smaller capacities, so
# that at peak some requests wait in the queue. Tests seed AGENTS only, whose routing they assume.
FIELD_TEAM = {"slug": "services-techniques", "name": "Services techniques (voirie, urbanisme)",
              "opening_hours": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:30", "end": "16:00"},
              "holiday_country": "FR"}
MORE_AGENTS = [
    DemoAgent("youssef.elidrissi@demo.guichet.fr", "Youssef El Idrissi", "agent",
              {"voirie": 4, "urbanisme": 2, "accueil": 2}, ("fr", "ar"), capacity=12,
              teams=("mairie", "services-techniques")),
    DemoAgent("lucie.bernard@demo.guichet.fr", "Lucie Bernard", "agent", {"social": 5, "etat_civil": 3},
              ("fr", "en"), capacity=12),
    DemoAgent("mehdi.khelifi@demo.guichet.fr", "Mehdi Khelifi", "agent", {"etat_civil": 4, "accueil": 3},
              ("fr", "ar"), capacity=12),
    # In no team: the counter and the administration do not take the back office's requests.
    DemoAgent("yasmine.cherkaoui@demo.guichet.fr", "Yasmine Cherkaoui", "frontdesk", {"accueil": 3},
              ("fr", "ar", "en"), capacity=4, teams=()),
    DemoAgent("marc.lefevre@demo.guichet.fr", "Marc Lefèvre", "admin", {}, ("fr", "en"), teams=()),
]


async def seed_reference_data(session: AsyncSession) -> None:
    """Skills, categories and templates: what a fresh install needs to answer."""
    for slug, name in SKILLS.items():
        await ensure_skill(session, slug, name)
    team = await upsert_team(session, **TEAM)
    for slug, name, names, skill in CATEGORIES:
        first, resolution, escalation = SLAS[slug]
        await upsert_category(session, slug=slug, name=name, names={"fr": name, **names},
                              skill_slug=skill, team_id=team.id, sla_first_response_minutes=first,
                              sla_resolution_minutes=resolution, escalation=escalation)
    await seed_templates(session)
    await seed_knowledge(session)


async def seed_knowledge(session: AsyncSession) -> int:
    """The ready answers suggestions offer (app/seed_templates.py), each validated; those already
    there (same title and language) are left as they are. How many were added."""
    added = 0
    for slug, language, title, keywords, examples, body in KNOWLEDGE:
        if await find_answer(session, title, language) is not None:
            continue
        category = await category_by_slug(session, slug) if slug else None
        await add_answer(session, title=title, language=language, body=body, keywords=keywords, examples=examples,
                         category_id=category.id if category else None)
        added += 1
    return added


async def seed_templates(session: AsyncSession, *, sms_max_segments: int = 3) -> int:
    """Every seeded template whose slot is empty, validated like a supervisor's save; how many."""
    added = 0
    present = {(t.step, t.channel, t.language) for t in await list_templates(session, generic_only=True)}
    for (step, channel, language), (subject, body, html) in TEMPLATES.items():
        if (step, channel, language) in present:
            continue  # a supervisor's version, or an earlier seed: left as it is
        await save_template(session, step=step, channel=channel, language=language, subject=subject, body=body,
                            html=html, change_note="installed by guichet demo", sms_max_segments=sms_max_segments)
        added += 1
    return added


async def seed_demo_agents(session: AsyncSession, agents: Sequence[DemoAgent] = AGENTS) -> None:
    teams = {TEAM["slug"]: await upsert_team(session, **TEAM)}
    if any(FIELD_TEAM["slug"] in agent.teams for agent in agents):
        teams[FIELD_TEAM["slug"]] = await upsert_team(session, **FIELD_TEAM)
    for agent in agents:
        try:
            row = await get_agent_by_email(session, agent.email)
        except NotFound:
            row = await create_agent(session, email=agent.email, name=agent.name, role=agent.role,
                                     skills=agent.skills, languages=agent.languages, capacity=agent.capacity)
        if row.password_hash is None:  # a password the agent changed is kept
            await set_password(session, row, DEMO_PASSWORD, reuse_hash=True)
        for slug in agent.teams:
            await add_member(session, teams[slug], row.id)
