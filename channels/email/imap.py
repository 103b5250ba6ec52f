"""IMAP in with imapclient (synchronous: callers run these in a thread).

Fetching never changes the server: messages are read with BODY.PEEK and only
`mark_recorded` (called after the caller has committed them) flags them with
our keyword and, when configured, moves them. A crash in between means the
next poll fetches them again, and the raw log's uniqueness drops the repeat.
"""
from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from imapclient import IMAPClient

RECORDED = b"$GuichetRecorded"


@dataclass(frozen=True)
class Mailbox:
    name: str  # ours: scopes idempotency keys and locks
    host: str
    user: str
    password: str
    port: int = 993
    security: str = "ssl"  # ssl, starttls or none (a local test server only)
    folder: str = "INBOX"
    processed_folder: str | None = None
    max_bytes: int = 25 * 1024 * 1024
    idle: bool = True


@dataclass(frozen=True)
class Fetched:
    uid: int
    raw: bytes
    size: int
    truncated: bool  # only the headers: the message is larger than max_bytes


def _connect(mailbox: Mailbox) -> IMAPClient:
    client = IMAPClient(mailbox.host, port=mailbox.port, ssl=mailbox.security == "ssl", timeout=60)
    if mailbox.security == "starttls":
        client.starttls(ssl.create_default_context())
    client.login(mailbox.user, mailbox.password)
    return client


def fetch_unrecorded(mailbox: Mailbox, limit: int = 200) -> list[Fetched]:
    """Messages in the folder that we have not flagged as recorded, oldest first."""
    client = _connect(mailbox)
    try:
        client.select_folder(mailbox.folder, readonly=True)
        uids = sorted(client.search(["NOT", "KEYWORD", RECORDED.decode()]))[:limit]
        if not uids:
            return []
        sizes = client.fetch(uids, ["RFC822.SIZE"])
        small = [uid for uid in uids if sizes[uid][b"RFC822.SIZE"] <= mailbox.max_bytes]
        large = [uid for uid in uids if uid not in set(small)]
        fetched = []
        if small:
            for uid, data in client.fetch(small, ["BODY.PEEK[]"]).items():
                fetched.append(Fetched(uid, data[b"BODY[]"], sizes[uid][b"RFC822.SIZE"], False))
        if large:
            for uid, data in client.fetch(large, ["BODY.PEEK[HEADER]"]).items():
                fetched.append(Fetched(uid, data[b"BODY[HEADER]"], sizes[uid][b"RFC822.SIZE"], True))
        return sorted(fetched, key=lambda f: f.uid)
    finally:
        client.logout()


def mark_recorded(mailbox: Mailbox, uids: list[int]) -> None:
    if not uids:
        return
    client = _connect(mailbox)
    try:
        client.select_folder(mailbox.folder)
        client.add_flags(uids, [RECORDED])
        if mailbox.processed_folder:
            if not client.folder_exists(mailbox.processed_folder):
                client.create_folder(mailbox.processed_folder)
            if client.has_capability("MOVE"):
                client.move(uids, mailbox.processed_folder)
            else:
                client.copy(uids, mailbox.processed_folder)
                client.add_flags(uids, [b"\\Deleted"])
                client.uid_expunge(uids)
    finally:
        client.logout()


def wait_for_mail(mailbox: Mailbox, stop: threading.Event, on_new_mail: Callable[[], None], *,
                  renew_seconds: float = 25 * 60, check_seconds: float = 1.0) -> bool:
    """Sit in IMAP IDLE on the folder and call on_new_mail whenever the server announces a
    message, until `stop` is set. False at once when the server cannot IDLE (polling covers it).

    IDLE is renewed before the 29 minutes after which servers may drop it (RFC 2177);
    `stop` is looked at every check_seconds, so a worker shuts down promptly.
    """
    client = _connect(mailbox)
    try:
        if not client.has_capability("IDLE"):
            return False
        client.select_folder(mailbox.folder, readonly=True)
        while not stop.is_set():
            client.idle()
            renew_at = time.monotonic() + renew_seconds
            try:
                while not stop.is_set() and time.monotonic() < renew_at:
                    responses = client.idle_check(timeout=check_seconds)
                    if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                        on_new_mail()
            finally:
                client.idle_done()
        return True
    finally:
        try:
            client.logout()
        except Exception:  # the connection is already gone: nothing to close
            pass
