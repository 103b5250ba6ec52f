"""Who asked for no more messages on a channel: recorded from STOP, lifted by START."""
from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm.columns import utcnow
from crm.models import OptOut


async def record_opt_out(session: AsyncSession, channel: str, address: str, *, source: str) -> OptOut:
    row = await session.get(OptOut, (channel, address), with_for_update=True)
    if row is None:
        row = OptOut(channel=channel, address=address, source=source[:255])
        session.add(row)
    elif row.lifted_at is not None:  # opted out again after a START
        row.opted_out_at, row.lifted_at, row.source = utcnow(), None, source[:255]
    await session.flush()
    return row


async def lift_opt_out(session: AsyncSession, channel: str, address: str) -> bool:
    """True when there was an opt-out to lift."""
    row = await session.get(OptOut, (channel, address), with_for_update=True)
    if row is None or row.lifted_at is not None:
        return False
    row.lifted_at = utcnow()
    await session.flush()
    return True


async def opted_out(session: AsyncSession, channel: str, addresses: list[str]) -> set[str]:
    """Which of these addresses may not be sent to on this channel."""
    rows = await session.exec(select(OptOut.address).where(
        OptOut.channel == channel, col(OptOut.address).in_(addresses), col(OptOut.lifted_at).is_(None)))
    return set(rows.all())
