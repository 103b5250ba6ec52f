"""What the templates API does: supervisors' saves and rollbacks with this install's limits,
dry-run validation, previews on a real ticket. Categories are named by slug at the edge."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.reply_context import help_context, reply_context
from app.settings import Settings
from channels.sms.segments import Segments, sms_segments
from crm import tickets
from crm.errors import DomainError, InvalidInput
from replies.models import Step, Template
from replies.rendering import (
    SERVICE_STEPS,
    TEMPLATE_CHANNELS,
    Checked,
    Draft,
    Rendered,
    plain_to_html,
    render,
    validate_template,
)
from replies.templates import (
    get_template,
    list_templates,
    rollback_template,
    save_template,
    template_history,
)
from routing.categories import active_categories, category_by_slug
from routing.models import Agent
from routing.supervision import require_supervisor


class TemplateIn(BaseModel):
    step: str = Field(..., description="acknowledgement, more_information_needed, status_changed, agent_reply, "
                                       "resolved, satisfaction_survey, opt_out_confirmation or help")
    channel: str = Field(..., description="email, sms or letter")
    language: str = Field(..., min_length=2, max_length=8, description="fr, en, ar...")
    category: str | None = Field(None, description="a category slug; null: every category")
    subject: str = Field("", max_length=300, description="email (required) and letter")
    body: str = Field(..., min_length=1, description="the text, Jinja2: {{ citizen.first_name or \"Madame\" }}")
    html: str | None = Field(None, description="email and letter: an HTML body, values autoescaped")
    change_note: str = Field("", max_length=500, description="why this version; shown in the history")


class RollbackIn(BaseModel):
    change_note: str = Field("", max_length=500)


class PreviewIn(BaseModel):
    ticket: str = Field(..., description="the ticket's reference, e.g. GRU-2026-000001")
    template_id: int | None = Field(None, description="a stored template; or give a draft below")
    step: str = Step.AGENT_REPLY.value
    channel: str | None = Field(None, description="default: the ticket's reply channel")
    language: str | None = Field(None, description="default: the ticket's language")
    subject: str = Field("", max_length=300)
    body: str | None = None
    html: str | None = None


class TemplateOut(BaseModel):
    id: int
    step: str
    category: str | None
    language: str
    channel: str
    subject: str
    body: str
    html: str | None
    version: int
    active: bool
    created_at: datetime
    created_by: int | None
    change_note: str
    copied_from_id: int | None


class SmsCost(BaseModel):
    segments: int
    encoding: str
    characters: int
    units: int


class RenderedOut(BaseModel):
    subject: str
    text: str
    html: str | None
    sms: SmsCost | None = None


class SavedOut(BaseModel):
    template: TemplateOut
    longest_sample: RenderedOut


class ValidationOut(BaseModel):
    valid: bool
    samples: int
    longest_sample: RenderedOut


class PreviewOut(RenderedOut):
    ticket: str
    template_id: int | None
    step: str
    channel: str
    language: str


async def category_slugs(session: AsyncSession) -> dict[int, str]:
    return {c.id: c.slug for c in await active_categories(session)}


async def category_id_of(session: AsyncSession, slug: str | None) -> int | None:
    if not slug:
        return None
    category = await category_by_slug(session, slug.strip())
    if category is None:
        raise InvalidInput(f"unknown category {slug!r}", fields={"category": "unknown category"})
    return category.id


def _out(template: Template, slugs: dict[int, str]) -> TemplateOut:
    return TemplateOut(
        id=template.id, step=template.step, language=template.language, channel=template.channel,
        category=slugs.get(template.category_id) if template.category_id else None,
        subject=template.subject, body=template.body, html=template.html, version=template.version,
        active=template.active, created_at=template.created_at, created_by=template.created_by,
        change_note=template.change_note, copied_from_id=template.copied_from_id)


def _rendered(rendered: Rendered, channel: str, sms_cost: Segments | None = None) -> RenderedOut:
    cost = sms_cost or (sms_segments(rendered.body) if channel == "sms" else None)
    html = rendered.html or (plain_to_html(rendered.body) if channel in ("email", "letter") else None)
    return RenderedOut(subject=rendered.subject, text=rendered.body, html=html,
                       sms=SmsCost(segments=cost.count, encoding=cost.encoding, characters=len(rendered.body),
                                   units=cost.units) if cost else None)


def _limits(settings: Settings) -> dict:
    return {"sms_max_segments": settings.sms_max_segments, "service_name": settings.service_name,
            "public_url": settings.public_url.rstrip("/")}


async def templates_list(session: AsyncSession, *, step: str | None, language: str | None, channel: str | None,
                         category: str | None) -> list[TemplateOut]:
    category_id = await category_id_of(session, category)
    slugs = await category_slugs(session)
    return [_out(t, slugs) for t in await list_templates(session, step=step, language=language, channel=channel,
                                                           category_id=category_id)]


async def template_one(session: AsyncSession, template_id: int) -> TemplateOut:
    return _out(await get_template(session, template_id), await category_slugs(session))


async def template_versions(session: AsyncSession, template_id: int) -> list[TemplateOut]:
    slugs = await category_slugs(session)
    return [_out(t, slugs) for t in await template_history(session, template_id)]


def _saved(template: Template, checked: Checked, slugs: dict[int, str]) -> SavedOut:
    return SavedOut(template=_out(template, slugs),
                    longest_sample=_rendered(checked.longest, template.channel, checked.sms))


async def save_version(session: AsyncSession, settings: Settings, agent: Agent, data: TemplateIn) -> SavedOut:
    """A supervisor's new version, refused with the rule it breaks."""
    require_supervisor(agent)
    template, checked = await save_template(
        session, step=data.step, channel=data.channel, language=data.language.strip().lower(),
        subject=data.subject, body=data.body, html=data.html, category_id=await category_id_of(session, data.category),
        created_by=agent.id, change_note=data.change_note, **_limits(settings))
    return _saved(template, checked, await category_slugs(session))


