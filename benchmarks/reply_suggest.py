"""Suggested answers (issue 7: one message in <= 20 ms p95 with 1,000 templates).

1,000 candidates: the seeded ready answers and 960 more made from them (other categories, words
shuffled), each with its keywords, examples and title, in French, English and Arabic; 500 past
choices. What is timed is what a request costs once the index is built (it is kept in memory and
rebuilt only when the knowledge base changes; past messages are stored folded): folding the message,
rapidfuzz over every phrase, the scores. The index build is timed apart.
"""
from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass

from app.seed_templates import KNOWLEDGE
from replies.suggest import Candidate, Past, build_index, fold, rank

TARGET_P95_MS = 20.0
MESSAGES = [
    ("Bonjour, il me faudrait un extrait de naissance pour ma fille, merci", "fr"),
    ("Le lampadaire de la rue Victor Hugo est éteint depuis mardi soir", "fr"),
    ("Quels papiers faut-il pour agrandir ma maison de 30 m² ?", "fr"),
    ("أريد نسخة كاملة من رسم الولادة الخاص بابني", "ar"),
    ("I need my birth certificate for a passport application", "en"),
]


@dataclass
class Result:
    candidates: int
    phrases: int
    history: int
    queries: int
    p50_ms: float
    p95_ms: float
    build_ms: float


def candidates(n: int, seed: int = 7) -> list[Candidate]:
    rng = random.Random(seed)
    made = []
    for i in range(n):
        slug, language, title, keywords, examples, _ = KNOWLEDGE[i % len(KNOWLEDGE)]
        words = [w for text in (*keywords, *examples) for w in text.split()]
        rng.shuffle(words)
        extra = tuple(" ".join(words[j:j + 3]) for j in range(0, min(len(words), 9), 3))
        made.append(Candidate(f"answer:{i}", "answer", i, f"{title} ({i})" if i >= len(KNOWLEDGE) else title,
                              language, rng.randint(1, 5) if slug else None, (*keywords, *extra), tuple(examples)))
    return made


def run(n: int = 1000, queries: int = 1000) -> Result:
    pool = candidates(n)
    start = time.perf_counter()
    index = build_index(pool)
    build_ms = (time.perf_counter() - start) * 1000
    rng = random.Random(3)
    history = [Past(fold(rng.choice(MESSAGES)[0]), f"answer:{rng.randrange(n)}", rng.choice(("fr", "ar", "en")))
               for _ in range(500)]
    latencies = []
    for i in range(queries):
        text, language = MESSAGES[i % len(MESSAGES)]
        start = time.perf_counter()
        rank(text, language, 1, index, history)
        latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()
    return Result(n, len(index.phrases), len(history), queries, statistics.median(latencies),
                  latencies[int(len(latencies) * 0.95) - 1], build_ms)


def report(result: Result, machine: str) -> None:
    verdict = "meets" if result.p95_ms <= TARGET_P95_MS else "MISSES"
    print(f"suggestions — {machine}\n  {result.candidates} candidates ({result.phrases} phrases), "
          f"{result.history} past choices, {result.queries} messages: p50 {result.p50_ms:.2f} ms, "
          f"p95 {result.p95_ms:.2f} ms ({verdict} the {TARGET_P95_MS:.0f} ms target); index built once in "
          f"{result.build_ms:.0f} ms")
