"""Every message a page shows has a French and an Arabic translation, with the same placeholders.

The msgids are read where the pages take them: each literal `_("…")` of the templates (parsed
with Jinja, so a string in a comment or an attribute is not mistaken for one), and the labels
the Python side hands to `_(…)` in a template (navigation, tabs, channels, statuses, notices,
error pages). A page string added without its translations fails here, naming it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2 import Environment, nodes

from app.errors import CSRF_MESSAGE, PAGE_MESSAGES
from app.web.attachments import NO_PREVIEW
from app.web.desk import CHANNELS, DESK_MESSAGES, EMAIL_INVALID, INVALID, REPLY_CHANNELS, SCAN_BLOCKED, \
    SCAN_TOO_LARGE, TOO_LONG
from app.web.pages import NAV
from app.web.queue import CHANNEL_LABELS, SLA_LABELS, TAB_LABELS
from app.web.ticket_page import NOTICES
from crm.models import TicketStatus
from crm.types import Channel
from routing.models import Presence

WEB = Path(__file__).resolve().parents[2] / "app" / "web"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def template_msgids() -> dict[str, set[str]]:
    """msgid -> the templates using it."""
    env, used = Environment(), {}
    for path in sorted((WEB / "templates").glob("*.html")):
        for call in env.parse(path.read_text(encoding="utf-8")).find_all(nodes.Call):
            if (isinstance(call.node, nodes.Name) and call.node.name == "_" and call.args
                    and isinstance(call.args[0], nodes.Const) and isinstance(call.args[0].value, str)):
                used.setdefault(call.args[0].value, set()).add(path.name)
    return used


def python_msgids() -> set[str]:
    """Labels passed from Python and translated in the templates with `_(label)`, and the values
    the pages show through `_(value)` (statuses, channels, presences)."""
    return ({item.label for item in NAV} | set(TAB_LABELS.values()) | set(SLA_LABELS.values())
            | {label for _, label in CHANNEL_LABELS.values()} | set(NOTICES.values())
            | {label for _, label in (*CHANNELS, *REPLY_CHANNELS)} | set(PAGE_MESSAGES.values())
            | {CSRF_MESSAGE, NO_PREVIEW, EMAIL_INVALID, INVALID, SCAN_BLOCKED, SCAN_TOO_LARGE, TOO_LONG}
            | set(DESK_MESSAGES.values()) | {"required", "unknown category", "not a valid phone number"} | {s.value for s in TicketStatus} | {c.value for c in Channel}
            | {p.value for p in Presence})


def test_the_templates_are_read() -> None:
    """Guards the extraction itself: a parser that found nothing would pass every check below."""
    used = template_msgids()
    assert len(used) > 250 and "Supervision" in used and "Satisfaction barometer" in used
    assert "ticket.html" in used["Download"]


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_every_page_message_is_translated(language: str) -> None:
    with (WEB / "locales" / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    wanted = {**{m: sorted(t) for m, t in template_msgids().items()}, **{m: ["(python)"] for m in python_msgids()}}
    missing = sorted(f"{m!r} in {', '.join(where)}" for m, where in wanted.items()
                     if not (catalog.get(m) and catalog.get(m).string))
    assert not missing, f"{len(missing)} message(s) without a {language} translation:\n" + "\n".join(missing)
    mismatched = sorted(m for m in wanted
                        if sorted(PLACEHOLDER.findall(m)) != sorted(PLACEHOLDER.findall(catalog.get(m).string)))
    assert not mismatched, f"{language} translations whose placeholders differ from the msgid: {mismatched}"
