"""Which language a citizen wrote in, when nothing else says so.

Cheap signs first, as most requests carry them plainly: the script (Arabic letters), then a
vote of the commonest little words of French and English. lingua (offline n-gram models) only
decides what these leave open: it costs 1-2 ms a call in a busy worker, its tables missing the
CPU cache between emails, against some 20 µs for the signs."""
from __future__ import annotations

import re
from functools import lru_cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.models import Citizen, ContactPoint, Ticket

# Below this many letters a guess is noise ("Ok", "Merci !"): better no language than a wrong one.
MIN_LETTERS = 12
# The start of a request says its language as well as the whole (a signature, a quoted legal
# text further down only blur it), and it bounds the cost of a long mail.
SAMPLE_CHARS = 500

_LETTER = re.compile(r"[^\W\d_]")  # a letter (Unicode), as the tokens below are made of
_WORD = re.compile(r"[^\W\d_]+")
# Arabic letters (and those of the Arabic presentation forms): no Latin-script language shares them.
_ARABIC = re.compile(r"[\u0620-\u064A\u066E-\u06D3\u06D5\u06EE-\u06FF\u0750-\u077F\u08A0-\u08FF"
                     r"\uFB50-\uFDFF\uFE70-\uFEFF]")

# Words frequent in one language and (nearly) absent from the other, accents left out where
# people often leave them out: "a", "me", "on", "son", "plus" are in both, so in neither.
_FUNCTION_WORDS = {
    "fr": frozenset("""le la les des du de et est une un je vous nous pour pas que qui dans sur avec mon
        ma mes votre vos au aux ce cette ces il elle ils elles bonjour merci ne en par sont suis ai avez
        ete été etre être mais ou où si qu quel quelle l j c y sa ses leur tres très aussi depuis sans
        madame monsieur cordialement""".split()),
    "en": frozenset("""the and is are to of in for you your i my we our this that it with have has be
        was were not at from please thank thanks hello dear would could can will by do does
        did am been there their they what which when any some regards sincerely""".split()),
}
# A vote decides when it has enough words and a clear winner; a text it leaves open goes to lingua.
MIN_VOTES = 4
MIN_MARGIN = 3.0  # the winner has at least this many times the loser's words


def _quick_guess(sample: str, supported: tuple[str, ...]) -> str | None:
    """The language the script or the function words make plain, among `supported`; None when
    they leave it open (or `supported` has a language they know nothing of)."""
    if not set(supported) <= {"fr", "en", "ar"}:
        return None
    letters = len(_LETTER.findall(sample))
    arabic = len(_ARABIC.findall(sample))
    if arabic * 4 >= letters * 3:  # mostly Arabic letters
        return "ar" if "ar" in supported else None
    if arabic * 4 > letters:  # a real mix: lingua's
        return None
    # Latin letters, or mostly (a French request quoting an Arabic name or subject): the vote.
    votes = dict.fromkeys(_FUNCTION_WORDS, 0)
    for word in _WORD.findall(sample.lower()):
        for language, words in _FUNCTION_WORDS.items():
            if word in words:
                votes[language] += 1
    (winner, most), (_, least) = sorted(votes.items(), key=lambda item: -item[1])
    if most >= MIN_VOTES and most >= MIN_MARGIN * least and winner in supported:
        return winner
    return None


@lru_cache(maxsize=8)
def _detector(codes: tuple[str, ...]) -> LanguageDetector:
    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in codes]
    # Only the languages we answer in: the detector picks among them, and stays small in memory.
    return (LanguageDetectorBuilder.from_languages(*languages)
            .with_minimum_relative_distance(0.1).build())


def detect_language(text: str, supported: tuple[str, ...] = ("fr", "en", "ar")) -> str | None:
    """The ISO 639-1 code of the text's language among `supported`, or None when unsure."""
    sample = (text or "").strip()[:SAMPLE_CHARS]
    if len(supported) < 1 or len(_LETTER.findall(sample)) < MIN_LETTERS:
        return None
    if len(supported) == 1:
        return supported[0]
    quick = _quick_guess(sample, supported)
    if quick is not None:
        return quick
    language = _detector(tuple(sorted(supported))).detect_language_of(sample)
    return language.iso_code_639_1.name.lower() if language else None


async def known_language(session: AsyncSession, kind: str, value: str) -> str | None:
    """The language we know for whoever has this contact point (a normalised phone or email):
    their record's, else that of their latest request; None for a stranger. The first citizen
    found when several share it (a family phone)."""
    row = (await session.exec(
        select(Citizen.language, Citizen.id).join(ContactPoint, ContactPoint.citizen_id == Citizen.id)
        .where(ContactPoint.kind == kind, ContactPoint.value == value, col(Citizen.merged_into_id).is_(None))
        .order_by(col(Citizen.id)).limit(1)
    )).first()
    if row is None:
        return None
    language, citizen_id = row
    if language:
        return language
    return (await session.exec(
        select(Ticket.language).where(Ticket.citizen_id == citizen_id, col(Ticket.language).is_not(None))
        .order_by(col(Ticket.id).desc()).limit(1)
    )).first()
