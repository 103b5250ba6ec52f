"""People's names, folded so that spellings of one name meet: case, accents, ligatures,
hyphens, common Latin transliterations of Arabic names, particles. Pure functions: search and
identity resolution both key and compare names with them."""
from __future__ import annotations

import functools
import re
import unicodedata

MAX_TOKEN = 64

_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "đ": "d", "ł": "l", "ı": "i"})
# Latin spellings of the same Arabic name (and particles), folded to one key.
TRANSLITERATIONS = {
    **dict.fromkeys(["mohammed", "muhammad", "mohammad", "mohamad", "muhammed", "mohamed", "mhamed",
                     "mouhamed", "mehmed", "mohamet", "mouhammad"], "mohamed"),
    **dict.fromkeys(["ahmad", "ahmed"], "ahmed"),
    **dict.fromkeys(["youssef", "yousef", "youcef", "yusuf", "youssouf", "yussef", "yousseff", "yousif"],
                    "youssef"),
    **dict.fromkeys(["fatima", "fatma", "fatema", "fatimah"], "fatima"),
    **dict.fromkeys(["abdelkader", "abdelkadir", "abdulkader", "abdelqader", "abdulqadir"], "abdelkader"),
    **dict.fromkeys(["el", "al"], "el"),
    **dict.fromkeys(["ben", "bin", "ibn"], "ben"),
    "ou": "ou", "u": "ou",
}
# Words that join a name rather than tell people apart: "de la Fontaine", "El Amrani", "Aït Ali".
PARTICLES = frozenset({"de", "du", "des", "d", "la", "le", "les", "l", "van", "von", "der", "den", "da",
                       "di", "del", "dos", "el", "ben", "ait", "ou", "bent", "oulad", "ould"})
_NON_WORD = re.compile(r"[^\w]+|_+")


class _CombiningMarks(dict):
    """A translation table deleting combining marks (accents once decomposed), filled as
    characters are met: one C pass of `str.translate` instead of a Python test per character."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.combining(chr(code)) else code
        self[code] = kept
        return kept


_COMBINING = _CombiningMarks()


def fold(text: str) -> str:
    """Lower-case, no accents, words separated by one space: 'Amélie  EL-Amrani' -> 'amelie el amrani'."""
    if text.isascii():  # most names and addresses: nothing to decompose (a third of an import's folding)
        return " ".join(_NON_WORD.sub(" ", text.lower()).split())
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    bare = decomposed if decomposed.isascii() else decomposed.translate(_COMBINING)
    return " ".join(_NON_WORD.sub(" ", bare).split())


@functools.lru_cache(maxsize=65536)  # names repeat: a population has far fewer names than people
def name_words(full_name: str) -> tuple[str, ...]:
    """The distinct folded words of a name, transliterations unified, in order."""
    words = (TRANSLITERATIONS.get(word, word)[:MAX_TOKEN] for word in fold(full_name).split())
    return tuple(dict.fromkeys(word for word in words if word))


@functools.lru_cache(maxsize=65536)
def significant_words(full_name: str) -> tuple[str, ...]:
    """A name's words without its particles ('El Amrani' -> ('amrani',)), unless that leaves none."""
    words = name_words(full_name)
    kept = tuple(word for word in words if word not in PARTICLES and len(word) > 1)
    return kept or words


# Letters and pairs that transliterations and French spelling write differently for one sound.
_SOUNDS = [("sch", "ch"), ("sh", "ch"), ("tch", "ch"), ("dj", "j"), ("kh", "k"), ("gh", "g"),
           ("ph", "f"), ("th", "t"), ("ck", "k"), ("qu", "k"), ("q", "k"), ("c(?=[eiy])", "s"),
           ("c", "k"), ("ou", "u"), ("w", "u"), ("y", "i"), ("z", "s"), ("x", "ks")]
_SOUND_PATTERNS = [(re.compile(pattern), replacement) for pattern, replacement in _SOUNDS]
_VOWELS = re.compile(r"[aeiou]+")
_REPEATS = re.compile(r"(.)\1+")


@functools.lru_cache(maxsize=65536)
def skeleton(word: str) -> str:
    """A sound key of one folded word: its first letter, then its consonants, sounds unified and
    repeats collapsed — 'mohammed', 'muhamad' -> 'mhmd'; 'khadidja', 'khadija' -> 'kdj';
    'youcef', 'yusuf' -> 'isf'. Vowels are what transliterations disagree on most."""
    if not word:
        return ""
    text = word
    for pattern, replacement in _SOUND_PATTERNS:
        text = pattern.sub(replacement, text)
    text = _REPEATS.sub(r"\1", text)
    head, tail = text[0], _VOWELS.sub("", text[1:])
    text = _REPEATS.sub(r"\1", head + tail)
    return text.rstrip("h") or text
