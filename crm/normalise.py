"""Every identifier in one normal form, so two spellings of one value meet: email, phone
(E.164), identity document number, postal address and postcode, birth date. Pure; a value
that cannot be read raises InvalidInput naming the field."""
from __future__ import annotations

import functools
import re
from datetime import date, datetime

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from crm.errors import InvalidInput
from crm.phone_fast_path import fast_e164

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y%m%d", "%Y/%m/%d")
_POSTCODE = re.compile(r"^[A-Z0-9][A-Z0-9 \-]{1,10}$")


# The plain ASCII addresses nearly everyone has, which email-validator would accept unchanged:
# dot-atoms without leading, trailing or doubled dots, a domain of LDH labels and a letters TLD.
_PLAIN_EMAIL = re.compile(
    r"^(?=.{1,254}$)(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")


_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)


@functools.lru_cache(maxsize=4096)  # a population uses few email domains
def _special_use_domain(domain: str) -> bool:
    """The domain or one of its parents is special-use (test, local, invalid, …)."""
    labels = domain.split(".")
    return any(".".join(labels[k:]) in _SPECIAL_USE for k in range(len(labels)))


def normalise_email(raw: str) -> str:
    """Syntax-checked, IDNA-encoded domain, lower-cased: the key citizens are matched on."""
    text = raw.strip()
    if _PLAIN_EMAIL.match(text):
        lowered = text.lower()
        if "xn--" not in lowered and not _special_use_domain(lowered.rpartition("@")[2]):
            return lowered  # what email-validator returns for these, at a twentieth of the cost
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(str(exc), fields={"email": str(exc)}) from exc
    return f"{checked.local_part}@{checked.ascii_domain}".lower()


def normalise_phone(raw: str, default_region: str) -> str:
    """E.164, so that 0612345678, 06 12 34 56 78 and +33612345678 meet."""
    text = raw.strip()
    fast = fast_e164(text, default_region)
    if fast is not None:
        return fast
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("not a phone number", fields={"phone": "not a phone number"}) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("not a valid phone number", fields={"phone": "not a valid phone number"})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_national_id(raw: str) -> str:
    """Upper-case letters and digits only, so "ab 123-456" and "AB123456" meet."""
    value = raw.upper()
    if not value.isalnum():  # most are letters and digits only already
        value = "".join(c for c in value if c.isalnum())
    if not 4 <= len(value) <= 40:
        raise InvalidInput("not an identity document number",
                           fields={"national_id": "expected 4 to 40 letters or digits"})
    return value


def normalise_address(raw: str) -> str:
    """One line, single spaces: a postal address as stored (it identifies nobody: households share one)."""
    return " ".join(raw.replace(",", ", ").split()).replace(" ,", ",")[:320]


def parse_birth_date(value: date | str | None) -> date | None:
    """A birth date in ISO or French order (31/12/1980), 8 digits, or a date. Raises InvalidInput."""
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    return parse_birth_text(text) if text else None


@functools.lru_cache(maxsize=65536)  # a century of days: an import's birth dates repeat
def parse_birth_text(text: str) -> date:
    """`parse_birth_date` of stripped text, not blank. A valid date stays valid as time passes,
    so caching it is safe; refusals are not cached."""
    if len(text) == 10 and text[4] == "-":
        try:
            parsed = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            if 1880 <= parsed.year <= date.today().year:
                return parsed
    for pattern in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        if not 1880 <= parsed.year <= date.today().year:
            break
        return parsed
    raise InvalidInput(f"not a birth date: {text!r} (expected YYYY-MM-DD or DD/MM/YYYY)",
                       fields={"birth_date": "expected YYYY-MM-DD or DD/MM/YYYY"})


@functools.lru_cache(maxsize=65536)  # postcodes repeat across a population
def normalise_postcode(value: str) -> str:
    text = " ".join(value.upper().split())
    if not _POSTCODE.match(text):
        raise InvalidInput(f"not a postcode: {value!r}", fields={"postcode": "not a postcode"})
    return text.replace(" ", "")
