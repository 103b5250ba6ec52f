"""Suggested answers for a citizen's message: the agent_reply templates and the ready answers of
the knowledge base most likely to fit, with a score and why.

Ranking is pure (rank): rapidfuzz over each candidate's keywords, examples and title, folded
the same way as the message (case, accents, Arabic letter variants and vowel marks, common
words); plus what agents chose before for similar messages; in the message's language first.
The query (suggestions_for) loads the candidates once per change of the knowledge base and
keeps the built index in memory.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from replies.models import KnowledgeAnswer, ReplyChoice, Step, Template
from replies.templates import Slot

TOP = 3
PHRASE_FLOOR = 60  # a phrase matching less than this says nothing
SIMILAR_PAST = 70  # a past message at least this close counts as "similar"
HISTORY_LIMIT = 500  # past choices looked at, newest first
OTHER_LANGUAGE = 0.5  # a candidate in another language weighs half

_COMMON_WORDS = (
    """
le la les l un une des de du d au aux a à et ou en pour par sur dans avec sans ce cet cette ces
je j me m mon ma mes vous votre vos nous notre nos il elle ils elles on se s y est sont suis ai
avez avons bonjour merci madame monsieur svp plait qui que qu quoi comment est-ce ne pas plus
the a an of to in on for and or is are am i my me we our you your it this that with be have has
do does can could would please hello hi thanks thank dear
في من إلى الى على عن مع هل أن ان ما لا هذا هذه ذلك التي الذي و أو او يا شكرا السلام عليكم
"""
)
_ARABIC = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ـ": None, "ؤ": "و",
                         "ئ": "ي"})
_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text.casefold()).translate(_ARABIC)
    return _WORD.findall("".join(c for c in text if not unicodedata.combining(c)))


_STOPWORDS = frozenset(_words(_COMMON_WORDS))


def fold(text: str) -> str:
    """Lower case, no accents nor Arabic vowel marks, one spelling per Arabic letter, no common words."""
    return " ".join(w for w in _words(text) if w not in _STOPWORDS and not w.isdigit())


@dataclass(frozen=True)
class Candidate:
    """A template slot or a ready answer, as ranking sees it."""

    key: str  # "template:<slot key>" or "answer:<id>"
    kind: str  # template, answer
    id: int
    title: str
    language: str
    category_id: int | None
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Past:
    """A message an agent answered (folded, as stored), and what they started the reply from."""

    text: str
    choice: str
    language: str


@dataclass(frozen=True)
class Suggestion:
    kind: str
    id: int
    title: str
    language: str
    score: float  # 0-100
    why: list[str] = field(default_factory=list)


@dataclass
class Index:
    """The candidates' folded phrases, each once, with who owns it and as what ("keyword «…»",
    "example", "title"): built once, ranked many times."""

    candidates: list[Candidate]
    phrases: list[str]
    owners: list[list[tuple[int, str]]]
    by_key: dict[str, int]


def build_index(candidates: list[Candidate]) -> Index:
    at: dict[str, int] = {}
    phrases: list[str] = []
    owners: list[list[tuple[int, str]]] = []
    for i, candidate in enumerate(candidates):
        for label, texts in (("keyword", candidate.keywords), ("example", candidate.examples),
                             ("title", (candidate.title,))):
            for text in texts:
                folded = fold(text)
                if not folded:
                    continue
                if folded not in at:  # many answers share a keyword: scored once
                    at[folded] = len(phrases)
                    phrases.append(folded)
                    owners.append([])
                owners[at[folded]].append((i, f"keyword «{text}»" if label == "keyword" else label))
    return Index(candidates, phrases, owners, {c.key: i for i, c in enumerate(candidates)})


def rank(text: str, language: str | None, category_id: int | None, index: Index, history: list[Past],
         top: int = TOP) -> list[Suggestion]:
    """The `top` candidates for this message, best first (pure)."""
    message = fold(text)
    if not message or not index.candidates:
        return []
    best: dict[int, float] = {}
    reasons: dict[int, list[str]] = defaultdict(list)
    strong: dict[int, int] = defaultdict(int)
    for _, score, at in process.extract(message, index.phrases, scorer=fuzz.token_set_ratio, limit=None,
                                        score_cutoff=PHRASE_FLOOR):
        for owner, what in index.owners[at]:
            if score > best.get(owner, 0):
                best[owner] = score
                reasons[owner] = [f"{what} matches ({score:.0f}%)"]
            if score >= 90:
                strong[owner] += 1
    votes: dict[int, float] = defaultdict(float)
    past = [p for p in history if not language or p.language == language]
    if past:
        for _, score, at in process.extract(message, [p.text for p in past], scorer=fuzz.token_set_ratio,
                                            limit=None, score_cutoff=SIMILAR_PAST):
            owner = index.by_key.get(past[at].choice)
            if owner is not None:
                votes[owner] += score / 100
    scored = []
    for owner in set(best) | set(votes):
        candidate = index.candidates[owner]
        why = list(reasons.get(owner, []))
        score = best.get(owner, 0.0)
        if strong[owner] > 1:
            score += min(10.0, 5.0 * (strong[owner] - 1))
            why.append(f"{strong[owner]} phrases match")
        if votes[owner]:
            score += min(30.0, 10.0 * votes[owner])
            why.append(f"chosen by agents for {round(votes[owner] + 0.49)} similar message(s)")
        if category_id is not None and candidate.category_id == category_id:
            score += 5
            why.append("the ticket's category")
        elif candidate.category_id is not None and category_id is not None:
            score -= 10
        if language and candidate.language != language:
            score *= OTHER_LANGUAGE
            why.append(f"in {candidate.language}, not {language}")
        scored.append((min(score, 100.0), owner, why))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [Suggestion(index.candidates[o].kind, index.candidates[o].id, index.candidates[o].title,
                       index.candidates[o].language, round(s, 1), why) for s, o, why in scored[:top] if s > 0]


# --- the thin query ---------------------------------------------------------------------------

_CACHE: dict[str, tuple[tuple, Index]] = {}


def answer_candidate(answer: KnowledgeAnswer) -> Candidate:
    return Candidate(f"answer:{answer.id}", "answer", answer.id, answer.title, answer.language, answer.category_id,
                     tuple(answer.keywords), tuple(answer.examples))


def template_candidate(template: Template, category_names: dict[int, list[str]]) -> Candidate:
    """An agent_reply template: its subject, and its category's names, are what it is about."""
    names = tuple(category_names.get(template.category_id, ())) if template.category_id else ()
    return Candidate(f"template:{Slot.of(template).key}", "template", template.id,
                     names[0] if names else template.subject or "agent reply", template.language,
                     template.category_id, names, ())


