"""Turn a recorded raw inbound event into a citizen, a ticket and a message."""
from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError

from app.db import hold_loaded
from app.jobs.acknowledge import acknowledge_new_requests, queue_acknowledgement
from app.jobs.send import enqueue_sends
from app.queue import ArqQueue, enqueue_after_commit
from app.reply_context import help_context
from app.settings import attachment_policy, routing_config, threading_policy
from channels.base import ParseError
from crm.errors import DomainError
from crm.inbound import get_inbound, lock_pending, mark_handled, mark_processed, mark_quarantined
from crm.identity import lock_identities
from crm.columns import utcnow
from crm.intake import (
    Ingested,
    NewRequest,
    ingest_message,
    new_request,
    open_new_requests,
    sender_lock_keys,
    set_based_senders,
    store_new_requests,
)
from crm.language import known_language
from crm.models import ContactKind, InboundStatus, Message, Ticket, TicketEvent
from crm.normalise import normalise_phone
from crm.opt_outs import lift_opt_out, record_opt_out
from crm.reply_address import tokens_in
from crm.tickets import defer_events, find_inbound_message, insert_rows, latest_status_event, write_events
from crm.types import Channel, InboundMessage
from replies.dispatch import record_bounce
from replies.models import Step
from replies.outbox import opt_out_confirmation_key, queue_service_delivery
from replies.survey import parse_score, record_answer, surveyed_ticket
from replies.templates import TemplateCache, find_template, render
from routing.agents import agents_by_email, find_agent_by_email
from routing.assign import RosterCache, assign_new_tickets, previous_agents
from routing.assign import assign_ticket as assign
from routing.categories import category_by_slug
from routing.models import Agent, TicketRouting

log = logging.getLogger("guichet.jobs.inbound")


@dataclass
class Handled:
    """What became of one event, and the jobs to ask for once its transaction commits."""

    outcome: str
    after_commit: list[tuple[str, int, str]] = field(default_factory=list)  # (job, id, job id)
    processed: tuple[int, int] | None = None  # (ticket id, message id) for a batch to mark at its end


class Quarantine(Exception):
    """The event cannot be taken in as it is (parse or domain error): keep it raw, say why."""


async def process_inbound(ctx: dict[str, Any], event_id: int) -> str:
    """One event in a transaction of its own: the path every entry point and the sweep use, and
    the fallback of process_inbound_batch for an event a batch could not take in."""
    try:
        async with ctx["sessionmaker"]() as session:
            hold_loaded(session)
            event = await get_inbound(session, event_id, for_update=True)
            if event.status != InboundStatus.PENDING.value:
                return f"already {event.status}"
            timeline = defer_events(session)  # the event's timeline in one INSERT at the end
            try:
                handled = await _handle(session, ctx, event)
            except Quarantine as exc:
                write_events(session, [])  # its intake was rolled back: nothing happened
                mark_quarantined(event, str(exc))
                await session.commit()
                log.warning("inbound event %s quarantined: %s", event_id, str(exc).split(":", 1)[0])
                return "quarantined"
            write_events(session, timeline)
            await session.commit()
    except IntegrityError:
        # The message is stored already: by a concurrent run of this event, or from another
        # event carrying the same message (one mail fetched from two mailboxes).
        return await _settle_duplicate(ctx, event_id)
    except Exception as exc:
        await _count_failure(ctx, event_id, exc)
        raise
    await _enqueue_after_commit(ctx, handled)
    return handled.outcome


BATCH_SIZE = 100  # events per process_inbound_batch job: one transaction, one commit


