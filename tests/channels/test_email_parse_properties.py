"""Property: whatever bytes arrive, the parser answers or says ParseError; it never crashes."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.base import ParseError
from channels.email.parse import parse_email
from channels.email.reply import extract_reply

HEADER_NAMES = st.sampled_from(["From", "To", "Subject", "Message-ID", "In-Reply-To", "References",
                                "Content-Type", "Content-Transfer-Encoding", "Content-Disposition",
                                "Auto-Submitted", "Precedence", "Date", "MIME-Version"])
HEADER_VALUES = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80) | st.sampled_from([
    "multipart/mixed; boundary=\"b\"", "text/plain; charset=x-unknown", "=?utf-8?b?////?=",
    "<a@b> <c@", "\"\" <>", "attachment; filename*=UTF-8''%ff%fe", "base64", "quoted-printable",
    "=?windows-1256?q?=E1=E4?=", "@@@", "multipart/report; boundary=", ",,,;;;<<>>"])


def _message(headers: list[tuple[str, str]], body: bytes) -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return head.encode("utf-8", "surrogateescape") + b"\r\n" + body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(raw: bytes) -> None:
    try:
        parse_email(raw)
    except ParseError:
        pass


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), min_size=1, max_size=12),
       st.binary(max_size=1500))
def test_hostile_headers_and_bodies(headers: list[tuple[str, str]], body: bytes) -> None:
    try:
        mail = parse_email(_message(headers, body))
    except ParseError:
        return
    assert isinstance(mail.text, str) and isinstance(mail.reply_text, str)
    assert all(ref.startswith("<") for ref in mail.references)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=3000))
def test_reply_is_never_longer_than_the_text(text: str) -> None:
    assert len(extract_reply(text)) <= len(text)
