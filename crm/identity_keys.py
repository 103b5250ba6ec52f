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

from crm.models import IdentityKey
from crm.names import skeleton
from crm.person import Person

MAX_NAME_WORDS = 4
MAX_KEY = 96


def blocking_keys(person: Person) -> list[str]:
    sounds, name_keys = _name_sounds(person.words[:MAX_NAME_WORDS])
    keys = list(name_keys)
    if person.birth_date:
        keys.append(f"b:{person.birth_date.isoformat()}")
        keys += [f"y:{person.birth_date.year}:{sound}" for sound in sounds]
    if person.postcode:
        keys += [f"p:{person.postcode}:{sound}" for sound in sounds]
        if person.street_number and person.street_words:
            keys.append(f"a:{person.postcode}:{person.street_number}:{skeleton(person.street_words[0])}")
    return list(dict.fromkeys(key[:MAX_KEY] for key in keys))


@functools.lru_cache(maxsize=65536)  # names repeat across a population
def _name_sounds(words: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A name's distinct sound skeletons, in order, and its name keys: each pair of them, or
    the only one."""
    sounds = tuple(dict.fromkeys(skeleton(word) for word in words if len(word) > 1))
    ordered = sorted(sounds)
    keys = [f"n:{a}:{b}" for i, a in enumerate(ordered) for b in ordered[i + 1:]]
    if len(sounds) == 1:
        keys.append(f"n:{sounds[0]}")
    return sounds, tuple(keys)


def identity_key_rows(citizen_id: int, person: Person) -> list[dict]:
    return [{"key": key, "citizen_id": citizen_id} for key in blocking_keys(person)]


TABLE = IdentityKey.__table__
