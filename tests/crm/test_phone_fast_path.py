"""The phone fast path never disagrees with phonenumbers: whenever it answers, phonenumbers
gives the same E.164 for the same text; and it does answer for the forms people write, or it
would save nothing."""
from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.identity_dataset import phone_forms
from crm.errors import InvalidInput
from crm.normalise import normalise_phone
from crm.phone_fast_path import fast_e164

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
TYPES = [phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE,
         phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.VOIP]


def reference(raw: str, region: str) -> str | None:
    """What phonenumbers alone says (the path normalise_phone takes when the fast one declines)."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def agree(raw: str, region: str) -> str | None:
    fast = fast_e164(raw, region)
    if fast is not None:
        assert fast == reference(raw, region), (raw, region)
    return fast


def written_forms(number: phonenumbers.PhoneNumber) -> list[str]:
    formats = phonenumbers.PhoneNumberFormat
    e164 = phonenumbers.format_number(number, formats.E164)
    return [e164, "00" + e164[1:], phonenumbers.format_number(number, formats.INTERNATIONAL),
            phonenumbers.format_number(number, formats.NATIONAL), phonenumbers.format_number(number, formats.RFC3966)]


def test_every_region_example_number_agrees_in_every_written_form() -> None:
    answered = 0
    for region in REGIONS:
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for raw in written_forms(example):
                for default in (region, "FR", "MA"):
                    answered += agree(raw, default) is not None
    assert answered > 2000  # most regions' plain forms take the fast path


def test_the_forms_citizens_write_take_the_fast_path() -> None:
    for e164 in ("+33612345678", "+33145678901", "+33756781234", "+212612345678", "+212522123456"):
        for raw in phone_forms(e164):
            if "(0)" in raw:
                continue  # a trunk prefix after the country code: left to phonenumbers
            assert agree(raw, "FR") == e164, raw
    for raw in ("0612345678", "06 12 34 56 78", "06-12-34-56-78"):
        assert agree(raw, "MA") == "+212612345678"


@pytest.mark.parametrize("raw", ["+33 (0)6 12 34 56 78", "+212 (0)6 12 34 56 78", "+1 202 555 0143", "+44 7400 123456",
                                 "+39 06 1234 5678", "06 12 34 56 78 ext 12", "+33 6 12 34 56 7"])
def test_harder_forms_still_normalise_as_phonenumbers_says(raw: str) -> None:
    expected = reference(raw, "FR")
    if expected is None:
        with pytest.raises(InvalidInput):
            normalise_phone(raw, "FR")
    else:
        assert normalise_phone(raw, "FR") == expected


@settings(max_examples=600, deadline=None)
@given(region=st.sampled_from(["FR", "MA", "DZ", "TN", "BE", "DE", "IT", "GB", "US", "ES", "SN", "CA", "RU", "KZ"]),
       prefix=st.sampled_from(["+", "00", "0", "", "+33", "+212", "+1", "+7", "+44", "+39", "0033"]),
       digits=st.text(alphabet="0123456789", min_size=4, max_size=14),
       separator=st.sampled_from(["", " ", ".", "-"]))
def test_arbitrary_digits_never_disagree(region: str, prefix: str, digits: str, separator: str) -> None:
    raw = prefix + separator.join(digits[k:k + 2] for k in range(0, len(digits), 2))
    agree(raw, region)
