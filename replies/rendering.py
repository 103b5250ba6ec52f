"""Sandboxed rendering and save-time validation of reply templates (pure: no I/O).

Supervisors write templates; citizens' data fills them. Three walls keep that safe:
Jinja2's SandboxedEnvironment (no `__class__`, no `__globals__`), a whitelist of template
constructs checked before anything is compiled (no macros, no `{% set %}`, no method calls,
no `**`, `range` of at most MAX_RANGE items, at most MAX_LOOP_DEPTH nested loops, bounded
filters), and a cap on the rendered length. What a template may read is SCHEMA: a template
that reads anything else, cannot render on the samples, prints an empty value without a
fallback or (SMS) costs too many segments is refused when it is saved, never at send time.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2 import Template as CompiledTemplate
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import escape

from channels.sms.segments import GSM7_BASIC, GSM7_EXTENSION, Segments, sms_segments
from crm.errors import InvalidInput
from replies.models import Step

EMAIL, SMS, LETTER = "email", "sms", "letter"
TEMPLATE_CHANNELS = (EMAIL, SMS, LETTER)
HTML_CHANNELS = (EMAIL, LETTER)

# What a template may read. Every value is a string or None (None: not known for this ticket).
SCHEMA: dict[str, frozenset[str]] = {
    "citizen": frozenset({"name", "first_name", "last_name", "salutation"}),
    "ticket": frozenset({"reference", "short_reference", "subject", "category", "status", "step",
                         "due_date"}),
    "agent": frozenset({"name", "first_name", "signature"}),
    "service": frozenset({"name", "opening_hours"}),
    # survey: the satisfaction page; survey_1 ... survey_5: one click records that score (the
    # satisfaction_survey step only; empty elsewhere).
    "links": frozenset({"tracking", "request", "survey", *(f"survey_{n}" for n in range(1, 6))}),
}
# The answer to an SMS HELP or STOP is about the service and a number: there is no citizen,
# ticket or agent.
SERVICE_ONLY = ("service", "links")
SERVICE_STEPS = (Step.HELP.value, Step.OPT_OUT_CONFIRMATION.value)
LOOP_ATTRIBUTES = frozenset({"index", "index0", "revindex", "revindex0", "first", "last", "length"})

MAX_SOURCE_CHARS = 20_000  # of one part (subject, body, HTML)
MAX_RENDERED_CHARS = 50_000  # a longer result is an error: a letter is a few pages at most
MAX_RANGE = 1_000
MAX_LOOP_DEPTH = 2
MAX_REPEAT = 1_000  # "-" * 40 is fine; "x" * 10**8 is not


def variables_for(step: str) -> dict[str, frozenset[str]]:
    if step in SERVICE_STEPS:
        return {name: SCHEMA[name] for name in SERVICE_ONLY}
    return SCHEMA


# --- the sandbox ---------------------------------------------------------------------------

def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range() is limited to {MAX_RANGE} items, not {len(numbers)}")
    return numbers


def _bounded(filter_: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose result may grow (join, replace), capped at MAX_RENDERED_CHARS."""
    @functools.wraps(filter_)  # keeps Jinja's pass_eval_context mark
    def bounded(*args: Any, **kwargs: Any) -> Any:
        result = filter_(*args, **kwargs)
        if isinstance(result, str) and len(result) > MAX_RENDERED_CHARS:
            raise SecurityError(f"a filter's result is longer than {MAX_RENDERED_CHARS} characters")
        return result
    return bounded


SAFE_FILTERS = ("abs", "capitalize", "count", "d", "default", "e", "escape", "first", "float", "int",
                "join", "last", "length", "lower", "replace", "round", "string", "striptags", "title",
                "trim", "truncate", "upper", "wordcount")
GROWING_FILTERS = ("join", "replace")


class _Sandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(times, int) \
                        and len(sequence) * times > MAX_REPEAT:
                    raise SecurityError(f"repeating a text beyond {MAX_REPEAT} characters is not allowed")
        return super().call_binop(context, operator, left, right)


class EmptyValue(Exception):
    """Validation only: a `{{ }}` printed None (see _refuse_none)."""


def _none_as_empty(value: Any) -> Any:
    return "" if value is None else value


def _refuse_none(value: Any) -> Any:
    if value is None:
        raise EmptyValue()
    return value


def _sandbox(*, html: bool, validating: bool) -> _Sandbox:
    env = _Sandbox(undefined=StrictUndefined, autoescape=html, keep_trailing_newline=True,
                   finalize=_refuse_none if validating else _none_as_empty)
    env.filters = {name: env.filters[name] for name in SAFE_FILTERS}
    for name in GROWING_FILTERS:
        env.filters[name] = _bounded(env.filters[name])
    env.globals = {"range": _bounded_range}
    return env