async def process_inbound_batch(ctx: dict[str, Any], event_ids: list[int]) -> dict[str, int]:
    """Several pending events (a poll's worth) in one transaction: the same work as
    process_inbound for each, in a savepoint of its own, sharing what does not change from one
    message to the next (the agents, locked once in id order; templates; loaded rows).

    The common case, an email opening a new ticket for a sender nobody is known as or a citizen
    it needs not change (crm.intake.set_based_senders), goes set-based instead (_take_in_new: a
    few multi-row INSERTs for a run of them, the same rows as the per-event code); the events
    keep their order, so what comes after sees what came before.

    One bad message never fails the batch: a parse or domain error quarantines it as
    process_inbound would; any other failure (a duplicate, a deadlock, a bug) rolls back its
    savepoint only, leaves it pending and asks for its own process_inbound job, which settles
    duplicates and counts failures. Nothing is marked done before the one commit; an event
    another worker holds is skipped (its own job has it)."""
    outcomes: dict[str, int] = {}
    handled_all: list[Handled] = []
    fallback: list[int] = []
    async with ctx["sessionmaker"]() as session:
        hold_loaded(session)
        events = await lock_pending(session, event_ids)
        batch = Batch(parsed=_parse_all(ctx, events))
        region = ctx["settings"].default_region
        lock_keys = {event_id: sender_lock_keys(message, region) for event_id, message in batch.parsed.items()}
        locked = await _lock_senders(session, [key for keys in lock_keys.values() for key in keys])
        # New requests go in set-based only under the batch's identity locks.
        candidates = await _new_requests(session, ctx, batch, events) if locked else {}
        timeline: list = []  # the events' timeline events, written by one INSERT at the end
        taken_in: list = []  # and the events taken in, marked so by one UPDATE

        def done(handled: Handled) -> None:
            handled_all.append(handled)
            outcomes[handled.outcome] = outcomes.get(handled.outcome, 0) + 1

        async def one(event: Any) -> None:
            event_id = event.id  # read now: a rolled-back savepoint expires what it changed
            deferred = defer_events(session)  # dropped with the savepoint if it rolls back
            try:
                async with session.begin_nested():
                    handled = await _handle(session, ctx, event, batch)
                timeline.extend(deferred)
                if handled.processed:
                    taken_in.append((event, handled.processed))
            except Quarantine as exc:  # rolled back to its savepoint, and with it any lock it took
                batch.routing.forget()
                mark_quarantined(event, str(exc))
                log.warning("inbound event %s quarantined: %s", event_id, str(exc).split(":", 1)[0])
                handled = Handled("quarantined")
            except Exception as exc:  # rolled back to its savepoint: the event stays pending
                batch.routing.forget()
                log.warning("inbound event %s left to its own job: %s", event_id, type(exc).__name__)
                fallback.append(event_id)
                return
            done(handled)

        async def set_based(run: list[tuple[Any, NewRequest]]) -> None:
            """New requests, set-based; if that fails, one by one as any event."""
            if not run:
                return
            try:
                async with session.begin_nested():
                    delivery_ids = await _take_in_new(session, ctx, batch, [r for _, r in run])
            except Exception as exc:  # a duplicate message, a deadlock: each event on its own
                batch.routing.forget()
                log.warning("%d new requests of a batch taken in one by one: %s", len(run), type(exc).__name__)
                for event, _ in run:
                    await one(event)
                return
            for (event, r), delivery_id in zip(run, delivery_ids):
                batch.parsed.pop(event.id, None)
                taken_in.append((event, (r.ticket["id"], r.message_id)))
                done(Handled("processed", _send(delivery_id), processed=(r.ticket["id"], r.message_id)))

        async def run_of_new(run: list[tuple[Any, NewRequest]]) -> None:
            """Consecutive would-be new requests whose senders share nothing: those whose sender
            turns out to be unknown, or a citizen to take as it is, now that every event before
            them is in, go set-based; any other (a citizen to change, a duplicate to file), alone
            in its turn."""
            taken = {id(r) for r in await set_based_senders(session, [r for _, r in run], default_region=region)} \
                if run else set()
            waiting: list[tuple[Any, NewRequest]] = []
            for event, r in run:
                if id(r) in taken:
                    waiting.append((event, r))
                    continue
                await set_based(waiting)
                waiting = []
                await one(event)
            await set_based(waiting)

        run: list[tuple[Any, NewRequest]] = []  # would-be new requests, in order, sharing no identity lock
        run_keys: set[str] = set()
        for event in events:
            request = candidates.get(event.id)
            keys = set(lock_keys.get(event.id, ()))
            if request is None and run and await _may_pass(session, ctx, batch, event, keys, run, run_keys):
                await one(event)  # before the run waiting in front of it: nothing of theirs is its
                continue
            if request is None or keys & run_keys:  # what comes after sees what came before
                await run_of_new(run)
                run, run_keys = [], set()
            if request is None:
                await one(event)
                continue
            run.append((event, request))
            run_keys |= keys
        await run_of_new(run)
        for event, (ticket_id, message_id) in taken_in:
            mark_processed(event, ticket_id=ticket_id, message_id=message_id)
        write_events(session, timeline)
        await session.commit()
    await _enqueue_after_commit(ctx, *handled_all, Handled("fallback", [
        ("process_inbound", event_id, f"process_inbound:{event_id}:fallback") for event_id in fallback]))
    skipped = len(set(event_ids)) - len(events)
    return {**outcomes, **({"fallback": len(fallback)} if fallback else {}),
            **({"not pending": skipped} if skipped else {})}