async def roll_back(session: AsyncSession, settings: Settings, agent: Agent, template_id: int,
                    data: RollbackIn) -> SavedOut:
    require_supervisor(agent)
    template, checked = await rollback_template(session, template_id, created_by=agent.id,
                                                change_note=data.change_note, **_limits(settings))
    return _saved(template, checked, await category_slugs(session))


def check_draft(settings: Settings, data: TemplateIn) -> ValidationOut:
    """The save's checks without saving (the category is not looked up: it changes no rule)."""
    draft = Draft(step=data.step, channel=data.channel, language=data.language.strip().lower(), body=data.body,
                  subject=data.subject, html=data.html or None)
    checked = validate_template(draft, **_limits(settings))
    return ValidationOut(valid=True, samples=checked.samples,
                         longest_sample=_rendered(checked.longest, draft.channel, checked.sms))


async def preview(session: AsyncSession, settings: Settings, data: PreviewIn) -> PreviewOut:
    """A stored template, or a draft, rendered on a real ticket as the citizen would get it."""
    ticket = await tickets.find_by_reference(session, data.ticket)
    if data.template_id is not None:
        template = await get_template(session, data.template_id)
        draft = Draft(step=template.step, channel=template.channel, language=template.language,
                      body=template.body, subject=template.subject, html=template.html)
    elif data.body:
        draft = Draft(step=data.step, channel=data.channel or ticket.reply_channel,
                      language=data.language or ticket.language or settings.default_language,
                      body=data.body, subject=data.subject, html=data.html or None)
    else:
        raise InvalidInput("give a template_id, or a draft body", fields={"body": "required without template_id"})
    if draft.step in SERVICE_STEPS:
        context = help_context(settings)
    else:
        context = await reply_context(session, ticket, settings, step=draft.step, language=draft.language)
    rendered = render(_DraftText(draft, data.template_id), context)
    out = _rendered(rendered, draft.channel)
    return PreviewOut(**out.model_dump(), ticket=ticket.reference, template_id=data.template_id, step=draft.step,
                      channel=draft.channel, language=draft.language)


