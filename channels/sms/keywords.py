"""SMS keywords (pure): the whole trimmed body, whatever its case and accents."""
from __future__ import annotations

import unicodedata

KEYWORDS = {
    "stop": "stop", "arret": "stop", "unsubscribe": "stop", "stopall": "stop", "desabonner": "stop",
    "start": "start", "unstop": "start",
    "aide": "help", "help": "help",
}


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().rstrip(".!").strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def keyword_of(body: str) -> str | None:
    """'stop', 'start' or 'help' when the whole message is one of their words, else None."""
    return KEYWORDS.get(_folded(body))
