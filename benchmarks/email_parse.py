"""Email parse throughput on the fixture corpus, against a bare stdlib baseline in the same run.

Baseline: `email.message_from_bytes(raw, policy=default)` + `get_body().get_content()`,
the least any parser does. Ours adds charset repair, HTML to text, reply extraction,
attachments and auto-reply detection.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

from channels.base import ParseError
from channels.email.parse import parse_email

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "email"


@dataclass
class ParseResult:
    messages: int
    ours_per_s: float
    baseline_per_s: float

    @property
    def ratio(self) -> float:
        return self.ours_per_s / self.baseline_per_s


def _baseline(raw: bytes) -> None:
    try:
        message = message_from_bytes(raw, policy=policy.default)
        body = message.get_body(preferencelist=("plain", "html"))
        if body is not None:
            body.get_content()
    except Exception:
        pass


def _ours(raw: bytes) -> None:
    try:
        parse_email(raw)
    except ParseError:
        pass


def _rate(function, corpus: list[bytes], seconds: float = 3.0) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for raw in corpus:
            function(raw)
        done += len(corpus)
    return done / (time.perf_counter() - start)


def run() -> ParseResult:
    corpus = [p.read_bytes() for p in sorted(CORPUS.rglob("*.eml")) if p.stat().st_size < 1_000_000]
    return ParseResult(len(corpus), _rate(_ours, corpus), _rate(_baseline, corpus))
