"""UI languages: gettext catalogues (Babel .po files) compiled in memory at first use."""
from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = Path(__file__).parent / "locales"
LANGUAGES = ("fr", "en", "ar")  # French first: the administration's language
RIGHT_TO_LEFT = {"ar"}


def pick_language(requested: str | None, default: str) -> str:
    requested = (requested or "").strip().lower()[:2]
    return requested if requested in LANGUAGES else (default if default in LANGUAGES else "fr")


@lru_cache
def translations(language: str) -> gettext.NullTranslations:
    """Messages are written in English in the code; other languages come from their catalogue."""
    path = LOCALES / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def page_context(language: str) -> dict:
    """What every page template needs to speak the visitor's language."""
    return {"_": translations(language).gettext, "lang": language,
            "dir": "rtl" if language in RIGHT_TO_LEFT else "ltr", "languages": LANGUAGES}
