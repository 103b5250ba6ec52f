"""The pure decisions of a reply: the answer set into its frame, the SMS short reference, the
printable letter, the channel order, and suggestions ranked over the seeded knowledge base."""
from __future__ import annotations

import pytest

from app.seed_templates import KNOWLEDGE
from replies.compose import build_reply, insert_answer, letter_page, with_short_reference
from replies.reach import Route, address_kind, is_permanent_failure, next_route, rank_routes
from replies.rendering import Draft, validate_template
from replies.suggest import Candidate, Past, build_index, fold, rank
from replies.templates import Rendered

FRAME = "Bonjour,\n\nSuite à votre demande, voici notre réponse.\n\n\n\nCordialement,\nLa mairie\n"
EMAIL = Route("email", "nadia@example.org", True, "nadia@example.org")


def test_an_answer_fills_the_frames_blank_once() -> None:
    text = insert_answer(FRAME, "  Votre acte est disponible.  ")
    assert text == ("Bonjour,\n\nSuite à votre demande, voici notre réponse.\n\nVotre acte est disponible.\n\n"
                    "Cordialement,\nLa mairie\n")
    assert insert_answer("Bonjour,", "Réponse") == "Bonjour,\n\nRéponse\n"
    assert insert_answer("", "Réponse") == "Réponse\n"


@pytest.mark.parametrize("text, prefix, language, expected", [
    ("Votre acte est disponible.", "Mairie, réf. 2026-42 : ", "fr", "Mairie, réf. 2026-42 : Votre acte est disponible."),
    ("Pour le 2026-42 : c'est fait.", "Mairie, réf. 2026-42 : ", "fr", "Pour le 2026-42 : c'est fait."),
    ("Ready.", None, "en", "ref. 2026-42: Ready."),
    ("جاهز", None, "ar", "المرجع 2026-42: جاهز"),
])
def test_an_sms_always_carries_the_short_reference(text, prefix, language, expected) -> None:
    assert with_short_reference(text, "2026-42", prefix, language) == expected


def test_an_edited_reply_drops_the_templates_html_and_a_letter_is_a_printable_page() -> None:
    started = Rendered("Re : demande", "Texte du modèle", 7, "fr", "<p>Texte du modèle</p>")
    common = {"language": "fr", "started": started, "subject": None, "short_reference": "2026-42", "sms_prefix": None,
              "letter": {"service": "Mairie", "recipient": ["Nadia Amrani", "12 rue des Lilas"],
                         "reference": "GRU-2026-000042"}, "fallback_subject": "GRU-2026-000042"}
    kept = build_reply(route=EMAIL, text=None, **common)
    assert (kept.text, kept.html, kept.subject, kept.template_id) == ("Texte du modèle", "<p>Texte du modèle</p>",
                                                                       "Re : demande", 7)
    edited = build_reply(route=EMAIL, text="Texte <modifié>", **common)
    assert edited.html is None and edited.text == "Texte <modifié>"
    letter = build_reply(route=Route("letter", "12 rue des Lilas", True, ""), text="Madame,\n\n<b>Oui</b>", **common)
    assert "<p>&lt;b&gt;Oui&lt;/b&gt;</p>" in letter.html and "Nadia Amrani<br>12 rue des Lilas" in letter.html
    sms = build_reply(route=Route("sms", "+33612345678", True, ""), text="Oui.", **common)
    assert (sms.text, sms.subject, sms.html) == ("réf. 2026-42 : Oui.", "", None)
    assert 'dir="rtl"' in letter_page("نعم", service="S", recipient=[], reference="R", subject="", language="ar")


def test_channels_in_the_citizens_order_and_the_next_one() -> None:
    addresses = {"email": "a@example.org", "phone": "+33612345678"}
    routes = rank_routes("sms", addresses, {"sms"}, {"email": "SMTP 550"})
    assert [(r.channel, r.reachable) for r in routes] == [("sms", False), ("email", False), ("letter", False),
                                                          ("phone", True)]
    assert next_route(routes).channel == "phone"
    assert "opted out" in routes[0].why and "550" in routes[1].why and "postal" in routes[2].why
    assert rank_routes("webform", addresses, set(), {})[0].channel == "email"
    assert [address_kind(v) for v in ("a@b.fr", "+33612345678", "1 rue X")] == ["email", "phone", "postal_address"]
    assert is_permanent_failure("blocked", None) and is_permanent_failure("failed", "SMTP 550")
    assert not is_permanent_failure("failed", "gave up after retries: 451")
    assert not is_permanent_failure("sent", None)


def test_folding_joins_spellings() -> None:
    assert fold("Éclairage PUBLIC") == "eclairage public"
    assert fold("الإنارة العمومية") == fold("الانارة العموميه")
    assert fold("le la de 2026") == ""


def _seeded_index():
    categories = {"etat_civil": 1, "voirie": 2, "urbanisme": 3, "social": 4}
    candidates = [Candidate(f"answer:{i}", "answer", i, title, language, categories.get(slug), tuple(keywords),
                            tuple(examples)) for i, (slug, language, title, keywords, examples, _) in enumerate(KNOWLEDGE)]
    return build_index(candidates), categories


@pytest.mark.parametrize("message, language, category, title", [
    ("Bonjour, il me faudrait un extrait de naissance pour ma fille", "fr", "etat_civil",
     "Copie ou extrait d'acte de naissance"),
    ("Le réverbère au coin de ma rue clignote puis s'éteint", "fr", "voirie", "Éclairage public en panne"),
    ("Un vieux matelas est abandonné sur le trottoir", "fr", "voirie", "Encombrants et dépôts sauvages"),
    ("La mairie est-elle ouverte samedi matin ?", "fr", None, "Horaires d'ouverture"),
    ("أريد نسخة كاملة من رسم الولادة", "ar", "etat_civil", "نسخة من عقد الازدياد"),
    ("ما هي الوثائق اللازمة لرخصة البناء من فضلكم", "ar", "urbanisme", "رخصة البناء: الوثائق المطلوبة"),
    ("I need my birth certificate for a passport", "en", "etat_civil", "Copy of a birth certificate"),
])
def test_the_right_answer_ranks_first(message, language, category, title) -> None:
    index, categories = _seeded_index()
    found = rank(message, language, categories.get(category), index, [])
    assert found[0].title == title, found
    assert len(found) <= 3 and found[0].why


def test_what_agents_chose_before_breaks_a_tie() -> None:
    index, _ = _seeded_index()
    message = "Question sur mon dossier de logement"
    before = rank(message, "fr", None, index, [])
    social = next(i for i, c in enumerate(index.candidates) if c.title == "Rendez-vous avec l'action sociale")
    history = [Past(fold("question dossier logement social"), f"answer:{social}", "fr")] * 3
    after = rank(message, "fr", None, index, history)
    assert after[0].title == "Rendez-vous avec l'action sociale"
    assert any("chosen by agents" in why for why in after[0].why)
    assert before != after


@pytest.mark.parametrize("entry", KNOWLEDGE, ids=lambda e: f"{e[1]}:{e[2]}")
def test_every_seeded_answer_passes_validation(entry) -> None:
    _, language, _, keywords, examples, body = entry
    assert keywords and examples
    validate_template(Draft(step="agent_reply", channel="letter", language=language, body=body), sms_max_segments=3)
