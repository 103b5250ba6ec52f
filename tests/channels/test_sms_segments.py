"""SMS segment counts, checked by hand against GSM 03.38 and Twilio's segment calculator."""
from __future__ import annotations

import pytest

from channels.sms.segments import sms_segments


@pytest.mark.parametrize("text, encoding, units, count", [
    ("", "GSM-7", 0, 1),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    # The extension table costs two septets: 80 euros fill one SMS, 81 need two.
    ("€" * 80, "GSM-7", 160, 1),
    ("€" * 81, "GSM-7", 162, 2),
    ("Tarif [A]: 12 € {réduit}", "GSM-7", 29, 1),
    # An escape pair is never cut: 152 letters then "€" leave the euro for the second part.
    ("a" * 152 + "€" + "a" * 8, "GSM-7", 162, 2),
    ("a" * 152 + "€" * 77, "GSM-7", 306, 3),
    # French: é è à ù Ç are GSM-7; â ê ô î ç are not, and one of them makes the whole SMS UCS-2.
    ("Votre dossier est enregistré à la mairie, réf. 2026-42.", "GSM-7", 55, 1),
    ("Ça y est", "GSM-7", 8, 1),
    ("Demande reçue", "UCS-2", 13, 1),
    ("Tête", "UCS-2", 4, 1),
    ("é" * 159 + "ê", "UCS-2", 160, 3),
    ("à" * 70, "GSM-7", 70, 1),
    ("â" * 70, "UCS-2", 70, 1),
    ("â" * 71, "UCS-2", 71, 2),
    ("ô" * 134, "UCS-2", 134, 2),
    ("ô" * 135, "UCS-2", 135, 3),
    # Arabic is UCS-2.
    ("تم استلام طلبكم", "UCS-2", 15, 1),
    ("س" * 70, "UCS-2", 70, 1),
    ("س" * 71, "UCS-2", 71, 2),
    # An emoji outside the BMP is a surrogate pair: two units, never split across parts.
    ("Merci 🙂", "UCS-2", 8, 1),
    ("🙂" * 35, "UCS-2", 70, 1),
    ("🙂" * 36, "UCS-2", 72, 2),
    ("a" * 66 + "🙂" + "a", "UCS-2", 69, 1),
    ("a" * 66 + "🙂" + "a" * 2, "UCS-2", 70, 1),
    ("a" * 66 + "🙂" + "a" * 3, "UCS-2", 71, 2),
    ("a" * 66 + "🙂" * 2, "UCS-2", 70, 1),
    ("a" * 66 + "🙂" * 3, "UCS-2", 72, 2),  # 66 + the 2nd part's 6: the 1st emoji moves over
    ("a" * 133 + "🙂" + "a" * 4, "UCS-2", 139, 3),
    # The backtick is not in GSM-7.
    ("`", "UCS-2", 1, 1),
])
def test_segments(text: str, encoding: str, units: int, count: int) -> None:
    result = sms_segments(text)
    assert (result.encoding, result.units, result.count) == (encoding, units, count)