class _DraftText:
    """A draft shaped like a stored template, for render()."""

    def __init__(self, draft: Draft, template_id: int | None) -> None:
        self.id, self.language, self.subject = template_id, draft.language, draft.subject
        self.body, self.html = draft.body, draft.html


# --- the administration pages (app/web/admin_templates.py) -------------------------------------

@dataclass(frozen=True)
class VersionRow:
    """One version in the history: who, when, why, and what differs from the version before."""

    template: TemplateOut
    author: str | None  # None: installed by the seeds
    changed: list[str]  # subject, body, html
    diff: list[str]  # unified diff lines of the text parts


@dataclass(frozen=True)
class TemplateWorkspace:
    template: TemplateOut | None  # None: a new template, not saved yet
    history: list[VersionRow]
    categories: dict[str, str]  # slug -> name
    ticket: str
    preview: PreviewOut | None
    preview_error: str | None


def _diff(older: TemplateOut, newer: TemplateOut) -> tuple[list[str], list[str]]:
    changed, lines = [], []
    for part in ("subject", "body", "html"):
        before, after = getattr(older, part) or "", getattr(newer, part) or ""
        if before != after:
            changed.append(part)
            lines += list(difflib.unified_diff(before.splitlines(), after.splitlines(), f"{part} v{older.version}",
                                               f"{part} v{newer.version}", lineterm="", n=1))
    return changed, lines


async def _history(session: AsyncSession, template_id: int) -> list[VersionRow]:
    versions = await template_versions(session, template_id)
    ids = {v.created_by for v in versions if v.created_by is not None}
    names = dict((await session.exec(select(Agent.id, Agent.name).where(col(Agent.id).in_(ids)))).all()) if ids else {}
    history = []
    for n, version in enumerate(versions):
        changed, diff = _diff(versions[n + 1], version) if n + 1 < len(versions) else ([], [])
        history.append(VersionRow(version, names.get(version.created_by), changed, diff))
    return history


async def template_workspace(session: AsyncSession, settings: Settings, template_id: int | None,
                             ticket: str = "", draft: TemplateIn | None = None) -> TemplateWorkspace:
    """A template with its history (authors named, changes shown) and, when a ticket reference is
    given, a preview on that ticket as the citizen will get it: of `draft` (the text being
    edited, not saved) when given, else of the stored version."""
    template = await template_one(session, template_id) if template_id else None
    history = await _history(session, template_id) if template_id else []
    shown, error, ticket = None, None, ticket.strip()
    if ticket and (draft is not None or template_id):
        wanted = (PreviewIn(ticket=ticket, step=draft.step, channel=draft.channel, language=draft.language,
                            subject=draft.subject, body=draft.body, html=draft.html) if draft is not None
                  else PreviewIn(ticket=ticket, template_id=template_id))
        try:
            shown = await preview(session, settings, wanted)
        except DomainError as exc:  # unknown reference, or a render failure on this ticket's data
            error = exc.message
    categories = {c.slug: c.name for c in await active_categories(session)}
    return TemplateWorkspace(template, history, categories, ticket, shown, error)


async def template_filters(session: AsyncSession) -> dict[str, list[tuple[str, str]]]:
    """What the list and the form offer: steps, channels, languages, categories (value, label)."""
    return {"steps": [(s.value, s.value) for s in Step], "channels": [(c, c) for c in TEMPLATE_CHANNELS],
            "languages": [(code, code) for code in ("fr", "en", "ar")],
            "categories": [(c.slug, c.name) for c in await active_categories(session)]}


async def template_index(session: AsyncSession, *, step: str | None, language: str | None, channel: str | None,
                         category: str | None) -> tuple[list[TemplateOut], dict[str, list[tuple[str, str]]]]:
    """The list page: the active versions filtered, and what the filters offer."""
    return (await templates_list(session, step=step, language=language, channel=channel, category=category),
            await template_filters(session))
