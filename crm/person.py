"""A person as identity resolution compares them: every identifier normalised, names folded.
Pure: built from what someone typed (`person_from_record`) or from a stored citizen
(`person_from_citizen`), so both sides of a comparison are read by the same rules."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date

from crm.errors import InvalidInput
from crm.names import fold, name_words, significant_words
from crm.normalise import (
    normalise_email,
    normalise_national_id,
    normalise_phone,
    normalise_postcode,
    parse_birth_date,
)

_STREET_NUMBER = re.compile(r"^\d{1,5}[a-z]?$")
# Words of an address that name its kind rather than which one it is.
_STREET_KINDS = frozenset({"rue", "avenue", "av", "ave", "bd", "boulevard", "bld", "place", "pl", "impasse",
                           "imp", "allee", "chemin", "ch", "route", "rte", "quai", "cours", "square", "sq",
                           "residence", "res", "lotissement", "lot", "hay", "derb", "quartier", "qu", "zankat",
                           "street", "st", "road", "rd", "lane", "ln", "drive", "dr", "court", "ct",
                           "bis", "ter", "apt", "appt", "bat", "batiment", "etage", "no", "n", "de", "du",
                           "des", "la", "le", "les", "l", "d", "el", "al", "the", "of"})


@dataclass(frozen=True)
class IdentityRecord:
    """What is known about someone, any subset, as typed (a CSV row, a form, a message)."""

    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    birth_date: date | str | None = None
    address: str | None = None
    postcode: str | None = None
    city: str | None = None
    national_id: str | None = None
    external_id: str | None = None
    # An email's display name is whatever the mailbox says ("Papa", "Mairie"): it ranks
    # candidates but never vetoes an exact address.
    name_is_reliable: bool = True


@dataclass(frozen=True)
class Person:
    given: tuple[str, ...] = ()  # significant folded words of the first name(s)
    family: tuple[str, ...] = ()  # of the last name
    words: tuple[str, ...] = ()  # of the whole name, in order (first + last, or the full name)
    # Each name written as one word, particles kept: 'Ben Ali' -> 'benali', to meet 'Benali'.
    given_joined: str = ""
    family_joined: str = ""
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    national_ids: tuple[tuple[str, bool], ...] = ()  # (value, verified)
    birth_date: date | None = None
    address: str = ""  # folded
    street_number: str | None = None
    street_words: tuple[str, ...] = ()
    postcode: str | None = None
    city: str = ""  # folded
    name_is_reliable: bool = True
    problems: tuple[str, ...] = field(default=(), compare=False)  # values dropped, and why


# Cities repeat across a population, unlike addresses: their folding is worth remembering.
_fold_city = functools.lru_cache(maxsize=16384)(fold)


def split_address(folded: str) -> tuple[str | None, tuple[str, ...]]:
    """The street number and the words that name the street ('12 bis rue de la Paix' -> ('12', ('paix',)))."""
    words = folded.split()
    number = next((word for word in words if _address_word(word) == _NUMBER), None)
    return number, tuple(word for word in words if _address_word(word) == _NAMING)


_NUMBER, _NAMING, _OTHER = "number", "naming", "other"


def street_of(address: str) -> tuple[str | None, str | None]:
    """`split_address(fold(address))`'s number and first street word, read word by word until
    both are found: folding is word by word (a space splits folded text as it splits the
    address), and an address's words repeat across a population where addresses do not."""
    number = naming = None
    for typed in address.split():
        typed_number, typed_naming = _street_parts(typed)
        number = number or typed_number
        naming = naming or typed_naming
        if number and naming:
            break
    return number, naming


@functools.lru_cache(maxsize=65536)
def _street_parts(typed: str) -> tuple[str | None, str | None]:
    """`street_of` one typed word of an address (folding may make it several words)."""
    number, street = split_address(fold(typed))
    return number, street[0] if street else None


