"""A real IMAP server for tests: Dovecot with a throwaway configuration in a temp dir.

Debian's `dovecot-imapd` is installed when missing (the suite runs as root here);
without it, and without root, the IMAP tests fail (CI) or skip (a developer's laptop).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from imapclient import IMAPClient

CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
log_path = {root}/dovecot.log
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def _dovecot() -> str:
    path = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if path:
        return path
    if os.geteuid() == 0:  # a fresh machine: its package lists may be empty too
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "dovecot-imapd"], check=False, env=env,
                       capture_output=True)
        if Path("/usr/sbin/dovecot").exists():
            return "/usr/sbin/dovecot"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("Dovecot (dovecot-imapd) is not installed and cannot be installed here")
    pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd)")
    raise AssertionError  # pragma: no cover


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ImapServer:
    port: int
    user: str = "guichet"
    password: str = "secret"

    def client(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        return client

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            client.append(folder, raw)
        finally:
            client.logout()

    def flags(self, folder: str = "INBOX") -> dict[int, tuple]:
        client = self.client()
        try:
            if not client.folder_exists(folder):
                return {}
            client.select_folder(folder, readonly=True)
            return {uid: data[b"FLAGS"] for uid, data in client.fetch(client.search(["ALL"]), ["FLAGS"]).items()}
        finally:
            client.logout()

    def mailbox_settings(self, **overrides) -> dict:
        return {"name": "accueil", "host": "127.0.0.1", "port": self.port, "security": "none",
                "user": self.user, "password": self.password, **overrides}


@contextmanager
def imap_server() -> Iterator[ImapServer]:
    """Dovecot's auth and mail processes run as unprivileged users: the throwaway directory
    must be traversable by them (pytest's tmp_path, 0700 root, is not)."""
    binary = _dovecot()
    port = _free_port()
    root = Path(tempfile.mkdtemp(prefix="guichet-dovecot-"))
    root.chmod(0o755)
    for folder in ("run", "state", "mail"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    shutil.chown(root / "mail", "mail", "mail")
    (root / "passwd").write_text("guichet:{PLAIN}secret\n")
    config = root / "dovecot.conf"
    config.write_text(CONFIG.format(root=root, port=port))
    process = subprocess.Popen([binary, "-c", str(config), "-F"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    server = ImapServer(port)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                server.client().logout()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                    raise RuntimeError(f"dovecot did not start: {process.stderr.read()!r} {log[-2000:]}")
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(root, ignore_errors=True)
