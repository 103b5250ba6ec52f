"""Plus-addressed reply addresses (`guichet+<token>@town.example`), pure.

Each ticket has an unguessable token; answers we send carry it in Reply-To, so
the citizen's reply finds its ticket even when their mail client dropped the
In-Reply-To/References headers and the subject was rewritten.
"""
from __future__ import annotations

import re
import secrets

TOKEN = re.compile(r"^[0-9a-f]{20}$")


def new_token() -> str:
    # Lowercase hex: some mail servers lowercase the local part, none uppercase it.
    return secrets.token_hex(10)


def plus_address(base: str, token: str) -> str:
    """`guichet@town.example` + token -> `guichet+token@town.example`."""
    local, _, domain = base.rpartition("@")
    return f"{local}+{token}@{domain}"


def tokens_in(recipients: list[str], base: str) -> list[str]:
    """Tokens found in recipient addresses of the form `<base local>+<token>@<base domain>`."""
    local, _, domain = base.lower().rpartition("@")
    found = []
    for address in recipients:
        their_local, _, their_domain = address.strip().lower().rpartition("@")
        head, plus, token = their_local.partition("+")
        if plus and head == local and their_domain == domain and TOKEN.match(token):
            found.append(token)
    return list(dict.fromkeys(found))
