"""The parser against 100+ mails as real clients write them (tests/fixtures/email/mails).

Every field a person can check is asserted exactly: who wrote, the subject, the new part
of a reply, the ids a mail client threads on, attachments, auto-replies.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from channels.email.parse import parse_email

MAILS = Path(__file__).resolve().parents[1] / "fixtures" / "email" / "mails"
EXPECTED: dict[str, dict] = json.loads((MAILS / "expected.json").read_text())
GUICHET = str(Path(sys.executable).with_name("guichet"))


def test_the_corpus_is_large_and_varied() -> None:
    names = list(EXPECTED)
    assert len(names) >= 100
    for kind in ("gmail-", "outlook-desktop-", "outlook-365-", "apple-", "thunderbird-", "html-", "-ar-",
                 "auto-reply-", "bounce-", "forwarded-", "related-", "no-from", "empty-body", "wrong-charset"):
        assert any(kind in name for name in names), kind
    raw = b"".join((MAILS / name).read_bytes() for name in names)
    for charset in (b"utf-8", b"iso-8859-1", b"windows-1252", b"windows-1256"):
        assert charset in raw.lower(), charset


def _fields(name: str) -> dict:
    mail = parse_email((MAILS / name).read_bytes())
    return {
        "from_address": mail.from_address, "from_name": mail.from_name, "subject": mail.subject,
        "text": mail.text, "reply_text": mail.reply_text, "message_id": mail.message_id,
        "in_reply_to": mail.in_reply_to, "references": mail.references, "auto_reply": mail.auto_reply,
        "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": a.size}
                        for a in mail.attachments if not a.inline or a.filename],
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_checkable_field(name: str) -> None:
    got = _fields(name)
    expected = EXPECTED[name]
    assert {key: got[key] for key in expected} == expected


def test_cli_prints_one_json_line_per_file_and_never_stops() -> None:
    files = [str(MAILS / name) for name in sorted(EXPECTED)]
    garbage = MAILS.parent / "not_an_email.eml"
    result = subprocess.run([GUICHET, "email", "parse", *files, str(garbage), "--json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["file"] for row in rows] == [*files, str(garbage)]
    keys = {"file", "from_address", "from_name", "subject", "text", "reply_text", "message_id", "in_reply_to",
            "references", "attachments", "auto_reply", "error"}
    assert all(set(row) == keys for row in rows)
    assert all(row["error"] is None for row in rows[:-1])
    assert rows[-1]["error"]
    by_file = {Path(row["file"]).name: row for row in rows}
    for name, expected in EXPECTED.items():
        assert by_file[name]["reply_text"] == expected["reply_text"], name


def test_a_huge_message_parses_with_its_attachment_measured() -> None:
    """30 MB of attachment: parsed once, its size right, the text not buried."""
    blob = b"A" * (30 * 1024 * 1024)
    import base64

    encoded = base64.encodebytes(blob)
    raw = (b"From: Big <big@example.org>\r\nSubject: Scan\r\nMessage-ID: <big@x>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           b"Voici le scan.\r\n--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
           b"filename=scan.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--B--\r\n")
    mail = parse_email(raw)
    assert mail.reply_text == "Voici le scan."
    assert [(a.filename, a.size) for a in mail.attachments] == [("scan.pdf", len(blob))]
