"""Sandboxed rendering of stored templates."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2 import Template as Template_
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import escape
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.errors import InvalidInput
from replies.models import Template

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    template_id: int | None
    language: str


@lru_cache(maxsize=2048)
def _compiled(source: str) -> Template_:
    """Compiling costs milliseconds, rendering microseconds: compile each text once."""
    return _env.from_string(source)


def render_text(source: str, context: dict[str, Any]) -> str:
    try:
        return _compiled(source).render(context)
    except TemplateError as exc:
        raise InvalidInput(f"template cannot render: {exc}") from exc


def render(template: Template, context: dict[str, Any]) -> Rendered:
    return Rendered(
        subject=render_text(template.subject, context).strip(),
        body=render_text(template.body, context),
        template_id=template.id,
        language=template.language,
    )


async def find_template(
    session: AsyncSession, *, step: str, channel: str, category_id: int | None,
    language: str | None, default_language: str,
) -> Template | None:
    """The category's template in the citizen's language, falling back to generic and default."""
    languages = [lang for lang in dict.fromkeys([language, default_language]) if lang]
    for lang in languages:
        for category in dict.fromkeys([category_id, None]):
            template = (
                await session.exec(
                    select(Template)
                    .where(
                        Template.step == step,
                        Template.channel == channel,
                        Template.language == lang,
                        Template.active,
                        Template.category_id == category if category is not None
                        else col(Template.category_id).is_(None),
                    )
                    .order_by(col(Template.version).desc())
                    .limit(1)
                )
            ).first()
            if template is not None:
                return template
    return None


async def save_template(
    session: AsyncSession, *, step: str, channel: str, language: str, subject: str, body: str,
    category_id: int | None = None, sample: dict[str, Any] | None = None,
) -> Template:
    """Store a new version; a template that cannot render on sample data is refused now."""
    if sample is not None:
        render_text(subject, sample)
        render_text(body, sample)
    latest = (
        await session.exec(
            select(Template.version)
            .where(Template.step == step, Template.channel == channel, Template.language == language,
                   Template.category_id == category_id if category_id is not None
                   else col(Template.category_id).is_(None))
            .order_by(col(Template.version).desc())
            .limit(1)
        )
    ).first()
    template = Template(step=step, channel=channel, language=language, subject=subject, body=body,
                        category_id=category_id, version=(latest or 0) + 1)
    session.add(template)
    await session.flush()
    return template


def plain_to_html(text: str) -> str:
    """The HTML twin of a plain-text message: escaped, paragraphs and line breaks kept."""
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    body = "\n".join("<p>" + str(escape(p)).replace("\n", "<br>\n") + "</p>" for p in paragraphs)
    return f'<!doctype html>\n<html><body style="font-family: sans-serif">\n{body}\n</body></html>\n'
