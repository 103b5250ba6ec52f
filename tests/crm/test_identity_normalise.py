"""Identifier normalisation: the keys citizens are matched on."""
from __future__ import annotations

import pytest

from crm.errors import InvalidInput
from crm.normalise import normalise_email, normalise_phone


@pytest.mark.parametrize("raw", ["Nadia@Example.ORG", "  nadia@example.org ", "NADIA@example.org"])
def test_email_case_and_spaces_do_not_make_another_person(raw: str) -> None:
    assert normalise_email(raw) == "nadia@example.org"


def test_international_domain_is_idna_encoded() -> None:
    # "mairie-évry.fr".encode("idna") == b"xn--mairie-vry-h7a.fr"
    assert normalise_email("contact@Mairie-Évry.fr") == "contact@xn--mairie-vry-h7a.fr"


@pytest.mark.parametrize("raw", ["nadia@", "@example.org", "nadia example.org", "a@b", ""])
def test_invalid_email_is_a_field_error(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_email(raw)
    assert "email" in caught.value.fields


@pytest.mark.parametrize("raw", ["0612345678", "06 12 34 56 78", "06.12.34.56.78", "+33612345678",
                                 "0033612345678", "+33 6 12 34 56 78"])
def test_french_forms_of_one_mobile_meet(raw: str) -> None:
    assert normalise_phone(raw, "FR") == "+33612345678"


@pytest.mark.parametrize("raw", ["0612345678", "06 12 34 56 78", "+212612345678", "00212612345678"])
def test_moroccan_forms_meet_with_region_ma(raw: str) -> None:
    assert normalise_phone(raw, "MA") == "+212612345678"


@pytest.mark.parametrize("raw", ["12", "phone", "+33 1", "0000000000"])
def test_invalid_phone_is_a_field_error(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_phone(raw, "FR")
    assert "phone" in caught.value.fields