async def enqueue_inbound(queue: Any, event_ids: list[int]) -> None:
    """Ask for new events to be processed: in batches of BATCH_SIZE (a job each)."""
    for start in range(0, len(event_ids), BATCH_SIZE):
        chunk = event_ids[start:start + BATCH_SIZE]
        await queue.enqueue("process_inbound_batch", chunk,
                            job_id=f"process_inbound_batch:{chunk[0]}-{chunk[-1]}:{len(chunk)}")


@dataclass
class Batch:
    """What the events of one batch share, valid for its transaction only."""

    routing: RosterCache = field(default_factory=RosterCache)
    templates: TemplateCache = field(default_factory=TemplateCache)
    agents: dict[str, Agent] | None = None  # by email: who may forward a citizen's mail in
    parsed: dict[int, InboundMessage] = field(default_factory=dict)  # by event id, parsed up front

    async def agent_by_email(self, session: Any, email: str) -> Agent | None:
        if self.agents is None:
            self.agents = await agents_by_email(session)
        return self.agents.get(email.strip().lower())


def _parse_all(ctx: dict[str, Any], events: list[Any]) -> dict[int, InboundMessage]:
    """The batch's events parsed once, up front (pure), so that their senders' identity locks
    can be taken together. One that does not parse is left out: _handle parses it again, and
    quarantines it or leaves it to its own job, as for any event."""
    parsed = {}
    for event in events:
        parser = ctx["parsers"].get(event.channel)
        try:
            if parser is not None:
                parsed[event.id] = parser.parse(event.payload)
        except Exception:  # _handle meets it again and decides
            continue
    return parsed


async def _lock_senders(session: Any, keys: list[str]) -> bool:
    """The identity locks of every sender of the batch (crm.intake.sender_lock_keys), in one
    statement instead of one per event. In a savepoint of its own: if it fails (a deadlock with
    another batch), each event takes its own locks as it would alone (and none goes set-based)."""
    try:
        async with session.begin_nested():
            await lock_identities(session, keys)
    except DBAPIError as exc:
        log.warning("identity locks of a batch not taken together: %s", type(exc).__name__)
        return False
    return True


async def _new_requests(session: Any, ctx: dict[str, Any], batch: Batch, events: list[Any]) -> dict[int, NewRequest]:
    """The batch's events that may open a new ticket with nothing else to decide
    (crm.intake.new_request), by event id; whether their sender allows it is decided in their
    turn (set_based_senders). Left to the per-event path: a message another event of the batch
    carries too (a duplicate), an agent's address (a forward to unwrap)."""
    settings = ctx["settings"]
    region, policy = settings.default_region, threading_policy(settings)
    carried: dict[tuple[str, str], int] = {}
    for message in batch.parsed.values():
        carried[(message.channel.value, message.external_id)] = carried.get((message.channel.value,
                                                                           message.external_id), 0) + 1
    candidates = {}
    for event in events:
        message = batch.parsed.get(event.id)
        request = new_request(event, message, default_region=region, threading=policy) if message else None
        if request is None or carried[(message.channel.value, message.external_id)] > 1:
            continue
        if settings.agent_forwards and await batch.agent_by_email(session, message.sender.email) is not None:
            continue
        candidates[event.id] = request
    return candidates


async def _may_pass(session: Any, ctx: dict[str, Any], batch: Batch, event: Any, keys: set[str],
                    run: list[tuple[Any, NewRequest]], run_keys: set[str]) -> bool:
    """Whether an event for the per-event path may be taken in before the run of new requests
    waiting in front of it, rather than end the run (a run costs a dozen statements whatever its
    length, and a mailbox alternates replies and new requests): it shares no identity lock with
    them (so no sender, no name, no identifier in common), answers none of their messages, and
    is not an agent's forward (filed as someone else's than its sender). Tickets then get their
    references and agents in another order than their events; nothing else differs."""
    message = batch.parsed.get(event.id)
    if message is None or not keys or keys & run_keys:
        return False
    chain = {message.metadata.get("in_reply_to"), *(message.metadata.get("references") or [])}
    if chain & {r.message.metadata.get("message_id") for _, r in run}:
        return False
    return not (ctx["settings"].agent_forwards and message.sender.email
                and await batch.agent_by_email(session, message.sender.email) is not None)


