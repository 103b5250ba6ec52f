"""A real SMTP server for tests (aiosmtpd), that records mail and can refuse on demand."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class RecordingHandler:
    received: list[EmailMessage] = field(default_factory=list)
    rcpt_tos: list[list[str]] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)  # answers for the next DATA commands
    rcpt_replies: list[str] = field(default_factory=list)  # answers for the next RCPT commands
    always_refuse_data: str | None = None
    data_attempts: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.data_attempts += 1
        if self.always_refuse_data:
            return self.always_refuse_data
        if self.data_replies:
            return self.data_replies.pop(0)
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        self.rcpt_tos.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_server() -> Iterator[tuple[RecordingHandler, int]]:
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
