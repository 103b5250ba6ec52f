"""`guichet email parse`: a parsed email as the JSON line the CLI prints."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from channels.base import ParseError
from channels.email.parse import parse_email

MAX_FILE_BYTES = 50 * 1024 * 1024

FIELDS = ("from_address", "from_name", "subject", "text", "reply_text", "message_id", "in_reply_to",
          "references", "attachments", "auto_reply")


def parse_file(path: Path) -> dict[str, Any]:
    empty: dict[str, Any] = {name: None for name in FIELDS} | {"references": [], "attachments": [],
                                                               "auto_reply": False}
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ParseError(f"larger than {MAX_FILE_BYTES} bytes")
        parsed = parse_email(path.read_bytes())
    except (OSError, ParseError) as exc:
        return {"file": str(path), **empty, "error": f"{type(exc).__name__}: {exc}"}
    except Exception as exc:  # a parser bug must not stop the other files
        return {"file": str(path), **empty, "error": f"unexpected {type(exc).__name__}: {exc}"}
    data = asdict(parsed)
    return {"file": str(path), **{name: data[name] for name in FIELDS}, "error": None,
            "attachments": [{k: a[k] for k in ("filename", "content_type", "size")}
                            for a in data["attachments"]]}
