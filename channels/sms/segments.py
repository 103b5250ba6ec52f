"""How many SMS an outbound text costs, and in which encoding (pure).

GSM-7 (3GPP TS 23.038): the basic table costs one septet a character, the extension
table (reached through an escape) two. A text with any other character goes as UCS-2,
two bytes per UTF-16 code unit, so an emoji outside the BMP (a surrogate pair) costs two.
One SMS holds 160 septets or 70 units; a longer text is split into parts of 153 septets or
67 units (the rest of each part carries the concatenation header), and a part never ends
between the two halves of an escape or of a surrogate pair. The tables are Twilio's (its
message-segment-calculator): lower-case "ç" is not GSM-7, only "Ç" is.
"""
from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE = {"GSM-7": 160, "UCS-2": 70}
PART = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int  # SMS parts the operator bills


def _costs(text: str) -> tuple[str, list[int]]:
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        return "GSM-7", [2 if c in GSM7_EXTENSION else 1 for c in text]
    return "UCS-2", [2 if ord(c) > 0xFFFF else 1 for c in text]


def sms_segments(text: str) -> Segments:
    encoding, costs = _costs(text)
    units = sum(costs)
    if units <= SINGLE[encoding]:
        return Segments(encoding, units, 1)
    count, used = 1, 0
    for cost in costs:  # a character's units stay in one part
        if used + cost > PART[encoding]:
            count, used = count + 1, 0
        used += cost
    return Segments(encoding, units, count)
