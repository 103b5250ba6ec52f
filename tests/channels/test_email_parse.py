"""The pure email parser on written-for-the-test mails (issue 3 grows this corpus to 100+)."""
from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from channels.base import ParseError
from channels.email.parse import parse_email
from channels.email.reply import extract_reply

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "email"


def parsed(name: str):
    return parse_email((CORPUS / name).read_bytes())


def test_gmail_french_reply() -> None:
    mail = parsed("gmail_fr_reply.eml")
    assert (mail.from_address, mail.from_name) == ("francoise.leger@example.fr", "Françoise Léger")
    assert mail.subject == "Re: [GRU-2026-000042] Acte de naissance"
    assert mail.reply_text == "Merci, voici mon numéro de dossier : 1234."
    assert "Nous avons bien reçu" in mail.text
    assert mail.message_id == "<CAF1234@mail.gmail.com>"
    assert mail.in_reply_to == "<ack-42@guichet.localhost>"
    assert mail.references == ["<req-42@mail.gmail.com>", "<ack-42@guichet.localhost>"]
    assert not mail.auto_reply


def test_outlook_arabic_in_windows_1256() -> None:
    mail = parsed("outlook_arabic_cp1256.eml")
    assert mail.subject == "طلب شهادة السكنى"
    assert mail.reply_text == "شكرا على الجواب السريع."
    assert "نص قديم" in mail.text and "نص قديم" not in mail.reply_text


def test_html_only_with_quoted_history_and_an_attachment() -> None:
    mail = parsed("html_only_with_attachment.eml")
    assert mail.reply_text == "Bonjour,\n\nVoici la photo du nid de poule."
    assert "color:red" not in mail.text
    assert [(a.filename, a.content_type, a.size) for a in mail.attachments] == [
        ("trou rue de léglise.jpg", "image/jpeg", 1004)]


def test_wrong_declared_charset_is_read_as_utf8() -> None:
    assert parsed("wrong_declared_charset.eml").text == "Déjà envoyé"


@pytest.mark.parametrize("name", ["vacation_latin1.eml", "dsn_bounce.eml"])
def test_auto_replies_and_bounces_are_flagged(name: str) -> None:
    assert parsed(name).auto_reply


def test_latin1_quoted_printable() -> None:
    assert parsed("vacation_latin1.eml").text == "Je suis absent jusqu'au 10 mars. Réponse dès mon retour."


@pytest.mark.parametrize("name", ["empty.eml", "not_an_email.eml"])
def test_unreadable_input_is_a_parse_error(name: str) -> None:
    with pytest.raises(ParseError):
        parsed(name)


@pytest.mark.parametrize("text, reply", [
    ("Thanks!\n\nOn Mon, Mar 3, 2026 at 10:02 AM Mairie <noreply@mairie.fr>\nwrote:\n\n> Hello", "Thanks!"),
    ("Ok\n\n-----Original Message-----\nFrom: a@b\nSent: x\n\nold", "Ok"),
    ("Voici.\n\nDe : Mairie <m@v.fr>\nEnvoyé : lundi 3 mars 2026\nÀ : Jean\nObjet : RE: x\n\nold", "Voici."),
    ("Bonjour\n\nJe confirme.\n\nEnvoyé de mon iPhone\n\n> Le 3 mars 2026 à 10:02, Mairie a écrit :",
     "Bonjour\n\nJe confirme."),
    ("> question 1?\nanswer 1\n> question 2?\nanswer 2", "answer 1\nanswer 2"),
    ("Regards\n-- \nJean Dupont\nTel 0612", "Regards"),
    ("Le projet est le suivant : je veux construire.\nMerci",
     "Le projet est le suivant : je veux construire.\nMerci"),
    ("شكرا\n\nفي الاثنين، 3 مارس 2026 في 10:02 ص، Mairie <m@v.ma> كتب:\n> مرحبا", "شكرا"),
])
def test_reply_extraction(text: str, reply: str) -> None:
    assert extract_reply(text) == reply


def test_parser_never_raises_anything_but_parse_error_on_random_bytes() -> None:
    generator = random.Random(20261122)
    seeds = [(CORPUS / name).read_bytes() for name in sorted(p.name for p in CORPUS.glob("*.eml"))]
    for _ in range(2000):
        base = bytearray(generator.choice(seeds) or b"x")
        for _ in range(generator.randint(1, 20)):  # flip, insert and cut at random
            position = generator.randrange(len(base) or 1)
            action = generator.random()
            if action < 0.4 and base:
                base[position % len(base)] = generator.randrange(256)
            elif action < 0.8:
                base[position:position] = bytes(generator.randrange(256) for _ in range(5))
            else:
                del base[position:position + 10]
        try:
            parse_email(bytes(base))
        except ParseError:
            pass


def test_cli_prints_one_json_line_per_file_and_never_crashes(tmp_path: Path) -> None:
    files = sorted(str(p) for p in CORPUS.glob("*.eml")) + [str(tmp_path / "missing.eml")]
    guichet = str(Path(sys.executable).with_name("guichet"))
    result = subprocess.run([guichet, "email", "parse", *files, "--json"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["file"] for row in rows] == files
    keys = {"file", "from_address", "from_name", "subject", "text", "reply_text", "message_id",
            "in_reply_to", "references", "attachments", "auto_reply", "error"}
    assert all(set(row) == keys for row in rows)
    errors = {Path(row["file"]).name for row in rows if row["error"]}
    assert errors == {"empty.eml", "not_an_email.eml", "missing.eml"}
