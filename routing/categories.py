"""Request categories and the skills they need."""
from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.errors import InvalidInput, NotFound
from routing.models import DEFAULT_NOTIFY_STEPS, NOTIFIABLE_STEPS, Category, Skill

ESCALATIONS = {"raise_priority", "supervisor_queue"}


async def active_categories(session: AsyncSession) -> list[Category]:
    return list((await session.exec(select(Category).where(Category.active).order_by(Category.name))).all())


async def category_by_slug(session: AsyncSession, slug: str) -> Category | None:
    return (await session.exec(select(Category).where(Category.slug == slug, Category.active))).first()


async def ensure_skill(session: AsyncSession, slug: str, name: str | None = None) -> Skill:
    skill = (await session.exec(select(Skill).where(Skill.slug == slug))).first()
    if skill is None:
        skill = Skill(slug=slug, name=name or slug)
        session.add(skill)
        await session.flush()
    return skill


async def upsert_category(
    session: AsyncSession, *, slug: str, name: str, names: dict[str, str], skill_slug: str,
    min_level: int = 1, priority: str = "normal", team_id: int | None = None,
    sla_first_response_minutes: int | None = None, sla_resolution_minutes: int | None = None,
    escalation: list[str] | None = None, notify_steps: list[str] | None = None,
) -> Category:
    """notify_steps None: left as it is (a new category gets the defaults)."""
    skill = await ensure_skill(session, skill_slug)
    category = (await session.exec(select(Category).where(Category.slug == slug))).first()
    if category is None:
        category = Category(slug=slug, name=name)
        session.add(category)
    category.name, category.names, category.skill_id = name, names, skill.id
    category.min_level, category.priority, category.active = min_level, priority, True
    unknown = set(escalation or []) - ESCALATIONS
    if unknown:
        raise InvalidInput(f"unknown escalation rule(s) {', '.join(sorted(unknown))}; "
                           f"known: {', '.join(sorted(ESCALATIONS))}")
    category.team_id, category.escalation = team_id, list(escalation or [])
    if notify_steps is not None:
        category.notify_steps = checked_notify_steps(notify_steps)
    category.sla_first_response_minutes, category.sla_resolution_minutes = (sla_first_response_minutes,
                                                                            sla_resolution_minutes)
    await session.flush()
    return category


def checked_notify_steps(steps: list[str]) -> list[str]:
    """The steps in their canonical order; InvalidInput naming any unknown one."""
    unknown = set(steps) - set(NOTIFIABLE_STEPS)
    if unknown:
        raise InvalidInput(f"unknown notification step(s) {', '.join(sorted(unknown))}; "
                           f"known: {', '.join(NOTIFIABLE_STEPS)}", fields={"notify_steps": "unknown step"})
    return [step for step in NOTIFIABLE_STEPS if step in steps]


async def set_notify_steps(session: AsyncSession, slug: str, steps: list[str]) -> Category:
    """Which steps of a request this category tells the citizen about."""
    category = await category_by_slug(session, slug)
    if category is None:
        raise NotFound(f"no category {slug!r}")
    category.notify_steps = checked_notify_steps(steps)
    await session.flush()
    return category


def localised_name(category: Category, language: str) -> str:
    return category.names.get(language) or category.name


async def notify_steps_of(session: AsyncSession, category_id: int | None) -> list[str]:
    """The steps the citizen is told about for this category; without one, the defaults."""
    category = await session.get(Category, category_id) if category_id is not None else None
    return list(category.notify_steps) if category is not None else list(DEFAULT_NOTIFY_STEPS)
