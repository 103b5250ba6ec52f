"""One unit of CLI work in a database transaction, with domain errors shown as messages."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from crm.errors import DomainError
from rich.console import Console
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import in_transaction
from app.settings import Settings, get_settings

T = TypeVar("T")
err = Console(stderr=True)


def in_session(work: Callable[[AsyncSession], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run one unit of work in a transaction; a domain error becomes a message and exit code 1."""
    settings = settings or get_settings()
    try:
        return asyncio.run(in_transaction(settings.database_url, work))
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
