"""Reading the administration forms: text, numbers and choices out of a form, and a refused
service call turned into messages next to the fields (the form is shown again, as typed)."""
from __future__ import annotations

from typing import Any

from crm.errors import DomainError, InvalidInput


def text(form: Any, name: str, limit: int = 20_000) -> str:
    return str(form.get(name) or "").replace("\r\n", "\n").strip()[:limit]


def choices(form: Any, name: str) -> list[str]:
    return [str(v) for v in form.getall(name)] if name in form else []


def whole_number(form: Any, name: str, *, required: bool = False) -> int | None:
    """A whole number, None when left empty; InvalidInput naming the field otherwise."""
    value = text(form, name, 20)
    if not value:
        if required:
            raise InvalidInput(f"{name}: required", fields={name: "required"})
        return None
    if not value.isdigit():
        raise InvalidInput(f"{name}: a whole number", fields={name: "a whole number"})
    return int(value)


def field_errors(exc: DomainError) -> dict[str, str]:
    """The messages to show: next to each field the service named, else at the top of the form."""
    return dict(exc.fields) if exc.fields else {"form": exc.message}
