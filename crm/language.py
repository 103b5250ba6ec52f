"""Which language a citizen wrote in, when nothing else says so (lingua, offline models)."""
from __future__ import annotations

import unicodedata
from functools import lru_cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.models import Citizen, ContactPoint, Ticket

# Below this many letters a guess is noise ("Ok", "Merci !"): better no language than a wrong one.
MIN_LETTERS = 12
SAMPLE_CHARS = 2000


@lru_cache(maxsize=8)
def _detector(codes: tuple[str, ...]) -> LanguageDetector:
    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in codes]
    # Only the languages we answer in: the detector picks among them, and stays small in memory.
    return (LanguageDetectorBuilder.from_languages(*languages)
            .with_minimum_relative_distance(0.1).build())


def detect_language(text: str, supported: tuple[str, ...] = ("fr", "en", "ar")) -> str | None:
    """The ISO 639-1 code of the text's language among `supported`, or None when unsure."""
    sample = (text or "").strip()[:SAMPLE_CHARS]
    if sum(unicodedata.category(c).startswith("L") for c in sample) < MIN_LETTERS or len(supported) < 1:
        return None
    if len(supported) == 1:
        return supported[0]
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
