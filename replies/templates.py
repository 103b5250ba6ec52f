"""Stored templates: the one to use for a reply, and their versions (save, history, rollback).

Rendering and validation are pure and live in replies.rendering; what they export that callers
of this module use (render, Rendered...) is re-exported here.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.errors import Conflict, NotFound
from replies.models import Template
from replies.rendering import (
    Checked,
    Draft,
    Rendered,
    plain_to_html,
    render,
    render_text,
    validate_template,
)

__all__ = ["Rendered", "Slot", "find_template", "get_template", "list_templates", "plain_to_html", "render",
           "render_text", "rollback_template", "save_template", "template_history"]


@dataclass(frozen=True)
class Slot:
    """Where versions line up: one step, category (None: every category), language and channel."""

    step: str
    category_id: int | None
    language: str
    channel: str

    @property
    def key(self) -> str:
        return f"{self.step}|{self.category_id or '*'}|{self.language}|{self.channel}"

    @classmethod
    def of(cls, template: Template) -> Slot:
        return cls(template.step, template.category_id, template.language, template.channel)

    def where(self):
        category = (Template.category_id == self.category_id if self.category_id is not None
                    else col(Template.category_id).is_(None))
        return (Template.step == self.step) & (Template.language == self.language) \
            & (Template.channel == self.channel) & category


async def find_template(
    session: AsyncSession, *, step: str, channel: str, category_id: int | None,
    language: str | None, default_language: str,
) -> Template | None:
    """The active template for a reply. Language first (the citizen's, then the default, then
    any), then the category's own before the generic one. One query."""
    category = col(Template.category_id).is_(None)
    if category_id is not None:
        category = category | (Template.category_id == category_id)
    candidates = (
        await session.exec(
            select(Template).where(Template.step == step, Template.channel == channel, Template.active,
                                   category)
        )
    ).all()
    preferred = [lang for lang in dict.fromkeys([language, default_language]) if lang]

    def rank(template: Template) -> tuple[int, int, str]:
        by_language = preferred.index(template.language) if template.language in preferred else len(preferred)
        return by_language, 0 if template.category_id is not None else 1, template.language

    return min(candidates, key=rank, default=None)


class TemplateCache:
    """find_template remembered for one transaction (a batch of inbound messages asks the same
    few questions a hundred times); a fresh cache per transaction, so an edit is seen next time."""

    def __init__(self) -> None:
        self._found: dict[tuple, Template | None] = {}

    async def find(self, session: AsyncSession, *, step: str, channel: str, category_id: int | None,
                   language: str | None, default_language: str) -> Template | None:
        key = (step, channel, category_id, language, default_language)
        if key not in self._found:
            self._found[key] = await find_template(session, step=step, channel=channel, category_id=category_id,
                                                   language=language, default_language=default_language)
        return self._found[key]


async def get_template(session: AsyncSession, template_id: int) -> Template:
    template = await session.get(Template, template_id)
    if template is None:
        raise NotFound(f"no template {template_id}")
    return template


async def list_templates(session: AsyncSession, *, step: str | None = None, language: str | None = None,
                         channel: str | None = None, category_id: int | None = None,
                         generic_only: bool = False) -> list[Template]:
    """The active versions, filtered."""
    query = select(Template).where(Template.active)
    for column, value in ((Template.step, step), (Template.language, language), (Template.channel, channel),
                          (Template.category_id, category_id)):
        if value is not None:
            query = query.where(column == value)
    if generic_only:
        query = query.where(col(Template.category_id).is_(None))
    query = query.order_by(col(Template.step), col(Template.channel), col(Template.language),
                           col(Template.category_id), col(Template.id))
    return list((await session.exec(query)).all())


async def template_history(session: AsyncSession, template_id: int) -> list[Template]:
    """Every version of the template's slot, newest first."""
    slot = Slot.of(await get_template(session, template_id))
    return list((await session.exec(
        select(Template).where(slot.where()).order_by(col(Template.version).desc()))).all())


async def save_template(
    session: AsyncSession, *, step: str, channel: str, language: str, body: str, subject: str = "",
    html: str | None = None, category_id: int | None = None, created_by: int | None = None,
    change_note: str = "", sms_max_segments: int, service_name: str | None = None,
    public_url: str | None = None, copied_from_id: int | None = None,
) -> tuple[Template, Checked]:
    """Validate, then store as the slot's new active version; the previous one stays, inactive.
    InvalidInput when a rule is broken; Conflict when someone saved the same slot meanwhile."""
    extra = {k: v for k, v in (("service_name", service_name), ("public_url", public_url)) if v}
    checked = validate_template(Draft(step=step, channel=channel, language=language, body=body,
                                      subject=subject, html=html or None),
                                sms_max_segments=sms_max_segments, **extra)
    slot = Slot(step, category_id, language, channel)
    versions = (await session.exec(
        select(Template).where(slot.where()).order_by(col(Template.version).desc()).with_for_update()
    )).all()
    for previous in versions:
        if previous.active:
            previous.active, previous.active_key = False, None
    template = Template(step=step, category_id=category_id, language=language, channel=channel,
                        subject=subject, body=body, html=html or None,
                        version=(versions[0].version if versions else 0) + 1, active=True,
                        active_key=slot.key, created_by=created_by,
                        change_note=change_note.strip(), copied_from_id=copied_from_id)
    try:
        await session.flush()  # the retired version loses its key before the new one takes it
        session.add(template)
        await session.flush()
    except IntegrityError:
        raise Conflict("another version of this template was saved at the same time; reload and retry") \
            from None
    return template, checked


async def rollback_template(session: AsyncSession, template_id: int, *, created_by: int | None,
                            change_note: str = "", sms_max_segments: int, service_name: str | None = None,
                            public_url: str | None = None) -> tuple[Template, Checked]:
    """A new version copying an old one: history stays linear, and the copy is validated like
    any save (the rules may have tightened since)."""
    source = await get_template(session, template_id)
    note = change_note.strip() or f"rollback to version {source.version}"
    return await save_template(
        session, step=source.step, channel=source.channel, language=source.language, body=source.body,
        subject=source.subject, html=source.html, category_id=source.category_id, created_by=created_by,
        change_note=note, sms_max_segments=sms_max_segments, service_name=service_name,
        public_url=public_url, copied_from_id=source.id)
