"""Email out with aiosmtplib."""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from channels.base import ChannelError, RetryLater
from crm.types import Channel, OutboundMessage


class SmtpSender:
    """Sends through one SMTP server given as smtp[s]://user:pass@host:port[?starttls=true]."""

    channel = Channel.EMAIL

    def __init__(self, url: str, *, from_address: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError("SMTP URL must look like smtp://host:port or smtps://user:pass@host")
        query = parse_qs(parts.query)
        self.host = parts.hostname
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.use_tls = parts.scheme == "smtps"
        self.start_tls = query.get("starttls", ["false"])[0].lower() in {"1", "true", "yes"}
        self.from_address = from_address
        self.timeout = timeout

    def build(self, message: OutboundMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.from_address
        mail["To"] = message.to
        mail["Subject"] = message.subject or ""
        mail["Date"] = formatdate(localtime=False)
        if message.message_id:
            mail["Message-ID"] = message.message_id
        for name, value in message.headers.items():
            mail[name] = value
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail

    async def send(self, message: OutboundMessage) -> str:
        mail = self.build(message)
        try:
            await aiosmtplib.send(
                mail,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                start_tls=self.start_tls if self.start_tls else None,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if all(400 <= code < 500 for code in codes):
                raise RetryLater(f"recipient deferred: {exc}") from exc
            raise ChannelError(f"recipient refused: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 400 <= exc.code < 500:
                raise RetryLater(f"SMTP {exc.code}: {exc.message}") from exc
            raise ChannelError(f"SMTP {exc.code}: {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise RetryLater(f"SMTP server unreachable: {exc}") from exc
        return str(mail["Message-ID"] or "")
