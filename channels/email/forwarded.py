"""The original mail inside a forward (pure): who first wrote it, about what, and what they said.

Agents receive citizens' mail in their own mailboxes and forward it to the
service's address; the request belongs to the citizen, not to the agent. Two
shapes exist: the original attached whole (message/rfc822, Outlook's "forward
as attachment") and the original pasted inline under a header block, which
every client words its own way (Gmail "---------- Forwarded message ---------",
Outlook "From: … Sent: … To: … Subject:" under a rule, Apple Mail "Begin
forwarded message:", Thunderbird "-------- Message transféré --------", …).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.utils import parseaddr

from channels.email.parse import parse_email

MARKER = re.compile(
    r"^\s*(-{2,}|_{2,})?\s*(forwarded message|original message|message transféré|message transfere"
    r"|message d'origine|message original|mensaje reenviado|weitergeleitete nachricht"
    r"|الرسالة المعاد توجيهها|رسالة معاد توجيهها|رسالة مُعاد توجيهها|الرسالة الأصلية)\s*(-{2,}|_{2,})?\s*$"
    r"|^\s*(begin forwarded message|début du message réexpédié|debut du message reexpedie)\s*:\s*$"
    r"|^\s*_{10,}\s*$",
    re.IGNORECASE)
FIELD = re.compile(r"^\s*\*?([^\s:*][^:*]{0,30}?)\s*\*?\s*:\s*(.*)$")
KEYS = {
    "from": "from", "de": "from", "von": "from", "من": "from", "expéditeur": "from",
    "subject": "subject", "objet": "subject", "sujet": "subject", "betreff": "subject", "الموضوع": "subject",
    "date": "date", "sent": "date", "envoyé": "date", "envoye": "date", "gesendet": "date",
    "التاريخ": "date", "أرسل": "date", "أرسلت": "date", "المرسل": "date",
}
FORWARD_SUBJECT = re.compile(r"^\s*((fwd?|tr|wg|rv|إعادة توجيه|ت\.ر)\s*:\s*)+", re.IGNORECASE)
MAILTO = re.compile(r"\[mailto:([^\]\s]+)\]", re.IGNORECASE)


@dataclass(frozen=True)
class Forwarded:
    from_address: str
    from_name: str | None
    subject: str
    text: str
    date: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)


def original_of(raw: bytes, text: str, subject: str) -> Forwarded | None:
    """The forwarded original, when this mail carries one with a readable sender."""
    return _attached(raw) or _inline(text, subject)


def _attached(raw: bytes) -> Forwarded | None:
    if b"message/rfc822" not in raw[:2_000_000].lower():
        return None
    try:
        outer = message_from_bytes(raw, policy=policy.default)
        part = next((p for p in outer.walk() if p.get_content_type() == "message/rfc822"), None)
        inner = part.get_payload()[0] if part is not None else None
        if inner is None:
            return None
        mail = parse_email(inner.as_bytes(policy=policy.compat32))
    except Exception:  # a broken attachment: no original, the forward is filed as it is
        return None
    if not mail.from_address:
        return None
    return Forwarded(mail.from_address, mail.from_name, mail.subject, mail.text, mail.date,
                     mail.message_id, mail.in_reply_to, mail.references)


def _inline(text: str, subject: str) -> Forwarded | None:
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if MARKER.match(line) or (FORWARD_SUBJECT.match(subject) and _field(line)[0] == "from"):
            start = index + 1 if MARKER.match(line) else index
            found = _header_block(lines, start)
            if found is not None:
                return found
    return None


def _field(line: str) -> tuple[str | None, str]:
    match = FIELD.match(_unquoted(line).replace("\u00a0", " "))
    if not match:
        return None, ""
    return KEYS.get(match.group(1).strip().lower()), match.group(2).strip()


def _unquoted(line: str) -> str:
    return line[1:].removeprefix(" ") if line.startswith(">") else line


def _header_block(lines: list[str], start: int) -> Forwarded | None:
    """Read `Key: value` lines (blank lines before them skipped) up to the body.
    Apple Mail quotes the whole original, headers included, with `>`."""
    lines = [_unquoted(line) for line in lines]
    index = start
    while index < len(lines) and not lines[index].strip():
        index += 1
    fields: dict[str, str] = {}
    seen = 0
    while index < len(lines) and lines[index].strip():
        key, value = _field(lines[index])
        if key is None and seen == 0:
            return None  # not a header block
        if key is not None:
            fields.setdefault(key, value)
        seen += 1
        index += 1
    sender = fields.get("from")
    if not sender:
        return None
    mailto = MAILTO.search(sender)
    if mailto:  # Outlook: `Léa Petit [mailto:lea@example.fr]`
        name, address = MAILTO.sub("", sender), mailto.group(1)
    else:
        name, address = parseaddr(sender)
    address = address.strip().lower()
    if "@" not in address:
        return None
    body = "\n".join(lines[index:]).strip()
    return Forwarded(address, name.strip().strip('"') or None, fields.get("subject", ""), body,
                     fields.get("date"))
