"""Parse one raw email (pure): who, what, the new part of a reply, attachments, auto-replies.

Never raises on bad input: every field degrades on its own (a broken header
gives an empty value, an unknown charset falls back to a guess), and what
cannot be read at all raises ParseError for the caller to quarantine.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.policy import EmailPolicy
from functools import lru_cache
from email.utils import getaddresses, parseaddr

from channels.base import ParseError
from channels.email.dsn import Bounce, parse_bounce
from channels.email.html_text import html_to_text
from channels.email.reply import extract_reply

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?(reply|response)|out of (the )?office|réponse automatique"
    r"|absence|rd:|undeliverable|delivery status notification|mail delivery failed"
    r"|non remis|رد تلقائي)\b", re.I)
LATIN1_LABELS = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso-ir-100", "cp819", "ibm819"}
BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon)@", re.I)


class _ParseOncePolicy(EmailPolicy):
    """policy.default, each header value parsed once: the stdlib parses a header anew at every
    access, and a mail's Content-Type is read some eight times here (its type, its charset, its
    filename, once per walk): ~0.1 ms each."""

    def header_fetch_parse(self, name, value):  # type: ignore[override]
        if hasattr(value, "name"):  # parsed already (a header set by code, not read from bytes)
            return value
        return _parsed_header(name, value)


@lru_cache(maxsize=256)  # the headers of the mail being parsed; common Content-Types across mails
def _parsed_header(name: str, value: str):
    """The header object (immutable) for this raw value, as policy.default builds it."""
    return policy.default.header_fetch_parse(name, value)


PARSE_POLICY = _ParseOncePolicy()


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    inline: bool = False
    data: bytes = field(default=b"", repr=False, compare=False)  # the decoded bytes


@dataclass(frozen=True)
class ParsedEmail:
    from_address: str | None
    from_name: str | None
    subject: str
    text: str
    reply_text: str
    html: str | None
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    to: list[str]
    attachments: list[Attachment] = field(default_factory=list)
    auto_reply: bool = False
    date: str | None = None
    bounce: Bounce | None = None  # a delivery status notification about one of our mails


def _header(message: Message, name: str) -> str:
    """A header as text, whatever its defects; '' when absent or unreadable.

    The modern policy parses on access and the stdlib parser can raise on hostile
    headers (even IndexError): fall back to the raw value, RFC 2047-decoded.
    """
    try:
        value = message.get(name)
        return " ".join(str(value).split()) if value is not None else ""
    except Exception:
        pass
    for key, raw in message.raw_items():
        if key.lower() == name.lower():
            try:
                return " ".join(str(make_header(decode_header(raw))).split())
            except Exception:
                return " ".join(str(raw).split())
    return ""


def _decode(payload: bytes, declared: str | None) -> str:
    """Text of a part. Bytes that are valid UTF-8 are UTF-8 whatever the label says (a
    wrong "iso-8859-1" label on UTF-8 text is common, the reverse almost never decodes);
    else the declared charset, else Windows-1252, else Latin-1 (which decodes anything)."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if declared and declared.lower().replace("_", "-") in LATIN1_LABELS:
        declared = "cp1252"  # as browsers do: mail labelled Latin-1 is Windows-1252 (€, curly quotes)
    for charset in (declared, "cp1252"):
        if charset:
            try:
                return payload.decode(charset)
            except (LookupError, UnicodeDecodeError):
                continue
    return payload.decode("latin-1")


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = str(part.get_payload() or "").encode("utf-8", "replace")
    charset = part.get_content_charset()
    if charset and charset.lower() in {"us-ascii", "ascii"}:
        charset = None  # 8-bit mail labelled ASCII is common: let the fallbacks look
    return _decode(payload, charset)


def _body_parts(message: Message) -> tuple[Message | None, Message | None]:
    plain = html = None
    for part in message.walk():
        if part.is_multipart() or _is_attachment(part):
            continue
        content_type = _content_type(part)
        if content_type == "text/plain" and plain is None:
            plain = part
        elif content_type == "text/html" and html is None:
            html = part
    return plain, html


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"  # an unreadable Content-Type: treat it as data


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        return ""
    try:
        return str(make_header(decode_header(name))) if "=?" in name else name
    except Exception:
        return name


def _is_attachment(part: Message) -> bool:
    disposition = _header(part, "Content-Disposition").split(";")[0].strip().lower()
    if disposition == "attachment":
        return True
    main_type = _content_type(part).split("/")[0]
    filename = _filename(part)
    if main_type == "text" and not filename:
        return False
    return bool(filename) or main_type in {"image", "audio", "video", "application"}


def _attachments(message: Message) -> list[Attachment]:
    found = []
    for part in message.walk():
        if part.is_multipart() or not _is_attachment(part):
            continue
        try:
            payload = part.get_payload(decode=True) or b""
        except Exception:
            payload = b""
        disposition = _header(part, "Content-Disposition").lower()
        found.append(Attachment(filename=_filename(part), content_type=_content_type(part),
                                size=len(payload), inline=disposition.startswith("inline"),
                                data=payload))
    return found


def _is_auto_reply(message: Message, subject: str, sender: str | None) -> bool:
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if any(_header(message, name) for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponse")):
        return True
    if _header(message, "Precedence").lower() in {"bulk", "auto_reply", "junk"}:
        return True
    if _content_type(message) == "multipart/report":
        return True
    if sender and BOUNCE_SENDERS.match(sender):
        return True
    return bool(AUTO_SUBJECT.match(subject))


def _message_ids(value: str) -> list[str]:
    return MESSAGE_ID.findall(value)


def parse_email(raw: bytes) -> ParsedEmail:
    if not isinstance(raw, bytes | bytearray) or not raw.strip():
        raise ParseError("empty message")
    try:
        message: EmailMessage = message_from_bytes(bytes(raw), policy=PARSE_POLICY)  # type: ignore[assignment]
    except Exception as exc:  # the stdlib parser is lenient; this is a last resort
        raise ParseError(f"not an email: {exc}") from exc
    if not any(message.keys()):
        raise ParseError("no headers: not an email")
    from_header = _header(message, "From")
    name, address = parseaddr(from_header)
    address = address.strip().lower() or None
    if address and "@" not in address:
        address = None
    subject = _header(message, "Subject")
    plain, html_part = _body_parts(message)
    html = _part_text(html_part) if html_part is not None else None
    if plain is not None:
        text = _part_text(plain)
    elif html is not None:
        text = html_to_text(html)
    else:
        text = ""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    in_reply_to = _message_ids(_header(message, "In-Reply-To"))
    try:
        to = [addr.lower() for _, addr in getaddresses([_header(message, "To")]) if "@" in addr]
    except Exception:
        to = []
    return ParsedEmail(
        from_address=address,
        from_name=name.strip() or None,
        subject=subject,
        text=text,
        reply_text=extract_reply(text),
        html=html,
        message_id=(_message_ids(_header(message, "Message-ID")) or [None])[0],
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=_message_ids(_header(message, "References")),
        to=to,
        attachments=_attachments(message),
        auto_reply=_is_auto_reply(message, subject, address),
        date=_header(message, "Date") or None,
        bounce=parse_bounce(message),
    )
