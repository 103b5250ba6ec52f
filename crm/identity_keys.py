"""Blocking keys: the few exact strings under which a person is filed, so that resolving a
record reads a handful of index entries instead of every citizen. Pure.

A true match shares at least one key with its record despite a typo in any one field: names
are keyed by their sound skeletons in pairs (order-free: swapped names meet), and each name
word again with the birth date's year or with the postcode, the birth date alone, the street
address with its postcode. Exact identifiers (email, phone, national id) are looked up in
contact points, not here.
"""
from __future__ import annotations

import functools
from datetime import date

from crm.models import IdentityKey
from crm.names import skeleton
from crm.person import Person

MAX_NAME_WORDS = 4
MAX_KEY = 96


def blocking_keys(person: Person) -> list[str]:
    return keys_for(person.words, person.birth_date, person.postcode, person.street_number,
                    person.street_words[0] if person.street_words else None)


def keys_for(words: tuple[str, ...], birth_date: date | None, postcode: str | None, street_number: str | None,
             street_word: str | None) -> list[str]:
    """`blocking_keys` from a person's values themselves (a bulk import builds no Person):
    `street_word` is the first of the words naming the street."""
    sounds, keys = _name_sounds(words[:MAX_NAME_WORDS])
    keys = list(keys)
    if birth_date:
        day, year = _birth_keys(birth_date)
        keys.append(day)
        keys += [year + sound for sound in sounds]
    if postcode:
        keys += [f"p:{postcode}:{sound}" for sound in sounds]
        if street_number and street_word:
            keys.append(f"a:{postcode}:{street_number}:{skeleton(street_word)}")
    if keys and max(map(len, keys)) > MAX_KEY:
        # Cut short, two keys may become one. Else they are distinct already: their kinds differ
        # or, of one kind, their sounds (which hold no ':') do.
        return list(dict.fromkeys(key[:MAX_KEY] for key in keys))
    return keys


@functools.lru_cache(maxsize=65536)  # a century of days: birth dates repeat
def _birth_keys(birth_date: date) -> tuple[str, str]:
    """The birth date's key, and the start of its year's keys."""
    return f"b:{birth_date.isoformat()}", f"y:{birth_date.year}:"


def _name_sounds(words: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A name's distinct sound skeletons, in order, and its name keys: each pair of them, or
    the only one."""
    if len(words) == 2:  # most names: first and last, each word's skeleton remembered already
        first, second = words
        if len(first) > 1 and len(second) > 1:
            one, two = skeleton(first), skeleton(second)
            if one == two:
                return (one,), (f"n:{one}",)
            return (one, two), (f"n:{one}:{two}" if one < two else f"n:{two}:{one}",)
    return _name_sounds_of(words)


@functools.lru_cache(maxsize=65536)  # names repeat across a population
def _name_sounds_of(words: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`_name_sounds` of any number of words."""
    sounds = tuple(dict.fromkeys(skeleton(word) for word in words if len(word) > 1))
    ordered = sorted(sounds)
    keys = [f"n:{a}:{b}" for i, a in enumerate(ordered) for b in ordered[i + 1:]]
    if len(sounds) == 1:
        keys.append(f"n:{sounds[0]}")
    return sounds, tuple(keys)


def identity_key_rows(citizen_id: int, person: Person) -> list[dict]:
    return [{"key": key, "citizen_id": citizen_id} for key in blocking_keys(person)]


TABLE = IdentityKey.__table__
