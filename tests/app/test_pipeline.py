"""The inbound pipeline's guarantees: raw first, quarantine instead of loss, no doubles."""
from __future__ import annotations

import asyncio

from sqlmodel import func, select

from app.jobs import process_inbound
from app.registry import PARSERS
from crm.inbound import record_inbound
from crm.models import InboundEvent, Message, Ticket
from crm.tickets import reserve_reference
from tests.conftest import Stack


def job_context(stack: Stack) -> dict:
    """What a worker gives its jobs, sharing the running app's database and queue."""
    return {"sessionmaker": stack.app.state.sessionmaker, "settings": stack.settings,
            "queue": stack.app.state.queue, "parsers": PARSERS}


async def _record(stack: Stack, payload: bytes, external_id: str) -> int:
    async with stack.session() as session:
        recorded = await record_inbound(session, channel="webform", external_id=external_id,
                                        payload=payload)
        await session.commit()
    return recorded.event.id


async def test_unparseable_inbound_is_quarantined_with_its_raw_bytes(stack: Stack) -> None:
    raw = b'{"submission_id": "broken", "message": ""}\xff'
    event_id = await _record(stack, raw, "broken")
    await stack.app.state.queue.enqueue("process_inbound", event_id, job_id="p1")
    await stack.drain()
    async with stack.session() as session:
        event = await session.get(InboundEvent, event_id)
        tickets = (await session.exec(select(func.count()).select_from(Ticket))).one()
    assert event.status == "quarantined"
    assert event.payload == raw and "ParseError" in event.error
    assert tickets == 0


async def test_processing_twice_and_concurrently_gives_one_message(stack: Stack) -> None:
    accepted = await stack.post_request()
    await stack.drain()
    async with stack.session() as session:
        event = (await session.exec(select(InboundEvent))).one()
    ctx = job_context(stack)
    results = await asyncio.gather(*(process_inbound(ctx, event.id) for _ in range(3)))
    assert all(result.startswith("already") for result in results)
    await stack.drain()
    async with stack.session() as session:
        messages = (await session.exec(select(func.count()).select_from(Message)
                                       .where(Message.direction == "in"))).one()
    assert messages == 1
    ticket = await stack.ticket(accepted["reference"])
    assert [e["kind"] for e in ticket["timeline"]].count("created") == 1


async def test_concurrent_pending_event_is_ingested_once(stack: Stack) -> None:
    """Two workers pick the same fresh event at the same moment."""
    from channels import webform
    from crm.columns import utcnow

    payload = webform.encode({"name": "Sara", "email": "sara@example.org", "category": "voirie",
                              "message": "Lampe"}, submission_id="race", language="fr",
                             submitted_at=utcnow())
    event_id = await _record(stack, payload, "race")
    ctx = job_context(stack)
    results = await asyncio.gather(process_inbound(ctx, event_id), process_inbound(ctx, event_id))
    assert sorted(results)[-1] == "processed" and results.count("processed") == 1
    await stack.drain()
    async with stack.session() as session:
        tickets = (await session.exec(select(func.count()).select_from(Ticket))).one()
    assert tickets == 1


async def test_references_are_unique_under_concurrency(stack: Stack) -> None:
    async def one() -> str:
        async with stack.session() as session:
            reference = await reserve_reference(session)
            await session.commit()
            return reference

    references = await asyncio.gather(*(one() for _ in range(20)))
    assert len(set(references)) == 20
    numbers = sorted(int(r[-6:]) for r in references)
    assert numbers == list(range(numbers[0], numbers[0] + 20))


class LostQueue:
    """A queue that loses every job: the process died right after committing (no mock of
    our code: the jobs run for real, only the hand-off to the next job is dropped)."""

    def __init__(self) -> None:
        self.lost: list[str] = []

    async def enqueue(self, function: str, *args, job_id=None, defer_seconds=None) -> None:
        self.lost.append(function)


async def test_sweep_finishes_work_whose_hand_off_was_lost(stack: Stack) -> None:
    from channels import webform
    from crm.columns import utcnow
    from replies.models import Delivery

    payload = webform.encode({"name": "Hind", "email": "hind@example.org", "category": "social",
                              "message": "Aide"}, submission_id="lost", language="fr",
                             submitted_at=utcnow())
    event_id = await _record(stack, payload, "lost")
    dying = {**job_context(stack), "queue": LostQueue()}
    assert await process_inbound(dying, event_id) == "processed"
    # Taken in, assigned and acknowledged in one transaction: only the send was still to ask for.
    assert dying["queue"].lost == ["send_delivery"]
    async with stack.session() as session:
        event = await session.get(InboundEvent, event_id)
        ticket = await session.get(Ticket, event.ticket_id)
        assert ticket.assignee_id is not None
        # A message left awaiting its acknowledgement by an older version (assignment and
        # acknowledgement used to be separate jobs): the sweep must finish it too.
        older = Message(ticket_id=ticket.id, citizen_id=ticket.citizen_id, direction="in", channel="web",
                        external_id="older", text="Bonjour", meta={"reply_to": "hind@example.org"},
                        awaiting_acknowledgement=True)
        session.add(older)
        await session.commit()

    await stack.app.state.queue.enqueue("sweep", 0, job_id="sweep-now")
    await stack.drain()
    view = await stack.ticket(ticket.reference)
    kinds = [e["kind"] for e in view["timeline"]]
    assert kinds.count("assigned") == 1 and kinds.count("message_out") == 2
    async with stack.session() as session:
        states = (await session.exec(select(Delivery.state).where(Delivery.ticket_id == ticket.id))).all()
    assert sorted(states) == ["held", "held"]  # both sent (to the outbox: no SMTP here), once each
    # A second sweep finds nothing left to do.
    await stack.app.state.queue.enqueue("sweep", 0, job_id="sweep-again")
    await stack.drain()
    view = await stack.ticket(ticket.reference)
    assert [e["kind"] for e in view["timeline"]].count("message_out") == 2
