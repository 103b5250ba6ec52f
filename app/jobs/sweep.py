"""Find work that was recorded but never finished (a crash, a lost enqueue) and ask for it again."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.jobs.send import enqueue_sends
from crm.columns import utcnow
from crm.inbound import pending_inbound_ids
from crm.tickets import unacknowledged_message_ids, unassigned_open_ticket_ids
from replies.dispatch import STALE_SENDING
from replies.notify import unnotified_changes
from replies.outbox import deliveries_to_send
from routing.categories import notify_steps_of

# How far back a lost notification is still worth sending: past a week, "your request is being
# handled" would be news from another time.
NOTIFY_LOOKBACK = timedelta(days=7)


async def sweep(ctx: dict[str, Any], grace_seconds: float | None = None) -> dict[str, int]:
    """Re-enqueue pending inbound events, unsent deliveries, unassigned tickets and status
    changes whose citizen was never told.

    `grace_seconds` leaves alone what is younger (its own job is probably on
    its way); at start-up nothing is on its way, so it is 0.
    """
    settings = ctx["settings"]
    grace = timedelta(seconds=settings.sweep_interval_seconds if grace_seconds is None else grace_seconds)
    stamp = int(utcnow().timestamp())
    async with ctx["sessionmaker"]() as session:
        inbound = await pending_inbound_ids(session, older_than=grace)
        deliveries = await deliveries_to_send(session, stale_after=STALE_SENDING, older_than=grace)
        unassigned = await unassigned_open_ticket_ids(session)
        unacknowledged = await unacknowledged_message_ids(session, older_than=grace)
        now = utcnow()

        async def steps_of(category_id: int | None) -> list[str]:
            return await notify_steps_of(session, category_id)

        unnotified = await unnotified_changes(session, since=now - NOTIFY_LOOKBACK, until=now - grace,
                                              notify_steps=steps_of)
    queue = ctx["queue"]
    for event_id in inbound:
        await queue.enqueue("process_inbound", event_id, job_id=f"process_inbound:{event_id}:sweep:{stamp}")
    await enqueue_sends(queue, deliveries, tag=f":sweep:{stamp}")
    for ticket_id in unassigned:
        await queue.enqueue("assign_ticket", ticket_id, job_id=f"assign_ticket:{ticket_id}:sweep:{stamp}")
    for ticket_id, message_id in unacknowledged:  # assignment first, then the acknowledgement
        await queue.enqueue("assign_ticket", ticket_id, message_id,
                            job_id=f"assign_ticket:{ticket_id}:{message_id}:sweep:{stamp}")
    for event_id in unnotified:
        await queue.enqueue("notify_status_change", event_id,
                            job_id=f"notify_status_change:{event_id}:sweep:{stamp}")
    await queue.enqueue("check_slas", job_id=f"check_slas:sweep:{stamp}")
    return {"inbound": len(inbound), "deliveries": len(deliveries), "unassigned": len(unassigned),
            "unacknowledged": len(unacknowledged), "notifications": len(unnotified)}