async def _take_in_new(session: Any, ctx: dict[str, Any], batch: Batch, requests: list[NewRequest]) -> list[int | None]:
    """What _handle does for each of these new requests, set-based: citizens, tickets, messages,
    assignments, routing rows, acknowledgements and timelines by a few multi-row INSERTs. The
    acknowledgements' delivery ids."""
    settings = ctx["settings"]
    await open_new_requests(session, requests, now=utcnow(), default_region=settings.default_region)
    previous = await previous_agents(session, [r.citizen_id for r in requests if r.known])
    assigned = await assign_new_tickets(session, [r.ticket for r in requests], routing_config(settings), batch.routing,
                                        previous=[previous.get(r.citizen_id) for r in requests])
    for r, (_, events) in zip(requests, assigned):
        r.events += events
    await store_new_requests(session, requests)
    routing_rows = [routing | {"ticket_id": r.ticket["id"]} for r, (routing, _) in zip(requests, assigned)]
    await insert_rows(session, TicketRouting.__table__, routing_rows, returning=False)
    delivery_ids = await acknowledge_new_requests(session, settings, requests, routing_rows, batch.routing,
                                                  batch.templates)
    await insert_rows(session, TicketEvent.__table__, [e for r in requests for e in r.events], returning=False)
    return delivery_ids


async def _handle(session: Any, ctx: dict[str, Any], event: Any, batch: Batch | None = None) -> Handled:
    """Take one pending event in, in the caller's transaction (not committed here)."""
    settings = ctx["settings"]
    parser = ctx["parsers"].get(event.channel)
    try:
        if parser is None:
            raise ParseError(f"no parser for channel {event.channel}")
        parsed = batch.parsed.pop(event.id, None) if batch else None
        message = await _filed_for_whom(session, parser, event.payload, parsed or parser.parse(event.payload),
                                        enabled=settings.agent_forwards,
                                        find_agent=batch.agent_by_email if batch else find_agent_by_email)
        if message.metadata.get("keyword") in OPT_OUT_KEYWORDS:
            outcome, answer_id = await _opt_out_keyword(session, settings, event, message)
            return Handled(outcome, _send(answer_id))
        if message.metadata.get("keyword") == "help":
            help_id = await _help_keyword(session, settings, event, message)
            return Handled("keyword help", _send(help_id))
        if await _survey_answer(session, settings, event, message):
            if batch is not None:  # the answer may change its ticket, and so an agent's load
                batch.routing.recount()
            return Handled("survey answer")
        if await _bounce(session, settings, event, message):
            return Handled("bounce")
        category = await category_by_slug(session, message.category) if message.category else None
        # A batch has a savepoint per event already; alone, the intake gets its own so that a
        # quarantine keeps nothing of it.
        async with session.begin_nested() if batch is None else nullcontext():
            ingested = await ingest_message(
                session, event, message,
                category_id=category.id if category else None,
                priority=category.priority if category else "normal",
                default_region=settings.default_region,
                threading=threading_policy(settings),
                attachment_policy=attachment_policy(settings),
                acknowledged_here=True,
            )
    except (ParseError, DomainError) as exc:
        raise Quarantine(f"{type(exc).__name__}: {exc}") from exc
    if batch is None:  # a batch marks its events at its end: one UPDATE for all
        mark_processed(event, ticket_id=ingested.ticket_id, message_id=ingested.message_id)
    if batch is not None and not ingested.new_ticket:  # a reopened ticket counts in its agent's load again
        batch.routing.recount()
    # Resolved at the desk: the citizen may still be told (the survey), as for any status change.
    resolved_here = await _resolved_on_the_spot(session, ingested, message)
    # Assignment and acknowledgement in the same transaction: a request is never
    # half-taken-in, and one commit instead of three. Their own jobs (assign_ticket,
    # acknowledge_message) remain the sweep's way to finish older work.
    await assign(session, ingested.ticket_id, routing_config(settings),
                 roster=batch.routing if batch else None, new_ticket=ingested.new_ticket,
                 new_citizen=ingested.new_citizen)
    delivery_id = await _acknowledge_if_awaited(session, settings, ingested,
                                                batch.templates if batch else None)
    handled = Handled("processed", _send(delivery_id), processed=(ingested.ticket_id, ingested.message_id))
    if resolved_here is not None:
        handled.after_commit.append(("notify_status_change", resolved_here, f"notify_status_change:{resolved_here}"))
    if message.metadata.get("media"):  # MMS: fetched apart, so a slow download holds nothing up
        handled.after_commit.append(("fetch_sms_media", ingested.message_id,
                                     f"fetch_sms_media:{ingested.message_id}"))
    return handled


