"""The original inside a forward, as each mail client writes it (pure), and how it is filed."""
from __future__ import annotations

import pytest

from channels.email.forwarded import original_of
from channels.email.inbound import forwarded_original, parse

GMAIL_FR = """Pour traitement, merci.

---------- Message transféré ---------
De : Nadia Amrani <nadia.amrani@example.org>
Date: lun. 2 mars 2026 à 09:14
Subject: Acte de naissance
To: Amina Benali <amina.benali@demo.guichet.fr>


Bonjour, je voudrais une copie intégrale de mon acte de naissance.
Nadia"""

OUTLOOK_EN = """FYI

________________________________
From: Omar Haddou <omar.h@example.net>
Sent: Monday, March 2, 2026 9:14 AM
To: Karim Haddad <karim.haddad@demo.guichet.fr>
Subject: Pothole rue Victor Hugo

There is a deep pothole in front of number 12."""

OUTLOOK_FR_MAILTO = """-----Message d'origine-----
De : Léa Petit [mailto:lea.petit@example.fr]
Envoyé : lundi 2 mars 2026 09:14
À : Sophie Martin
Objet : Inscription cantine

Bonjour, comment inscrire ma fille à la cantine ?"""

APPLE_MAIL = """Début du message réexpédié :

> De: "Jean Moreau" <jean.moreau@example.com>
> Objet: Permis de construire
> Date: 2 mars 2026 à 09:14:00 UTC+1
> À: claire.dubois@demo.guichet.fr
>
> Où en est mon dossier PC 075 123 ?"""

THUNDERBIRD = """-------- Forwarded Message --------
Subject: \tAttestation
Date: \tMon, 2 Mar 2026 09:14:00 +0100
From: \tSara Idrissi <sara@example.org>
To: \tamina.benali@demo.guichet.fr

J'ai besoin d'une attestation de domicile."""

ARABIC_GMAIL = """---------- رسالة مُعاد توجيهها ---------
من: Youssef Alami <youssef@example.ma>
Date: الاثنين، 2 مارس 2026
Subject: طلب شهادة السكنى
To: amina.benali@demo.guichet.fr

أريد شهادة السكنى من فضلكم."""


@pytest.mark.parametrize("text, subject, sender, name, original_subject, body", [
    (GMAIL_FR, "Fwd: Acte de naissance", "nadia.amrani@example.org", "Nadia Amrani", "Acte de naissance",
     "Bonjour, je voudrais une copie intégrale de mon acte de naissance.\nNadia"),
    (OUTLOOK_EN, "FW: Pothole rue Victor Hugo", "omar.h@example.net", "Omar Haddou",
     "Pothole rue Victor Hugo", "There is a deep pothole in front of number 12."),
    (OUTLOOK_FR_MAILTO, "TR: Inscription cantine", "lea.petit@example.fr", "Léa Petit", "Inscription cantine",
     "Bonjour, comment inscrire ma fille à la cantine ?"),
    (APPLE_MAIL, "Fwd: Permis de construire", "jean.moreau@example.com", "Jean Moreau",
     "Permis de construire", "Où en est mon dossier PC 075 123 ?"),
    (THUNDERBIRD, "Fwd: Attestation", "sara@example.org", "Sara Idrissi", "Attestation",
     "J'ai besoin d'une attestation de domicile."),
    (ARABIC_GMAIL, "إعادة توجيه: طلب", "youssef@example.ma", "Youssef Alami", "طلب شهادة السكنى",
     "أريد شهادة السكنى من فضلكم."),
], ids=["gmail-fr", "outlook-en", "outlook-fr-mailto", "apple-mail", "thunderbird", "gmail-ar"])
def test_inline_forwards(text, subject, sender, name, original_subject, body) -> None:
    original = original_of(b"", text, subject)
    assert original is not None
    assert (original.from_address, original.from_name, original.subject, original.text) == (
        sender, name, original_subject, body)


@pytest.mark.parametrize("text", [
    "Bonjour, merci pour votre réponse.",
    "Le lun. 2 mars 2026, Mairie <m@ville.fr> a écrit :\n> Bonjour",
    "---------- Forwarded message ---------\nDe : la mairie, sans adresse\n\nTexte",
])
def test_no_original_without_a_forward_block_and_a_sender_address(text: str) -> None:
    assert original_of(b"", text, "Re: demande") is None


def _attached_forward(inner: str) -> bytes:
    return ("From: Amina Benali <amina.benali@demo.guichet.fr>\r\nTo: mairie@ville.fr\r\n"
            "Subject: TR: Logement\r\nMessage-ID: <fwd-att@demo.guichet.fr>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "Voir ci-joint.\r\n--XX\r\nContent-Type: message/rfc822\r\n"
            "Content-Disposition: attachment; filename=\"Logement.eml\"\r\n\r\n"
            f"{inner}\r\n--XX--\r\n").encode()


def test_forward_as_attachment_keeps_the_original_headers() -> None:
    raw = _attached_forward(
        "From: =?utf-8?q?Fran=C3=A7oise_L=C3=A9ger?= <francoise@example.fr>\r\nSubject: Logement social\r\n"
        "Message-ID: <orig@example.fr>\r\nIn-Reply-To: <ack-1@guichet.localhost>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nMa demande de logement est-elle complète ?")
    message = parse(raw)
    refiled = forwarded_original(raw, message)
    assert refiled is not None
    assert (refiled.sender.email, refiled.sender.name) == ("francoise@example.fr", "Françoise Léger")
    assert refiled.subject == "Logement social"
    assert refiled.text == "Ma demande de logement est-elle complète ?"
    assert refiled.metadata["in_reply_to"] == "<ack-1@guichet.localhost>"
    assert refiled.metadata["forwarded_by"] == "amina.benali@demo.guichet.fr"
    assert refiled.external_id == message.external_id  # the forward's id: a re-fetch stays one message


def test_a_broken_attached_original_leaves_the_forward_as_it_is() -> None:
    raw = _attached_forward("garbage without headers")
    assert forwarded_original(raw, parse(raw)) is None
