"""crm.language: the language a citizen wrote in, when nothing else says it."""
from __future__ import annotations

import pytest

from crm.language import detect_language


@pytest.mark.parametrize("text, expected", [
    ("Bonjour, je voudrais une copie intégrale de mon acte de naissance, s'il vous plaît.", "fr"),
    ("Hello, could you send me a copy of my birth certificate? Thank you.", "en"),
    ("السلام عليكم، أرجو إرسال نسخة من عقد الازدياد. شكرا", "ar"),
    ("Madame, Monsieur,\n\nLe lampadaire de la rue des Lilas est en panne depuis une semaine.", "fr"),
])
def test_the_language_of_a_real_request(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["", "Merci", "ok", "👍👍👍", "06 12 34 56 78", "GRU-2026-000042"])
def test_too_little_text_gives_no_guess(text: str) -> None:
    assert detect_language(text) is None


def test_only_the_languages_we_answer_in_are_candidates() -> None:
    assert detect_language("Buenos días, necesito un certificado de nacimiento", ("fr", "en")) in {"fr", "en"}
    assert detect_language("Good morning to all of you", ("fr",)) == "fr"
