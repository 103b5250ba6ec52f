"""The new part of a reply: quoted history, attribution lines and signatures removed (pure)."""
from __future__ import annotations

import re

BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")

# "On Mon, 3 Mar 2026 at 10:02, Jean <j@x.fr> wrote:" and its French, Arabic, … forms.
ATTRIBUTION = re.compile(
    r"^(on|le|el|am|op|il|em|في|بتاريخ)\b.{3,400}?"
    r"(wrote|a écrit|a ecrit|escribió|schrieb|schreef|ha scritto|escreveu|كتب|كتبت)\s*:\s*$",
    re.I | re.S)
# Arabic clients put the verb before the name: "في 2 مارس 2026، كتب X <x@y>:" (Apple Mail,
# Thunderbird) or "في الاثنين، … تمت كتابة ما يلي بواسطة X <x@y>:" (Gmail).
ARABIC_ATTRIBUTION = re.compile(r"^(في|بتاريخ)\s.{3,400}?(كتب|كتبت|تمت كتابة ما يلي بواسطة).{0,300}:\s*$", re.S)
NAMED_ATTRIBUTION = re.compile(
    r"^.{0,200}<?[^<>\s@]+@[^<>\s@]+>?\s*(wrote|a écrit|كتب|كتبت)\s*:\s*$", re.I)
SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(original message|message d'origine|message original|forwarded message"
    r"|message transféré|message transfere|mensaje original|ursprüngliche nachricht"
    r"|الرسالة الأصلية|رسالة معاد توجيهها)\s*-{2,}\s*$", re.I)
UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
HEADER_FROM = re.compile(r"^\s*\*?(from|de|von|من|expéditeur)\s*\*?\s*:", re.I)
HEADER_NEXT = re.compile(
    r"^\s*\*?(sent|envoyé|envoye|date|gesendet|to|à|a|cc|subject|objet|أرسل|أرسلت|التاريخ|تاريخ الإرسال|تاريخ|إلى|الموضوع)"
    r"\s*\*?\s*:", re.I)
SIGNATURE = re.compile(
    r"^\s*(sent from my\b|sent from outlook|sent from mail for windows|sent from yahoo mail"
    r"|get outlook for\b|envoyé de mon\b|envoyé depuis mon\b|envoye de mon\b|envoyé depuis\b"
    r"|obtenir outlook pour\b|télécharger outlook|provenance\s*: courrier pour windows"
    r"|envoyé à partir de\b|envoyé avec\b|أرسلت من|مرسل من|تم الإرسال من)", re.I)


def _clean(line: str) -> str:
    return BIDI.sub("", line).strip()


def _attribution_at(lines: list[str], index: int) -> int:
    """How many lines (1-3) an attribution starting here spans; 0 when there is none."""
    first = _clean(lines[index])
    if not first:
        return 0
    if NAMED_ATTRIBUTION.match(first):
        return 1
    for span in (1, 2, 3):  # mail clients wrap long attributions
        block = [_clean(line) for line in lines[index:index + span]]
        if len(block) < span or not all(block):
            break
        joined = " ".join(block)
        if ATTRIBUTION.match(joined) or ARABIC_ATTRIBUTION.match(joined):
            return span
    return 0


def _outlook_header_at(lines: list[str], index: int) -> bool:
    if not HEADER_FROM.match(_clean(lines[index])):
        return False
    following = [_clean(line) for line in lines[index + 1:index + 6] if _clean(line)]
    return sum(bool(HEADER_NEXT.match(line)) for line in following[:4]) >= 1


def _is_quoted(line: str) -> bool:
    return _clean(line).startswith(">")


def extract_reply(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        clean = _clean(line)
        if clean in {"--", "-- "} or (kept and any(k.strip() for k in kept) and SIGNATURE.match(clean)):
            break  # the signature: nothing below it is new
        if SEPARATOR.match(clean) or _outlook_header_at(lines, index):
            if kept and UNDERSCORES.match(_clean(kept[-1])):
                kept.pop()
            break  # top-posted history (Outlook and friends): everything below is old
        span = _attribution_at(lines, index)
        if span:
            rest = lines[index + span:]
            if any(_clean(l) and not _is_quoted(l) for l in rest) and any(_is_quoted(l) for l in rest):
                index += span  # interleaved or bottom-posted reply: keep going, quotes drop below
                continue
            break
        if UNDERSCORES.match(clean) and index + 1 < len(lines) and _outlook_header_at(lines, index + 1):
            break
        if not _is_quoted(line):
            kept.append(line.rstrip())
        index += 1
    reply = "\n".join(kept).strip()
    return re.sub(r"\n{3,}", "\n\n", reply)