def choice_of_template(template: Template) -> str:
    return f"template:{Slot.of(template).key}"


async def _signature(session: AsyncSession, database: str) -> tuple:
    answers = (await session.exec(select(func.count(), func.max(KnowledgeAnswer.id),
                                         func.max(KnowledgeAnswer.updated_at)))).one()
    templates = (await session.exec(select(func.count(), func.max(Template.id))
                                    .where(Template.active, Template.step == Step.AGENT_REPLY.value))).one()
    return database, tuple(answers), tuple(templates)


async def current_index(session: AsyncSession, category_names: dict[int, list[str]], database: str) -> Index:
    """The index of the active answers and agent_reply templates, rebuilt when they change (a
    new answer or version has a new id; a retired one changes the count)."""
    signature = await _signature(session, database)
    cached = _CACHE.get(database)
    if cached and cached[0] == signature:
        return cached[1]
    answers = (await session.exec(select(KnowledgeAnswer).where(KnowledgeAnswer.active)
                                  .order_by(col(KnowledgeAnswer.id)))).all()
    templates = (await session.exec(select(Template).where(Template.active, Template.step == Step.AGENT_REPLY.value)
                                    .order_by(col(Template.id)))).all()
    index = build_index([*(answer_candidate(a) for a in answers),
                         *(template_candidate(t, category_names) for t in templates)])
    _CACHE[database] = (signature, index)
    return index


async def past_choices(session: AsyncSession, limit: int = HISTORY_LIMIT) -> list[Past]:
    rows = (await session.exec(select(ReplyChoice.inbound_text, ReplyChoice.choice, ReplyChoice.language)
                               .where(ReplyChoice.inbound_text != "")
                               .order_by(col(ReplyChoice.id).desc()).limit(limit))).all()
    return [Past(text, choice, language) for text, choice, language in rows]


async def suggestions_for(session: AsyncSession, text: str, *, language: str | None, category_id: int | None,
                          category_names: dict[int, list[str]], database: str) -> list[Suggestion]:
    index = await current_index(session, category_names, database)
    return rank(text, language, category_id, index, await past_choices(session))
