"""The raw inbound log: stored first, interpreted later, never dropped."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.columns import utcnow
from crm.errors import Conflict, NotFound
from crm.models import InboundEvent, InboundStatus


@dataclass(frozen=True)
class Recorded:
    event: InboundEvent
    created: bool  # False: the same channel + external id was recorded before


async def find_inbound(session: AsyncSession, channel: str, external_id: str) -> InboundEvent | None:
    return (
        await session.exec(
            select(InboundEvent).where(
                InboundEvent.channel == channel, InboundEvent.external_id == external_id
            )
        )
    ).first()


async def record_inbound(
    session: AsyncSession,
    *,
    channel: str,
    external_id: str,
    payload: bytes,
    reference: str | None = None,
) -> Recorded:
    """Store the raw payload once per channel + external id; a repeat returns the first one."""
    existing = await find_inbound(session, channel, external_id)
    if existing is not None:
        return Recorded(existing, created=False)
    event = InboundEvent(channel=channel, external_id=external_id, payload=payload, reference=reference)
    try:
        async with session.begin_nested():
            session.add(event)
    except IntegrityError:
        # Another request recorded the same id between our read and our write.
        existing = await find_inbound(session, channel, external_id)
        if existing is None:
            raise
        return Recorded(existing, created=False)
    return Recorded(event, created=True)


async def record_inbound_fast(connection: AsyncConnection, *, channel: str, external_id: str,
                              payload: bytes) -> tuple[int, bool]:
    """The same contract as record_inbound in one statement (INSERT … ON CONFLICT DO NOTHING
    RETURNING id), on a Core connection: for webhooks a provider is waiting on, where an ORM
    unit of work, a look-up and a savepoint cost more than the insert. On an autocommit
    connection the row is committed when this returns. Returns (event id, created)."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    table = InboundEvent.__table__  # type: ignore[attr-defined]
    statement = (
        insert(table)
        .values(channel=channel, external_id=external_id, payload=payload, status=InboundStatus.PENDING.value,
                attempts=0, received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(table.c.id)
    )
    event_id = (await connection.execute(statement)).scalar()
    if event_id is not None:
        return event_id, True
    # The conflict was with a committed row (PostgreSQL waits for a concurrent insert to end).
    existing = (await connection.execute(
        sa_select(table.c.id).where(table.c.channel == channel, table.c.external_id == external_id))).scalar_one()
    return existing, False


class DriverConnection(Protocol):
    """A PostgreSQL driver connection (asyncpg's): what record_inbound_returning needs of it."""

    async def fetch(self, query: str, *args: Any) -> list[Any]: ...


_INSERT_RETURNING = (
    "INSERT INTO inbound_event (channel, external_id, payload, status, attempts, received_at) "
    "SELECT $1, external_id, payload, $4, 0, $5 FROM unnest($2::text[], $3::bytea[]) AS t(external_id, payload) "
    "ON CONFLICT (channel, external_id) DO NOTHING RETURNING id, external_id")
_FIND_IDS = "SELECT id, external_id FROM inbound_event WHERE channel = $1 AND external_id = ANY($2::text[])"


async def record_inbound_returning(connection: DriverConnection, *, channel: str,
                                   events: Sequence[tuple[str, bytes]]) -> dict[str, tuple[int, bool]]:
    """record_inbound_fast's statement for many events at once (external id, payload; the ids
    distinct), on a PostgreSQL driver connection in autocommit: one INSERT, one commit, whatever
    their number (a SELECT more when some were recorded before). SQLAlchemy's Core costs ~0.6 ms
    of CPU per call above the driver alone, a quarter of a webhook answer. Returns external id →
    (event id, created)."""
    external_ids = [external_id for external_id, _ in events]
    rows = await connection.fetch(_INSERT_RETURNING, channel, external_ids, [payload for _, payload in events],
                                  InboundStatus.PENDING.value, utcnow())
    recorded = {row[1]: (row[0], True) for row in rows}
    if len(recorded) < len(external_ids):
        # Conflicts with committed rows (PostgreSQL waits for a concurrent insert to end, and this
        # statement's snapshot predates it: a second statement sees it).
        repeats = [external_id for external_id in external_ids if external_id not in recorded]
        recorded.update((row[1], (row[0], False)) for row in await connection.fetch(_FIND_IDS, channel, repeats))
    return recorded


async def get_inbound(session: AsyncSession, event_id: int, *, for_update: bool = False) -> InboundEvent:
    statement = select(InboundEvent).where(InboundEvent.id == event_id)
    if for_update:  # and refreshed: the identity map may hold an older copy
        statement = statement.with_for_update().execution_options(populate_existing=True)
    event = (await session.exec(statement)).first()
    if event is None:
        raise NotFound(f"no inbound event {event_id}")
    return event


async def lock_pending(session: AsyncSession, event_ids: list[int]) -> list[InboundEvent]:
    """The events among these that are still pending, locked, in id order; one that another
    transaction holds is skipped, not waited for (whoever holds it is processing it)."""
    if not event_ids:
        return []
    statement = select(InboundEvent).where(col(InboundEvent.id).in_(sorted(set(event_ids))),
                                           InboundEvent.status == InboundStatus.PENDING.value)
    statement = statement.order_by(col(InboundEvent.id)).with_for_update(skip_locked=True)
    return list((await session.exec(statement.execution_options(populate_existing=True))).all())


def mark_processed(event: InboundEvent, *, ticket_id: int, message_id: int) -> None:
    event.status = InboundStatus.PROCESSED.value
    event.ticket_id, event.message_id = ticket_id, message_id
    event.handled_at = utcnow()
    event.error = None


def mark_handled(event: InboundEvent) -> None:
    """Processed without a ticket (an SMS keyword such as STOP): its effect is recorded elsewhere."""
    event.status = InboundStatus.PROCESSED.value
    event.handled_at = utcnow()
    event.error = None


def mark_quarantined(event: InboundEvent, reason: str) -> None:
    """Keep the raw bytes, say why; a supervisor can replay it after a fix."""
    event.status = InboundStatus.QUARANTINED.value
    event.error = reason[:2000]
    event.handled_at = utcnow()


async def pending_inbound_ids(
    session: AsyncSession, *, older_than: timedelta = timedelta(0), now: datetime | None = None,
    limit: int = 1000,
) -> list[int]:
    cutoff = (now or utcnow()) - older_than
    return list(
        (
            await session.exec(
                select(InboundEvent.id)
                .where(
                    InboundEvent.status == InboundStatus.PENDING.value,
                    col(InboundEvent.received_at) <= cutoff,
                )
                .order_by(col(InboundEvent.id))
                .limit(limit)
            )
        ).all()
    )


async def reopen_for_replay(session: AsyncSession, event_id: int) -> InboundEvent:
    """Put a quarantined event back in the queue, after a fix; its raw bytes are untouched."""
    event = await get_inbound(session, event_id, for_update=True)
    if event.status != InboundStatus.QUARANTINED.value:
        raise Conflict(f"inbound event {event_id} is {event.status}, not quarantined")
    event.status, event.attempts, event.handled_at = InboundStatus.PENDING.value, 0, None
    return event


async def quarantined(session: AsyncSession, limit: int = 200) -> list[InboundEvent]:
    return list(
        (
            await session.exec(
                select(InboundEvent)
                .where(InboundEvent.status == InboundStatus.QUARANTINED.value)
                .order_by(col(InboundEvent.id).desc())
                .limit(limit)
            )
        ).all()
    )
