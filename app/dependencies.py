"""Request-scoped providers: a database session and the job queue."""
from __future__ import annotations

from collections.abc import AsyncIterator

from litestar.datastructures import State
from sqlmodel.ext.asyncio.session import AsyncSession

from app.queue import JobQueue
from app.settings import Settings


async def provide_session(state: State) -> AsyncIterator[AsyncSession]:
    """Handlers commit explicitly (they own the transaction); anything uncommitted rolls back."""
    async with state.sessionmaker() as session:
        yield session


def provide_queue(state: State) -> JobQueue:
    return state.queue


def provide_settings(state: State) -> Settings:
    return state.settings
