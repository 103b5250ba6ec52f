"""Demo data and the default acknowledgement and HELP templates, idempotent: running twice changes nothing."""
from __future__ import annotations

from dataclasses import dataclass

from crm.errors import NotFound
from replies.models import Step
from replies.templates import find_template, save_template
from routing.agents import create_agent, get_agent_by_email
from routing.categories import ensure_skill, upsert_category
from routing.teams import add_member, upsert_team
from sqlmodel.ext.asyncio.session import AsyncSession

from app.reply_context import sample_context, sample_help_context

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

ACKNOWLEDGEMENTS = {
    ("email", "fr"): (
        "Votre demande {{ ticket.reference }} a bien été reçue",
        "Bonjour {{ citizen.name or 'Madame, Monsieur' }},\n\n"
        "Nous avons bien reçu votre demande « {{ ticket.subject }} »"
        "{% if ticket.category %} ({{ ticket.category }}){% endif %}.\n"
        "Elle est enregistrée sous la référence {{ ticket.reference }}"
        "{% if agent.first_name %} et confiée à {{ agent.first_name }}, qui la traitera{% else %}"
        " et sera traitée{% endif %} dans les meilleurs délais.\n\n"
        "Pour nous écrire à son sujet, répondez simplement à ce message en gardant la référence "
        "dans l'objet.\n\n"
        "Cordialement,\n{{ service.name }}\n",
    ),
    ("email", "en"): (
        "Your request {{ ticket.reference }} has been received",
        "Hello {{ citizen.name or '' }},\n\n"
        "We have received your request \"{{ ticket.subject }}\""
        "{% if ticket.category %} ({{ ticket.category }}){% endif %}.\n"
        "Its reference is {{ ticket.reference }}"
        "{% if agent.first_name %}; {{ agent.first_name }} will handle it{% endif %} as soon as possible.\n\n"
        "To write to us about it, simply reply to this message and keep the reference in the "
        "subject.\n\n"
        "Kind regards,\n{{ service.name }}\n",
    ),
    ("email", "ar"): (
        "تم استلام طلبكم {{ ticket.reference }}",
        "{% if citizen.name %}السيد(ة) {{ citizen.name }}،{% else %}سيدتي، سيدي،{% endif %}\n\n"
        "لقد توصلنا بطلبكم «{{ ticket.subject }}»{% if ticket.category %} ({{ ticket.category }}){% endif %}.\n"
        "تم تسجيله تحت المرجع {{ ticket.reference }} وستتم معالجته في أقرب الآجال.\n\n"
        "للتواصل معنا بخصوصه، يكفي الرد على هذه الرسالة مع الاحتفاظ بالمرجع في الموضوع.\n\n"
        "مع خالص التحيات،\n{{ service.name }}\n",
    ),
    # SMS carry the short reference (2026-42), which SMS threading finds in a reply. The French
    # text stays in GSM-7 (no "ç", "â", "ê"...), so 160 characters to an SMS instead of 70.
    ("sms", "fr"): ("", "{{ service.name }} : demande enregistrée, réf. {{ ticket.short_reference }}. "
                        "Répondez à ce SMS pour la compléter."),
    ("sms", "en"): ("", "{{ service.name }}: request received, ref. {{ ticket.short_reference }}. "
                        "Reply to this SMS to add to it."),
    ("sms", "ar"): ("", "{{ service.name }}: تم استلام طلبكم، المرجع {{ ticket.short_reference }}. "
                        "ردوا على هذه الرسالة لإضافة معلومات."),
}

# The answer to an SMS "HELP" / "AIDE": about the service, on no ticket.
HELP_ANSWERS = {
    ("sms", "fr"): ("", "{{ service.name }} : écrivez-nous ici votre demande, ou sur {{ links.request }}. "
                        "Donnez sa réf. pour la suivre. STOP : plus de SMS."),
    ("sms", "en"): ("", "{{ service.name }}: text us your request here, or go to {{ links.request }}. "
                        "Give its ref. to follow it up. STOP: no more SMS."),
    ("sms", "ar"): ("", "{{ service.name }}: لتقديم طلب، راسلونا هنا أو عبر {{ links.request }}. "
                        "اذكروا مرجع طلبكم لمتابعته. أرسلوا STOP لإيقاف الرسائل."),
}


async def seed_reference_data(session: AsyncSession) -> None:
    """Skills, categories and acknowledgement templates: what a fresh install needs to answer."""
    for slug, name in SKILLS.items():
        await ensure_skill(session, slug, name)
    team = await upsert_team(session, **TEAM)
    for slug, name, names, skill in CATEGORIES:
        first, resolution, escalation = SLAS[slug]
        await upsert_category(session, slug=slug, name=name, names={"fr": name, **names},
                              skill_slug=skill, team_id=team.id, sla_first_response_minutes=first,
                              sla_resolution_minutes=resolution, escalation=escalation)
    for step, texts, sample in ((Step.ACKNOWLEDGEMENT, ACKNOWLEDGEMENTS, sample_context()),
                                (Step.HELP, HELP_ANSWERS, sample_help_context())):
        for (channel, language), (subject, body) in texts.items():
            existing = await find_template(session, step=step.value, channel=channel, category_id=None,
                                           language=language, default_language=language)
            if existing is None:
                await save_template(session, step=step.value, channel=channel, language=language,
                                    subject=subject, body=body, sample=sample)


async def seed_demo_agents(session: AsyncSession) -> None:
    team = await upsert_team(session, **TEAM)
    for agent in AGENTS:
        try:
            row = await get_agent_by_email(session, agent.email)
        except NotFound:
            row = await create_agent(session, email=agent.email, name=agent.name, role=agent.role,
                                     skills=agent.skills, languages=agent.languages)
        await add_member(session, team, row.id)