def _send(delivery_id: int | None) -> list[tuple[str, int, str]]:
    return [] if delivery_id is None else [("send_delivery", delivery_id, f"send_delivery:{delivery_id}")]


async def _enqueue_after_commit(ctx: dict[str, Any], *handled_all: Handled) -> None:
    """The jobs these events asked for; on Redis, those of one function in one round trip. A
    batch's acknowledgements go out as one send_deliveries job per hundred, not a job each."""
    queue = ctx["queue"]
    jobs: dict[str, list[tuple[tuple[Any, ...], str]]] = {}
    for handled in handled_all:
        for function, record_id, job_id in handled.after_commit:
            if function == "notify_status_change":  # the status change is committed: never fail for it
                await enqueue_after_commit(queue, function, record_id)
            else:
                jobs.setdefault(function, []).append(((record_id,), job_id))
    await enqueue_sends(queue, [args[0] for args, _ in jobs.pop("send_delivery", [])])
    for function, asked in jobs.items():
        if isinstance(queue, ArqQueue):
            await queue.enqueue_many(function, asked)
        else:
            for args, job_id in asked:
                await queue.enqueue(function, *args, job_id=job_id)


OPT_OUT_KEYWORDS = {"stop", "start"}


async def _opt_out_keyword(session: Any, settings: Any, event: Any,
                           message: InboundMessage) -> tuple[str, int | None]:
    """STOP / START: the number's consent changes; no ticket for it. STOP is confirmed (the
    opt-out confirmation template, the one message the opt-out lets through). The outcome and
    the confirmation's delivery id."""
    number = normalise_phone(message.sender.phone or "", settings.default_region)
    mark_handled(event)
    keyword = message.metadata["keyword"]
    if keyword != "stop":
        await lift_opt_out(session, message.channel.value, number)
        return f"keyword {keyword}", None
    await record_opt_out(session, message.channel.value, number, source=f"SMS {event.external_id}")
    delivery_id = await _service_answer(session, settings, event, message, number, Step.OPT_OUT_CONFIRMATION,
                                        opt_out_confirmation_key(event.id))
    return f"keyword {keyword}", delivery_id


async def _service_answer(session: Any, settings: Any, event: Any, message: InboundMessage, number: str,
                          step: Step, key: str) -> int | None:
    """An answer about the service to a number, on no ticket, in the language we know for that
    number (else the default). The delivery id; None without a template."""
    language = await known_language(session, ContactKind.PHONE.value, number) or settings.default_language
    template = await find_template(session, step=step.value, channel=message.channel.value, category_id=None,
                                   language=language, default_language=settings.default_language)
    if template is None:
        log.warning("inbound event %s: no %s template for %s", event.id, step.value, message.channel.value)
        return None
    delivery, _ = await queue_service_delivery(session, channel=message.channel.value, to=number,
                                               dedupe_key=key, rendered=render(template, help_context(settings)))
    return delivery.id


async def _help_keyword(session: Any, settings: Any, event: Any, message: InboundMessage) -> int | None:
    """HELP / AIDE: the help template, sent to that number on no ticket (it is about the service,
    not a request, and the number may have none). The delivery id; None without a template."""
    number = normalise_phone(message.sender.phone or "", settings.default_region)
    mark_handled(event)
    return await _service_answer(session, settings, event, message, number, Step.HELP, f"help:{event.id}")