@functools.lru_cache(maxsize=65536)  # an address's words repeat across a population, the address less
def _address_word(word: str) -> str:
    """What a folded word of an address is: its street number, a word naming the street, or neither."""
    if _STREET_NUMBER.match(word):
        return _NUMBER
    if word in _STREET_KINDS or word.isdigit() or len(word) < 2:
        return _OTHER
    return _NAMING


@functools.lru_cache(maxsize=65536)  # names repeat: a population has far fewer names than people
def _joined(name: str) -> str:
    return "".join(name_words(name))


def person_from_record(record: IdentityRecord, *, default_region: str) -> Person:
    """Normalise what was typed. A value that cannot be read is dropped and named in
    `problems` (the rest of the record still identifies the person)."""
    problems: list[str] = []
    email = _read(problems, "email", normalise_email, record.email)
    phone = _read(problems, "phone", normalise_phone, record.phone, default_region)
    national_id = _read(problems, "national_id", normalise_national_id, record.national_id)
    birth = _read(problems, "birth_date", parse_birth_date, record.birth_date)
    postcode = _read(problems, "postcode", normalise_postcode, record.postcode)
    return build_person(first_name=record.first_name, last_name=record.last_name, full_name=record.full_name,
                        emails=(email,) if email else (), phones=(phone,) if phone else (),
                        national_ids=((national_id, False),) if national_id else (), birth_date=birth,
                        address=record.address, postcode=postcode, city=record.city,
                        name_is_reliable=record.name_is_reliable, problems=tuple(problems))


def _read(problems: list[str], label: str, parse, value, *args):
    """`parse(value, *args)`, or None for a blank value or one that cannot be read (named in `problems`)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return parse(value, *args)
    except InvalidInput as exc:
        problems.append(f"{label}: {exc.message}")
        return None


def build_person(*, first_name: str | None, last_name: str | None, full_name: str | None,
                 emails: tuple[str, ...] = (), phones: tuple[str, ...] = (),
                 national_ids: tuple[tuple[str, bool], ...] = (), birth_date: date | None = None,
                 address: str | None = None, postcode: str | None = None, city: str | None = None,
                 name_is_reliable: bool = True, problems: tuple[str, ...] = ()) -> Person:
    """A person from values already normalised (a stored citizen) or just normalised."""
    given = significant_words(first_name) if first_name else ()
    family = significant_words(last_name) if last_name else ()
    words = person_words(given, family, full_name)
    folded_address = fold(address) if address else ""
    number, street = split_address(folded_address)
    return Person(given=given, family=family, words=words,
                  given_joined=_joined(first_name) if first_name else "",
                  family_joined=_joined(last_name) if last_name else "", emails=emails, phones=phones,
                  national_ids=national_ids, birth_date=birth_date, address=folded_address,
                  street_number=number, street_words=street, postcode=postcode,
                  city=_fold_city(city) if city else "", name_is_reliable=name_is_reliable, problems=problems)


def person_words(given: tuple[str, ...], family: tuple[str, ...], full_name: str | None) -> tuple[str, ...]:
    """The words of a whole name: of the first and last names (their significant words), else
    of the full name."""
    if not family:
        return given or (significant_words(full_name) if full_name else ())
    if not given:
        return family
    # The usual two distinct words need no dedupe.
    return given + family if len(given) == len(family) == 1 and given != family \
        else tuple(dict.fromkeys(given + family))


def display_name(record: IdentityRecord) -> str:
    """The name to show: the full name as given, else first and last joined."""
    return name_to_show(record.full_name, record.first_name, record.last_name)


def name_to_show(full_name: str | None, first_name: str | None, last_name: str | None) -> str:
    """`display_name` from the values themselves."""
    if full_name and full_name.strip():
        return " ".join(full_name.split())[:200]
    return " ".join(" ".join(part.split()) for part in (first_name, last_name) if part)[:200]


def has_name(person: Person) -> bool:
    return bool(person.words)