_ENVS = {(html, validating): _sandbox(html=html, validating=validating)
         for html in (False, True) for validating in (False, True)}

# --- what a template may contain -----------------------------------------------------------

_ALLOWED = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.Name, nodes.Getattr,
    nodes.Getitem, nodes.Slice, nodes.If, nodes.For, nodes.Filter, nodes.Test, nodes.CondExpr,
    nodes.And, nodes.Or, nodes.Not, nodes.Neg, nodes.Pos, nodes.Compare, nodes.Operand, nodes.Concat,
    nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Call, nodes.Tuple,
    nodes.List, nodes.Keyword,
)
_NAMED = {
    nodes.Assign: "{% set %}", nodes.AssignBlock: "{% set %}", nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}", nodes.FilterBlock: "{% filter %}", nodes.With: "{% with %}",
    nodes.Include: "{% include %}", nodes.Import: "{% import %}", nodes.FromImport: "{% import %}",
    nodes.Extends: "{% extends %}", nodes.Block: "{% block %}", nodes.Pow: "the ** operator",
    nodes.Dict: "a dictionary literal",
}


def _line(node: nodes.Node) -> str:
    return f"line {node.lineno}"


def _structure_problems(tree: nodes.Template) -> list[str]:
    """What no template may do, whatever it reads: the bounds of the sandbox."""
    problems: list[str] = []

    def visit(node: nodes.Node, depth: int) -> None:
        if not isinstance(node, _ALLOWED):
            what = _NAMED.get(type(node), type(node).__name__)
            problems.append(f"{_line(node)}: {what} is not allowed in a template")
            return
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            problems.append(f"{_line(node)}: access to the internal attribute {node.attr!r} is refused")
            return
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
                and isinstance(node.arg.value, str) and node.arg.value.startswith("_"):
            problems.append(f"{_line(node)}: access to the internal item {node.arg.value!r} is refused")
            return
        if isinstance(node, nodes.Call) and not (
                isinstance(node.node, nodes.Name) and node.node.name == "range"
                and node.dyn_args is None and node.dyn_kwargs is None):
            problems.append(f"{_line(node)}: calling functions or methods is not allowed (only range(...))")
        if isinstance(node, nodes.For):
            if node.recursive:
                problems.append(f"{_line(node)}: recursive loops are not allowed")
                return
            if depth >= MAX_LOOP_DEPTH:
                problems.append(f"{_line(node)}: at most {MAX_LOOP_DEPTH} loops may be nested")
                return
            visit(node.iter, depth)
            for child in [*node.body, *node.else_, *([node.test] if node.test else [])]:
                visit(child, depth + 1)
            return
        for child in node.iter_child_nodes():
            visit(child, depth)

    visit(tree, 0)
    return problems


def _variable_problems(tree: nodes.Template, variables: Mapping[str, frozenset[str]]) -> list[str]:
    """Top-level names (jinja2.meta) and their attributes, against the schema."""
    problems: list[str] = []
    available = ", ".join(sorted(variables))
    unknown = meta.find_undeclared_variables(tree) - set(variables) - {"range"}
    for name in sorted(unknown):
        first = next((n for n in tree.find_all(nodes.Name) if n.name == name), None)
        where = f"{_line(first)}: " if first is not None else ""
        problems.append(f"{where}unknown variable {name!r} (available: {available})")
    loop_names = {"loop"}
    for loop in tree.find_all(nodes.For):
        loop_names |= {n.name for n in loop.target.find_all(nodes.Name)}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if not isinstance(node.node, nodes.Name):
            if isinstance(node, nodes.Getattr):
                problems.append(f"{_line(node)}: .{node.attr} of a computed value is not available; "
                                f"use filters (|upper, |length...)")
            continue
        owner = node.node.name
        if isinstance(node, nodes.Getattr):
            key: Any = node.attr
        elif isinstance(node.arg, nodes.Const):
            key = node.arg.value
        else:
            continue
        if owner in variables and owner not in loop_names:
            if key not in variables[owner]:
                problems.append(f"{_line(node)}: unknown variable {owner}.{key} "
                                f"({owner} has: {', '.join(sorted(variables[owner]))})")
        elif owner == "loop" and key not in LOOP_ATTRIBUTES:
            problems.append(f"{_line(node)}: unknown variable loop.{key}")
    return problems


