"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, in its own thread.

It records every envelope it is given and can be told to answer the next N
`RCPT` or `DATA` commands (or all of them) with a chosen reply, such as
"451 4.3.0 Try again later" or "550 5.1.1 Mailbox unavailable".
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    """One envelope as the server saw it at DATA, with the reply it gave."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    reply: str

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.content, policy=policy.default)  # type: ignore[return-value]

    @property
    def accepted(self) -> bool:
        return self.reply.startswith("250")


@dataclass
class _Script:
    """What to answer to a command: `reply` for the next `times` of them (None: forever)."""

    reply: str
    times: int | None


class RecordingHandler:
    ACCEPT = "250 2.0.0 Message accepted for delivery"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[str, list[_Script]] = {"RCPT": [], "DATA": []}
        self.rcpt_commands: list[tuple[str, str]] = []  # (address, reply), every RCPT
        self.data_commands: list[Received] = []  # every DATA, accepted or not

    # What the test tells the server ---------------------------------------------------------
    def answer_rcpt(self, reply: str, *, times: int | None = 1) -> None:
        with self._lock:
            self._scripts["RCPT"].append(_Script(reply, times))

    def answer_data(self, reply: str, *, times: int | None = 1) -> None:
        with self._lock:
            self._scripts["DATA"].append(_Script(reply, times))

    # What the test reads back ---------------------------------------------------------------
    @property
    def received(self) -> list[Received]:
        """The mail the server accepted (250 to DATA)."""
        with self._lock:
            return [r for r in self.data_commands if r.accepted]

    # aiosmtpd hooks (run in the server's thread) ----------------------------------------------
    def _scripted(self, command: str) -> str | None:
        with self._lock:
            scripts = self._scripts[command]
            if not scripts:
                return None
            script = scripts[0]
            if script.times is not None:
                script.times -= 1
                if script.times <= 0:
                    scripts.pop(0)
            return script.reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self._scripted("RCPT") or "250 2.1.5 OK"
        with self._lock:
            self.rcpt_commands.append((address, reply))
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server, session, envelope):
        reply = self._scripted("DATA") or self.ACCEPT
        with self._lock:
            self.data_commands.append(Received(
                mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos),
                content=bytes(envelope.original_content or envelope.content), reply=reply,
            ))
        return reply


def free_port() -> int:
    """A port nothing listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_server() -> Iterator[tuple[RecordingHandler, int]]:
    """(handler, port) of a running server, stopped on exit."""
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