async def _survey_answer(session: Any, settings: Any, event: Any, message: InboundMessage) -> bool:
    """An SMS that is only a score ("4", "4/5", "⭐⭐⭐⭐"), from a number we sent a survey to
    within the window: the survey's answer, not a new request. True when it was one."""
    if message.channel is not Channel.SMS or not message.sender.phone:
        return False
    score = parse_score(message.text)
    if score is None:
        return False
    number = normalise_phone(message.sender.phone, settings.default_region)
    ticket_id = await surveyed_ticket(session, number, within=timedelta(days=settings.survey_answer_days))
    if ticket_id is None:
        return False
    await record_answer(session, ticket_id, score, channel=Channel.SMS.value)
    mark_handled(event)
    event.ticket_id = ticket_id
    return True


async def _bounce(session: Any, settings: Any, event: Any, message: InboundMessage) -> bool:
    """A DSN saying one of our mails failed for good: that delivery failed and the next channel
    proposed, on its ticket; no message from "mailer-daemon" on any ticket. True when it was one
    of ours (else it goes on as an auto-reply: kept, never answered)."""
    bounce = message.metadata.get("bounce")
    if not bounce or not bounce.get("permanent"):
        return False
    ids = [i for i in (bounce.get("original_message_id"), message.metadata.get("in_reply_to"),
                       *(message.metadata.get("references") or [])) if i]
    addresses = [*bounce.get("original_addresses", []), *(message.metadata.get("recipients") or [])]
    delivery = await record_bounce(session, message_ids=ids, recipient=bounce.get("recipient"),
                                   tokens=tokens_in(addresses, settings.reply_address) if settings.reply_address
                                   else [], reason=bounce["reason"])
    if delivery is None:
        return False
    mark_handled(event)
    event.ticket_id = delivery.ticket_id
    return True


async def _resolved_on_the_spot(session: Any, ingested: Ingested, message: InboundMessage) -> int | None:
    """The status change's event id of a request resolved at the desk as it was logged."""
    if not (ingested.new_ticket and message.metadata.get("resolved_on_the_spot")):
        return None
    change = await latest_status_event(session, ingested.ticket_id)
    return change.id if change is not None and change.data.get("resolved_on_the_spot") else None


async def _acknowledge_if_awaited(session: Any, settings: Any, ingested: Ingested,
                                  templates: TemplateCache | None = None) -> int | None:
    if not ingested.awaits_acknowledgement:  # stored as decided already (acknowledged_here)
        return None
    message = await session.get(Message, ingested.message_id)
    ticket = await session.get(Ticket, ingested.ticket_id)  # locked by the assignment
    return await queue_acknowledgement(session, settings, ticket, message, new_message=True,
                                       find=templates.find if templates else find_template)


async def _filed_for_whom(session: Any, parser: Any, payload: bytes, message: InboundMessage, *,
                          enabled: bool, find_agent: Any = find_agent_by_email) -> InboundMessage:
    """An agent forwarding a citizen's mail from their own mailbox files it as the citizen's.
    Only agents: anyone else forwarding something stays the author of what they send."""
    unwrap = getattr(parser, "forwarded_original", None)
    if not enabled or unwrap is None or not message.sender.email:
        return message
    agent = await find_agent(session, message.sender.email)
    if agent is None or not agent.active:
        return message
    return unwrap(payload, message) or message


async def _count_failure(ctx: dict[str, Any], event_id: int, exc: Exception) -> None:
    """An unexpected failure: try again later, quarantine after too many."""
    async with ctx["sessionmaker"]() as session:
        event = await get_inbound(session, event_id, for_update=True)
        if event.status != InboundStatus.PENDING.value:
            return
        event.attempts += 1
        event.error = f"{type(exc).__name__}: {exc}"[:2000]
        if event.attempts >= ctx["settings"].inbound_max_attempts:
            mark_quarantined(event, f"failed {event.attempts} times: {event.error}")
        await session.commit()


async def _settle_duplicate(ctx: dict[str, Any], event_id: int) -> str:
    async with ctx["sessionmaker"]() as session:
        event = await get_inbound(session, event_id, for_update=True)
        if event.status != InboundStatus.PENDING.value:
            return "processed concurrently"
        message = ctx["parsers"][event.channel].parse(event.payload)
        existing = await find_inbound_message(session, message.channel.value, message.external_id)
        if existing is None:  # not a duplicate after all: let the sweep try again
            return "retry later"
        mark_processed(event, ticket_id=existing.ticket_id, message_id=existing.id)
        event.error = f"duplicate of message {existing.id}"
        await session.commit()
    log.info("inbound event %s duplicates a stored message", event_id)
    return "duplicate"