@functools.lru_cache(maxsize=4096)
def _compiled(source: str, html: bool, validating: bool = False) -> CompiledTemplate:
    """Compiling costs milliseconds, rendering microseconds: compile each text once.
    Nothing is compiled before its structure is checked (constant folding runs at compile)."""
    env = _ENVS[(html, validating)]
    if len(source) > MAX_SOURCE_CHARS:
        raise InvalidInput(f"the template is longer than {MAX_SOURCE_CHARS} characters")
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise InvalidInput(f"line {exc.lineno}: syntax error: {exc.message}") from None
    problems = _structure_problems(tree)
    if problems:
        raise InvalidInput("; ".join(problems))
    try:
        return env.from_string(tree)
    except TemplateSyntaxError as exc:  # an unknown filter or test is found when compiling
        raise InvalidInput(f"line {exc.lineno}: {exc.message}") from None


def _template_line(exc: BaseException) -> str:
    """`line N: ` of the template frame in a rendering error's traceback, when there is one."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"line {line}: " if line else ""


def _run(compiled: CompiledTemplate, context: Mapping[str, Any]) -> str:
    parts: list[str] = []
    size = 0
    for chunk in compiled.generate(context):
        size += len(chunk)
        if size > MAX_RENDERED_CHARS:
            raise SecurityError(f"the rendered text is longer than {MAX_RENDERED_CHARS} characters")
        parts.append(chunk)
    return "".join(parts)


def render_text(source: str, context: Mapping[str, Any], *, html: bool = False) -> str:
    """One part rendered; any failure (sandbox refusal included) is an InvalidInput, never a 500."""
    compiled = _compiled(source, html)
    try:
        return _run(compiled, context)
    except SecurityError as exc:
        raise InvalidInput(f"{_template_line(exc)}refused by the sandbox: {exc}") from None
    except Exception as exc:  # whatever a template's expression raised (TypeError, ZeroDivision...)
        raise InvalidInput(f"{_template_line(exc)}template cannot render: {exc}") from None


# --- rendering a stored template -----------------------------------------------------------

class TemplateText(Protocol):
    id: int | None
    language: str
    subject: str
    body: str
    html: str | None


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    template_id: int | None
    language: str
    html: str | None = None


def one_line(text: str) -> str:
    return " ".join(text.split())


def render(template: TemplateText, context: Mapping[str, Any]) -> Rendered:
    return Rendered(
        subject=one_line(render_text(template.subject, context)) if template.subject else "",
        body=render_text(template.body, context),
        template_id=template.id,
        language=template.language,
        html=render_text(template.html, context, html=True) if template.html else None,
    )


def plain_to_html(text: str) -> str:
    """The HTML twin of a plain-text message: escaped, paragraphs and line breaks kept."""
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    body = "\n".join("<p>" + str(escape(p)).replace("\n", "<br>\n") + "</p>" for p in paragraphs)
    return f'<!doctype html>\n<html><body style="font-family: sans-serif">\n{body}\n</body></html>\n'


# --- what citizens are told ----------------------------------------------------------------

STATUS_LABELS = {
    "fr": {"new": "reçue", "open": "en cours de traitement", "pending": "en attente de votre réponse",
           "resolved": "traitée", "closed": "clôturée"},
    "en": {"new": "received", "open": "being handled", "pending": "waiting for your answer",
           "resolved": "resolved", "closed": "closed"},
    "ar": {"new": "مستلم", "open": "قيد المعالجة", "pending": "في انتظار ردكم", "resolved": "تمت معالجته",
           "closed": "مغلق"},
}
STEP_LABELS = {
    "fr": {"acknowledgement": "accusé de réception", "more_information_needed": "informations demandées",
           "status_changed": "changement de statut", "agent_reply": "réponse", "resolved": "demande traitée",
           "satisfaction_survey": "avis", "opt_out_confirmation": "désinscription", "help": "aide"},
    "en": {"acknowledgement": "acknowledgement", "more_information_needed": "more information needed",
           "status_changed": "status change", "agent_reply": "reply", "resolved": "request resolved",
           "satisfaction_survey": "feedback", "opt_out_confirmation": "unsubscription", "help": "help"},
    "ar": {"acknowledgement": "إشعار بالاستلام", "more_information_needed": "طلب معلومات إضافية",
           "status_changed": "تغيير الحالة", "agent_reply": "رد", "resolved": "تمت معالجة الطلب",
           "satisfaction_survey": "رأيكم", "opt_out_confirmation": "إلغاء الاشتراك", "help": "مساعدة"},
}
_SALUTATIONS = {"fr": ("Bonjour {name}", "Madame, Monsieur"), "en": ("Dear {name}", "Dear Sir or Madam"),
                "ar": ("السيد(ة) {name}", "سيدتي، سيدي")}


def _label(table: dict[str, dict[str, str]], key: str, language: str) -> str:
    return (table.get(language) or table["en"]).get(key, key)


def status_label(status: str, language: str) -> str:
    return _label(STATUS_LABELS, status, language)


def step_label(step: str, language: str) -> str:
    return _label(STEP_LABELS, step, language)


def salutation(name: str | None, language: str) -> str:
    """The opening of a letter, without its comma: by name when we know it."""
    named, anonymous = _SALUTATIONS.get(language, _SALUTATIONS["en"])
    return named.format(name=name) if name else anonymous


# --- samples a template must render on before it is saved ----------------------------------

_SAMPLE_PEOPLE = {  # language: (first, last), (long first, long last), category, long category
    "fr": (("Amina", "Benali"), ("Marie-Christine", "Delacroix-Beaumont de Saint-Exupéry"),
           "État civil", "Urbanisme et permis de construire"),
    "en": (("Sarah", "Johnson"), ("Alexandra-Elizabeth", "Fitzgerald-Montgomery Wetherby"),
           "Civil status", "Planning and building permits"),
    "ar": (("أمينة", "بنعلي"), ("فاطمة الزهراء", "العلوي الإدريسي بن عبد الله"),
           "الحالة المدنية", "التعمير ورخص البناء"),
}
_SAMPLE_DATES = {"fr": "vendredi 6 mars 2026", "en": "Friday 6 March 2026", "ar": "الجمعة 6 مارس 2026"}
_SAMPLE_HOURS = {"fr": "du lundi au vendredi, de 08:30 à 17:00", "en": "Monday to Friday, 08:30–17:00",
                 "ar": "من الاثنين إلى الجمعة، 08:30–17:00"}
SAMPLE_SERVICE = "Mairie de démonstration"
SAMPLE_URL = "https://guichet.example.org"


@dataclass(frozen=True)
class Sample:
    label: str
    context: dict[str, Any]


def sample_contexts(step: str, language: str, *, service_name: str = SAMPLE_SERVICE,
                    public_url: str = SAMPLE_URL) -> list[Sample]:
    """Several citizens and tickets, the last one with the longest values (what an SMS costs)."""
    people = _SAMPLE_PEOPLE.get(language, _SAMPLE_PEOPLE["en"])
    (first, last), (long_first, long_last), category, long_category = people
    reference, short = "GRU-2026-000042", "2026-42"
    if step in SERVICE_STEPS:
        cases = [("the service", None)]
    else:
        cases = [("a citizen with a full name", (first, last, True)),
                 ("a citizen without a first name", (None, last, True)),
                 ("a citizen with no name, no agent, no category, no due date", (None, None, False)),
                 ("the longest names", (long_first, long_last, True))]
    samples = []
    for label, person in cases:
        links = {"tracking": None, "request": f"{public_url}/request", "survey": None,
                 **{f"survey_{n}": None for n in range(1, 6)}}
        if step == Step.SATISFACTION_SURVEY.value:  # a signed token is about this long
            token = "eyJ0Ijo0MiwiaSI6MTc4MDAwMDAwMCwicyI6NX0.q1w2e3r4t5y6u7i8o9p0a1s2"
            links |= {"survey": f"{public_url}/survey/{token}",
                      **{f"survey_{n}": f"{public_url}/survey/{token}" for n in range(1, 6)}}
        context: dict[str, Any] = {
            "service": {"name": service_name, "opening_hours": _SAMPLE_HOURS.get(language, _SAMPLE_HOURS["en"])},
            "links": links,
        }
        if person is not None:
            given, family, complete = person
            name = " ".join(p for p in (given, family) if p) or None
            context["citizen"] = {"name": name, "first_name": given, "last_name": family,
                                  "salutation": salutation(name, language)}
            context["ticket"] = {
                "reference": reference, "short_reference": short,
                "subject": "Copie intégrale d'acte de naissance" if complete else "",
                "category": (long_category if given == long_first else category) if complete else None,
                "status": status_label("open", language), "step": step_label(step, language),
                "due_date": _SAMPLE_DATES.get(language, _SAMPLE_DATES["en"]) if complete else None,
            }
            context["agent"] = ({"name": "Karim Haddad", "first_name": "Karim",
                                 "signature": f"Karim Haddad\n{service_name}"} if complete
                                else {"name": None, "first_name": None, "signature": None})
            links["tracking"] = f"{public_url}/track?reference={reference}"
        samples.append(Sample(label, context))
    return samples


# --- validation at save time ---------------------------------------------------------------

@dataclass(frozen=True)
class Draft:
    step: str
    channel: str
    language: str
    body: str
    subject: str = ""
    html: str | None = None


@dataclass(frozen=True)
class Checked:
    """A template that passed: what it gives on its longest sample."""

    samples: int
    longest: Rendered
    sms: Segments | None


_LANGUAGE = re.compile(r"[a-z]{2,3}")


def _refuse(message: str, part: str | None = None) -> InvalidInput:
    return InvalidInput(f"{part}, {message}" if part else message, fields={part or "template": message})


def _check_fields(draft: Draft) -> None:
    steps = [s.value for s in Step]
    if draft.step not in steps:
        raise _refuse(f"unknown step {draft.step!r} (steps: {', '.join(steps)})", "step")
    if draft.channel not in TEMPLATE_CHANNELS:
        raise _refuse(f"unknown channel {draft.channel!r} (channels: {', '.join(TEMPLATE_CHANNELS)})",
                      "channel")
    if not _LANGUAGE.fullmatch(draft.language):
        raise _refuse(f"{draft.language!r} is not a language code like fr, en or ar", "language")
    if not draft.body.strip():
        raise _refuse("the text is empty", "body")
    if draft.channel == EMAIL and not draft.subject.strip():
        raise _refuse("an email needs a subject", "subject")
    if draft.channel == SMS and draft.subject.strip():
        raise _refuse("an SMS has no subject", "subject")
    if draft.html and draft.channel not in HTML_CHANNELS:
        raise _refuse(f"an HTML body is for {' and '.join(HTML_CHANNELS)} only", "html")


def _parts(draft: Draft) -> list[tuple[str, str, bool]]:
    parts = [("subject", draft.subject, False)] if draft.subject else []
    parts.append(("body", draft.body, False))
    if draft.html:
        parts.append(("html", draft.html, True))
    return parts


def _render_sample(part: str, source: str, html: bool, sample: Sample) -> str:
    try:
        return _run(_compiled(source, html, validating=True), sample.context)
    except InvalidInput as exc:
        raise _refuse(exc.message, part) from None
    except EmptyValue as exc:
        raise _refuse(f"{_template_line(exc)}a value printed here is empty for {sample.label}: give it a "
                      f"fallback, e.g. {{{{ citizen.first_name or \"Madame, Monsieur\" }}}}, or test it "
                      f"with {{% if ... %}}", part) from None
    except SecurityError as exc:
        raise _refuse(f"{_template_line(exc)}refused by the sandbox: {exc}", part) from None
    except Exception as exc:
        raise _refuse(f"{_template_line(exc)}cannot render on sample data ({sample.label}): {exc}",
                      part) from None


def _sms_problem(segments: Segments, text: str, limit: int) -> str:
    message = (f"the SMS takes {segments.count} segments in {segments.encoding} ({len(text)} characters) "
               f"on the longest sample, more than the {limit} allowed")
    if segments.encoding == "UCS-2":
        outside = sorted({c for c in text if c not in GSM7_BASIC and c not in GSM7_EXTENSION})
        message += (f"; characters outside GSM-7 ({' '.join(outside[:12])}) make every segment 70 "
                    f"characters instead of 160")
    return message


def validate_template(draft: Draft, *, sms_max_segments: int, service_name: str = SAMPLE_SERVICE,
                      public_url: str = SAMPLE_URL) -> Checked:
    """Every rule a template must pass to be saved; InvalidInput naming the first problem."""
    _check_fields(draft)
    variables = variables_for(draft.step)
    for part, source, html in _parts(draft):
        try:
            _compiled(source, html)
        except InvalidInput as exc:
            raise _refuse(exc.message, part) from None
        problems = _variable_problems(_ENVS[(html, False)].parse(source), variables)
        if problems:
            raise _refuse("; ".join(problems), part)
    samples = sample_contexts(draft.step, draft.language, service_name=service_name, public_url=public_url)
    results = []
    for sample in samples:
        texts = {part: _render_sample(part, source, html, sample) for part, source, html in _parts(draft)}
        results.append(Rendered(one_line(texts.get("subject", "")), texts["body"], None, draft.language,
                                texts.get("html")))
    costs = None
    if draft.channel == SMS:
        costs = [sms_segments(r.body) for r in results]
        worst = max(range(len(results)), key=lambda i: (costs[i].count, costs[i].units))
        if costs[worst].count > sms_max_segments:
            raise _refuse(_sms_problem(costs[worst], results[worst].body, sms_max_segments), "body")
    longest = max(range(len(results)), key=lambda i: len(results[i].body))
    return Checked(len(samples), results[longest], costs[longest] if costs else None)
