"""Template rendering throughput (issue 7: >= 5,000 messages/s for a cached template), against a
plain `str.format` of the same text in the same run.

A message is what a reply costs to render: the subject and the body of the seeded French email
acknowledgement (conditionals, fallbacks, the agent's signature), or the body of the SMS one,
through replies.rendering.render (sandbox, length cap, None as empty) on the validation samples,
rotated. The baseline formats the same words with the values already chosen: the floor of
"put values in a text", with no sandbox and no logic.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from app.seed_templates import TEMPLATES
from replies.models import Template
from replies.rendering import render, sample_contexts

TARGET_PER_S = 5_000

_BASELINE_SUBJECT = "Votre demande {reference} a bien été reçue"
_BASELINE_BODY = (
    "{salutation},\n\nNous avons bien reçu votre demande « {subject} » ({category}).\n"
    "Elle est enregistrée sous la référence {reference} et confiée à {agent}, qui la traitera dans les "
    "meilleurs délais, au plus tard le {due_date}.\n\nPour nous écrire à son sujet, répondez simplement à "
    "ce message en gardant la référence dans l'objet.\nVous pouvez suivre son avancement ici : {tracking}\n\n"
    "Cordialement,\n{signature}\n")
_BASELINE_SMS = "{service} : demande enregistrée, réf. {short}. Répondez à ce SMS pour la compléter."


@dataclass
class Result:
    channel: str
    messages: int
    ours_per_s: float
    baseline_per_s: float
    p50_us: float
    p99_us: float

    @property
    def ratio(self) -> float:
        return self.ours_per_s / self.baseline_per_s


def _baseline_sms(context: dict) -> str:
    return _BASELINE_SMS.format(service=context["service"]["name"], short=context["ticket"]["short_reference"])


def _baseline_email(context: dict) -> tuple[str, str]:
    citizen, ticket, agent = context["citizen"], context["ticket"], context["agent"]
    values = {"salutation": citizen["salutation"], "subject": ticket["subject"], "category": ticket["category"],
              "reference": ticket["reference"], "agent": agent["first_name"], "due_date": ticket["due_date"],
              "tracking": context["links"]["tracking"], "signature": agent["signature"]}
    return _BASELINE_SUBJECT.format(**values), _BASELINE_BODY.format(**values)


def _timed(function, contexts: list[dict], n: int) -> tuple[float, list[float]]:
    latencies = []
    start = time.perf_counter()
    for i in range(n):
        begin = time.perf_counter()
        function(contexts[i % len(contexts)])
        latencies.append(time.perf_counter() - begin)
    return n / (time.perf_counter() - start), sorted(latencies)


def _measure(channel: str, n: int) -> Result:
    subject, body, html = TEMPLATES[("acknowledgement", channel, "fr")]
    template = Template(id=1, step="acknowledgement", channel=channel, language="fr", subject=subject, body=body,
                        html=html)
    contexts = [s.context for s in sample_contexts("acknowledgement", "fr")]
    render(template, contexts[0])  # compiled once, as in a worker that has sent one already
    ours, latencies = _timed(lambda c: render(template, c), contexts, n)
    full = [c for c in contexts if c["agent"]["first_name"] and c["ticket"]["category"]]
    baseline, _ = _timed(_baseline_email if channel == "email" else _baseline_sms, full, n)
    return Result(channel, n, ours, baseline, latencies[n // 2] * 1e6, latencies[int(n * 0.99)] * 1e6)


def run(n: int = 50_000) -> list[Result]:
    return [_measure("email", n), _measure("sms", n)]


def report(results: list[Result], machine: str) -> None:
    print(f"template rendering — {machine}")
    for r in results:
        verdict = "ok" if r.ours_per_s >= TARGET_PER_S else "BELOW TARGET"
        print(f"  {r.channel:5} {r.ours_per_s:>9,.0f} msg/s (p50 {r.p50_us:.0f} µs, p99 {r.p99_us:.0f} µs); "
              f"str.format baseline {r.baseline_per_s:>11,.0f}/s; ratio {r.ratio:.3f}; "
              f"target >= {TARGET_PER_S:,}/s {verdict}")


def as_row(result: Result) -> dict:
    return {**vars(result), "ratio": result.ratio}
