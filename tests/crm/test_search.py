"""crm.search's pure parts: folding, reading a query, scoring, masking."""
from __future__ import annotations

import pytest

from crm.errors import InvalidInput
from crm.search import (fold, mask_email, mask_phone, name_keys, name_score, one_edit_away, prefix_end,
                        read_query)


def test_fold_and_keys_ignore_case_accents_hyphens_and_transliterations() -> None:
    assert fold("Amélie  EL-Amrani") == fold("AMELIE el amrani") == "amelie el amrani"
    assert name_keys("Muhammad Idrissi") == name_keys("Mohammed IDRISSI") == [
        "mohamed", "idrissi", "mohamed idrissi", "idrissi mohamed"]


@pytest.mark.parametrize("typed", ["0612345678", "06 12 34 56 78", "+33612345678", "0033612345678",
                                   "06.12.34.56.78", "+33 (0)6 12 34 56 78"])
def test_every_form_of_a_phone_number_reads_as_one(typed: str) -> None:
    assert read_query(typed, default_region="FR").phone == "+33612345678"


def test_partial_numbers_and_references() -> None:
    assert read_query("061234", default_region="FR").phone_prefix == "+3361234"
    assert read_query("0661 23", default_region="MA").phone_prefix == "+21266123"
    assert read_query("gru-2026-42", default_region="FR").reference == "GRU-2026-000042"
    assert read_query("2026-42", default_region="FR").reference == "GRU-2026-000042"
    with pytest.raises(InvalidInput, match="6 digits"):
        read_query("06 12", default_region="FR")
    with pytest.raises(InvalidInput, match="at least 2"):
        read_query(" a ", default_region="FR")


def test_scores_and_edits() -> None:
    assert name_score(("amrni",), "Nadia Amrani") == 91
    assert name_score(("nadia", "amrani"), "Nadia Amrani") == 100
    assert "amrni" in one_edit_away("amrani") and "amrani" in one_edit_away("amrni")
    assert prefix_end("amr") == "ams"


def test_masks_show_only_what_picks_the_right_person() -> None:
    assert mask_email("nadia@example.org") == "n…@example.org"
    assert mask_phone("+33612345678") == "+33 6 •• •• •• 78"
