"""`guichet demo`'s data set: a few hundred citizens and their requests over the last six weeks.

Every request goes in through the door a real one uses (the web form's and the front desk's
services, a raw email, a Twilio webhook body) and through the real pipeline (identity, threading,
routing, acknowledgements in the outbox, the timeline); agents answer, note, and change statuses
with the services the pages call. The story is played in date order in a few seconds, each step
stamped on a clock (DemoClock); afterwards every timestamp written while a step ran is moved to
that step's date, the SLA due times are recomputed from the new dates and the SLA watch runs, so
queues, SLAs, backlog age and statistics have a past.

Seeded random: the same citizens, texts and fates every time (dates are relative to today). Only
an empty database gets it: with tickets already there it says so and adds nothing.
"""
from __future__ import annotations

import bisect
import random
import time as clock_time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, event, func, update
from sqlalchemy import select as core_select
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import demo_corpus as corpus
from app.agent_reply import ReplyIn, send_reply
from app.email_ingest import pipeline_in_process
from app.frontdesk import ContactIn, submit_contact
from app.intake import RequestIn, submit_request
from app.jobs.inbound import process_inbound
from app.seeds import AGENTS, DEMO_PASSWORD, MORE_AGENTS, seed_demo_agents, seed_reference_data
from app.settings import Settings, attachment_policy, routing_config
from app.status_change import change_status_and_follow_up
from app.tracking import display_code, tracking_code
from app.web.sessions import load_secret_key
from app.webhooks import record_twilio_sms
from channels.base import ChannelError
from channels.email import inbound as email_inbound
from crm import tickets
from crm.columns import UTCDateTime, utcnow
from crm.errors import DomainError
from crm.inbound import get_inbound, record_inbound
from crm.models import Citizen, InboundEvent, Ticket
from crm.identity import IdentityPolicy
from crm.identity_score import compare
from crm.normalise import normalise_phone
from crm.person import IdentityRecord, person_from_record
from crm.types import Channel, OutboundMessage
from replies.survey import record_answer
from routing.agents import get_agent_by_email
from routing.assign import ticket_context
from routing.models import Agent
from routing.sla import SlaTargets, due_times
from routing.sla_watch import check_slas
from routing.supervision import set_presence

SEED = 2026
DAYS = 42  # how far back the story starts
TICKETS_PER_CITIZEN = 4 / 3
SUPERVISOR = "claire.dubois@demo.guichet.fr"
FRONT_DESK = ("sophie.martin@demo.guichet.fr", "yasmine.cherkaoui@demo.guichet.fr")
AWAY = "mehdi.khelifi@demo.guichet.fr"  # on leave for the last days: the board shows one agent away
# The administrator configures; without a category a request may go to anyone on duty, so he is
# signed off the queue (offline) from the start.
OFF_QUEUE = "marc.lefevre@demo.guichet.fr"
TOWN_HALL = "contact@mairie.example.org"
TWILIO_NUMBER = "+33757000000"
# How requests come in; the three last are logged by the front desk.
CHANNELS = [("email", 28), ("sms", 18), ("webform", 22), ("phone", 14), ("counter", 11), ("letter", 7)]
CATEGORIES = [("etat_civil", 30), ("voirie", 25), ("urbanisme", 15), ("social", 15), ("autre", 15)]
LANGUAGES = [("fr", 70), ("ar", 16), ("en", 14)]
# (name as the citizen first gave it, as their twin record gives it): the duplicates review queue.
TWINS = 4


@dataclass(frozen=True)
class Person:
    name: str
    language: str
    email: str | None
    phone: str | None
    street: str
    postcode: str
    city: str


@dataclass
class Story:
    """One request's life: how it comes in, and what happens to it."""

    n: int
    person: Person
    channel: str
    category: str
    language: str
    subject: str
    text: str
    opened: datetime
    # assigned, in_progress, waiting, resolved, closed: what the agents do with it. Whether it is
    # assigned at all is the router's business: at peak, agents at capacity leave some waiting.
    fate: str
    reference: str | None = None
    dead_letter: bool = False


@dataclass(frozen=True)
class Step:
    at: datetime
    order: int
    kind: str
    story: Story | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class DemoReport:
    seeded: bool  # False: the data was there already (or the database holds other tickets)
    message: str
    citizens: int
    tickets: int
    seconds: float
    logins: list[tuple[str, str, str]]  # email, role, name
    password: str
    tracking: list[tuple[str, str, str]]  # reference, verification code, status


class DemoClock:
    """Real time -> story time: each step's rows get the step's date plus the seconds it took."""

    def __init__(self) -> None:
        self.real: list[datetime] = []
        self.story: list[datetime] = []

    def at(self, when: datetime) -> None:
        self.real.append(utcnow())
        self.story.append(when)

    def shift(self, value: datetime) -> datetime:
        k = bisect.bisect_right(self.real, value) - 1
        return value if k < 0 else self.story[k] + (value - self.real[k])


# --- the plan (pure) ---------------------------------------------------------------------------

def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum() or c in ".-")


# Mobile numbers as people write them: French (06, 07 5x to 07 8x), Moroccan, Algerian.
MOBILE_PLANS = {"FR": ("", ["06", "06", "06", "075", "076", "077", "078"], 10),
                "MA": ("+212 ", ["6", "7"], 9), "DZ": ("+213 ", ["5", "6", "7"], 9)}


def _mobile(rng: random.Random, country: str = "FR") -> str:
    """A valid mobile number of that country's plan (some prefixes are not: 069x is overseas)."""
    country_code, prefixes, length = MOBILE_PLANS[country]
    while True:
        prefix = rng.choice(prefixes)
        digits = prefix + f"{rng.randrange(10 ** (length - len(prefix))):0{length - len(prefix)}d}"
        try:
            normalise_phone(country_code + digits, "FR")
            break
        except DomainError:
            continue
    pairs = " ".join(digits[i:i + 2] for i in range(length % 2, length, 2))
    return country_code + (digits[0] + " " + pairs if length % 2 else pairs)


def make_people(rng: random.Random, count: int) -> list[Person]:
    people, seen = [], set()
    for _ in range(count):
        maghreb = rng.random() < 0.45
        female = rng.random() < 0.55
        firsts = (corpus.FIRST_MAGHREB_F if female else corpus.FIRST_MAGHREB_M) if maghreb else \
            (corpus.FIRST_FR_F if female else corpus.FIRST_FR_M)
        first, last = rng.choice(firsts), rng.choice(corpus.LAST_MAGHREB if maghreb else corpus.LAST_FR)
        language = "ar" if maghreb and rng.random() < 0.35 else _pick(rng, [("fr", 82), ("en", 18)])
        local = rng.choice([f"{first}.{last}", f"{first[0]}.{last}", f"{first}{last}{rng.randrange(60, 99)}"])
        email = f"{_ascii(local.replace(' ', ''))}@{rng.choice(corpus.EMAIL_DOMAINS)}"
        while email in seen:
            email = email.replace("@", f"{rng.randrange(10)}@")
        seen.add(email)
        postcode, city = rng.choice(corpus.TOWNS)
        has = rng.random()  # email only, both, or phone only
        country = rng.choice(["MA", "DZ"]) if maghreb and rng.random() < 0.12 else "FR"
        people.append(Person(
            name=f"{first} {last}", language=language, email=email if has < 0.85 else None,
            phone=_mobile(rng, country) if has > 0.3 else None,
            street=f"{rng.randrange(1, 120)} {rng.choice(corpus.STREETS)}", postcode=postcode, city=city))
    return people


def _fate(rng: random.Random, age_days: float) -> str:
    if age_days > 12:
        table = [("closed", 50), ("resolved", 40), ("waiting", 5), ("in_progress", 5)]
    elif age_days > 4:
        table = [("resolved", 35), ("closed", 10), ("waiting", 20), ("in_progress", 20), ("assigned", 15)]
    elif age_days > 0.5:
        table = [("assigned", 35), ("in_progress", 25), ("waiting", 15), ("resolved", 25)]
    else:
        table = [("assigned", 80), ("in_progress", 20)]
    return _pick(rng, table)


def _opened(rng: random.Random, now: datetime, channel: str, zone: ZoneInfo) -> datetime:
    """Recent days weigh more; the front desk logs in office hours, citizens write at any hour."""
    age = DAYS * rng.random() ** 1.7
    local = (now - timedelta(days=age)).astimezone(zone)
    if channel in ("phone", "counter", "letter"):
        while local.weekday() >= 5:
            local -= timedelta(days=1)
        local = local.replace(hour=rng.randrange(9, 17), minute=rng.randrange(60))
    else:
        local = local.replace(hour=rng.choice([7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22]),
                              minute=rng.randrange(60))
    opened = local.astimezone(UTC)
    return min(opened, now - timedelta(minutes=rng.randrange(5, 90)))


def _office(after: datetime, rng: random.Random, zone: ZoneInfo, hours: float) -> datetime:
    """`hours` later, moved into office hours (a weekday, 9:00-17:00 local) when it falls outside."""
    local = (after + timedelta(hours=hours)).astimezone(zone)
    if local.hour >= 17:
        local = (local + timedelta(days=1)).replace(hour=9, minute=rng.randrange(60))
    elif local.hour < 9:
        local = local.replace(hour=9, minute=rng.randrange(60))
    while local.weekday() >= 5:
        local += timedelta(days=1)
    return local.astimezone(UTC)


def make_stories(rng: random.Random, people: list[Person], count: int, now: datetime,
                 zone: ZoneInfo) -> list[Story]:
    stories = []
    for n in range(count):
        person = people[n] if n < len(people) else rng.choice(people)  # everyone once, some again
        channel = CHANNELS[n][0] if n < len(CHANNELS) else _pick(rng, CHANNELS)
        if channel == "sms" and not person.phone:
            channel = "email"
        if channel == "email" and not person.email:
            channel = "sms"
        category = _pick(rng, CATEGORIES)
        language = person.language if rng.random() < 0.9 else _pick(rng, LANGUAGES)
        subject, text = rng.choice(corpus.REQUESTS[category])[language]
        opened = _opened(rng, now, channel, zone)
        stories.append(Story(n, person, channel, category, language, subject,
                             text.format(street=person.street), opened,
                             _fate(rng, (now - opened) / timedelta(days=1))))
    return stories


def _misspelt(name: str, phone: str) -> str | None:
    """The name as a clerk might mistype it, such that with the same phone the resolver is unsure
    (between its review and match thresholds); None when no small slip does that."""
    first, _, last = name.partition(" ")
    policy = IdentityPolicy()
    for i in range(1, len(last) - 1):
        for variant in (last[:i] + last[i + 1] + last[i] + last[i + 2:], last[:i] + last[i + 1:]):
            if " " in variant.strip() or variant == last:
                continue
            score = compare(person_from_record(IdentityRecord(full_name=f"{first} {variant}", phone=phone),
                                               default_region="FR"),
                            person_from_record(IdentityRecord(full_name=name, phone=phone),
                                               default_region="FR")).score
            if policy.review_threshold <= score < policy.match_threshold:
                return f"{first} {variant}"
    return None


def make_twins(rng: random.Random, stories: list[Story], now: datetime) -> list[Story]:
    """A few citizens who call again and whose name the desk mistypes: same phone, a name one slip
    away, so the resolver cannot be sure and the pair waits in the duplicates review queue."""
    twins: list[Story] = []
    for original in stories:
        person = original.person
        if len(twins) == TWINS or original.channel == "sms" or not person.phone:
            continue
        name = _misspelt(person.name, person.phone)
        if name is None:
            continue
        subject, text = rng.choice(corpus.REQUESTS["autre"])[original.language]
        opened = min(original.opened + timedelta(days=rng.uniform(1, 5)), now - timedelta(hours=3))
        twin = Person(name, person.language, None, _e164(person.phone), person.street, person.postcode,
                      person.city)
        twins.append(Story(len(stories) + len(twins), twin, "phone", "autre", original.language, subject,
                           text.format(street=person.street), opened, "assigned"))
    return twins


def make_steps(rng: random.Random, stories: list[Story], now: datetime, zone: ZoneInfo) -> list[Step]:
    """Each story's steps at their dates; steps that would fall in the future are left out."""
    steps: list[Step] = []

    def add(at: datetime, kind: str, story: Story | None = None, **extra: Any) -> datetime:
        if at < now - timedelta(minutes=2):
            steps.append(Step(at, len(steps), kind, story, extra))
        return at

    for story in stories:
        add(story.opened, "open", story)
        if story.fate == "assigned":
            if rng.random() < 0.15:
                add(_office(story.opened, rng, zone, rng.uniform(0.5, 4)), "note", story)
            continue
        first = _office(story.opened, rng, zone, rng.uniform(0.5, 20))
        if story.fate == "in_progress":
            add(first, "reply", story, text=corpus.IN_PROGRESS, status="open")
            if rng.random() < 0.4:
                add(first + timedelta(minutes=3), "note", story)
            if rng.random() < 0.3:
                add(first + timedelta(hours=rng.uniform(2, 30)), "follow_up", story, which=0)
            continue
        add(first, "reply", story, text=corpus.ASKS, status="pending")
        if story.fate == "waiting":
            continue
        answered = add(first + timedelta(hours=rng.uniform(1, 48)), "follow_up", story, which=1)
        if rng.random() < 0.5:
            add(_office(answered, rng, zone, 0.5), "note", story)
        done = add(_office(answered, rng, zone, rng.uniform(1, 40)), "reply", story, text=corpus.ANSWERS,
                   status="resolved")
        if rng.random() < 0.55:
            add(done + timedelta(hours=rng.uniform(0.5, 30)), "survey", story, score=_pick(
                rng, [("5", 40), ("4", 30), ("3", 15), ("2", 8), ("1", 7)]))
        if story.fate == "closed":
            add(_office(done, rng, zone, rng.uniform(24, 96)), "status", story, status="closed")
    return sorted(steps, key=lambda s: (s.at, s.order))


# --- what each step sends through the pipeline -------------------------------------------------

def _email(story: Story, *, text: str, subject: str, message_id: str, at: datetime,
           in_reply_to: str | None = None) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"{story.person.name} <{story.person.email}>"
    mail["To"] = TOWN_HALL
    mail["Subject"] = subject
    mail["Date"] = format_datetime(at)
    mail["Message-ID"] = message_id
    if in_reply_to:
        mail["In-Reply-To"] = mail["References"] = in_reply_to
    mail.set_content(text)
    return mail.as_bytes()


def _twilio_body(sid: str, sender: str | None, text: str) -> bytes:
    fields = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "ACdemo", "To": TWILIO_NUMBER, "Body": text,
              "NumMedia": "0", **({"From": sender, "FromCountry": "FR"} if sender else {})}
    return urlencode(fields).encode()


def _e164(phone: str) -> str:
    """As Twilio writes the sender: +33612345678."""
    return normalise_phone(phone, "FR")


class RefusingRelay:
    """The mail relay of the one dead letter: it refuses the address for good, as a real one
    answers 550 for a mailbox that does not exist."""

    async def send(self, message: OutboundMessage) -> str:
        raise ChannelError(f"550 5.1.1 <{message.to}>: mailbox unavailable", code="550")


class Player:
    """Plays the steps through the pipeline, in one process, one after the other."""

    def __init__(self, ctx: dict[str, Any], settings: Settings, clock: DemoClock) -> None:
        self.ctx, self.settings, self.clock = ctx, settings, clock
        self.queue = ctx["queue"]
        self.agents: dict[str, Agent] = {}

    def session(self) -> AsyncSession:
        return self.ctx["sessionmaker"]()

    async def agent(self, email: str) -> Agent:
        if email not in self.agents:
            async with self.session() as session:
                self.agents[email] = await get_agent_by_email(session, email)
        return self.agents[email]

    async def process(self, event_id: int) -> InboundEvent:
        await process_inbound(self.ctx, event_id)
        await self.queue.join()  # the acknowledgement's send, before the next step
        async with self.session() as session:
            return await get_inbound(session, event_id)

    async def record(self, channel: str, external_id: str, payload: bytes) -> int:
        async with self.session() as session:
            recorded = await record_inbound(session, channel=channel, external_id=external_id, payload=payload)
            await session.commit()
        return recorded.event.id

    async def record_sms(self, sid: str, sender: str, text: str) -> int:
        """As Twilio's webhook records it (through the app's engine: the demo has no
        acknowledgement pool)."""
        return (await record_twilio_sms(self.ctx["engine"], _twilio_body(sid, sender, text))).event_id

    async def open(self, story: Story) -> None:
        person, n = story.person, story.n
        if story.channel == "email":
            payload = _email(story, text=story.text, subject=story.subject, at=story.opened,
                             message_id=f"<demo-{n}@{person.email.split('@')[1]}>")
            event_id = await self.record(Channel.EMAIL.value, email_inbound.external_id(payload)[:255], payload)
        elif story.channel == "sms":
            event_id = await self.record_sms(f"SMdemo{n:05d}", _e164(person.phone), story.text)
        elif story.channel == "webform":
            form = RequestIn(name=person.name, email=person.email, phone=person.phone, category=story.category,
                             subject=story.subject, message=story.text)
            async with self.session() as session:
                event_id = (await submit_request(session, form, submission_key=f"demo-{n}",
                                                 language=story.language,
                                                 default_region=self.settings.default_region)).event_id
                await session.commit()
        else:
            # A letter has the address on it, a visitor gives it; a caller rarely does.
            where = {"address": person.street, "postcode": person.postcode, "city": person.city} \
                if story.channel != "phone" else {}
            contact = ContactIn(channel=story.channel, full_name=person.name, email=person.email,
                                phone=person.phone, **where, language=story.language, category=story.category,
                                subject=story.subject, note=story.text)
            event_id = await self.log_contact(contact, n, FRONT_DESK[n % 2])
        if story.dead_letter:
            self.ctx["senders"][Channel.EMAIL.value] = RefusingRelay()
        try:
            event = await self.process(event_id)
        finally:
            self.ctx["senders"].pop(Channel.EMAIL.value, None)
        if event.ticket_id:
            async with self.session() as session:
                story.reference = (await tickets.get_ticket(session, event.ticket_id)).reference

    async def log_contact(self, contact: ContactIn, n: int | str, by: str) -> int:
        agent = await self.agent(by)
        async with self.session() as session:
            accepted = await submit_contact(session, contact, agent=agent, submission_key=f"demo-{n}",
                                            default_region=self.settings.default_region,
                                            attachment_policy=attachment_policy(self.settings))
            await session.commit()
        return accepted.event_id

    async def holder(self, story: Story) -> Agent | None:
        async with self.session() as session:
            ticket = await tickets.find_by_reference(session, story.reference)
            return await session.get(Agent, ticket.assignee_id) if ticket.assignee_id else None

    async def follow_up(self, story: Story, which: int, at: datetime) -> None:
        text = corpus.FOLLOW_UPS[story.language][which]
        person, key = story.person, f"{story.n}-{which}"
        if story.channel in ("email", "webform") and person.email:
            payload = _email(story, text=text, subject=f"RE: {story.subject} [{story.reference}]", at=at,
                             message_id=f"<demo-{key}@{person.email.split('@')[1]}>",
                             in_reply_to=f"<demo-{story.n}@{person.email.split('@')[1]}>")
            event_id = await self.record(Channel.EMAIL.value, email_inbound.external_id(payload)[:255], payload)
        elif story.channel in ("sms", "webform") and person.phone:
            event_id = await self.record_sms(f"SMdemo{story.n:05d}x{which}", _e164(person.phone), text)
        else:  # came to the desk, called or wrote: the front desk adds it to the ticket
            contact = ContactIn(channel="phone" if story.channel == "letter" else story.channel,
                                reference=story.reference, subject=f"Suite : {story.subject}"[:300], note=text)
            event_id = await self.log_contact(contact, key, FRONT_DESK[story.n % 2])
        await self.process(event_id)

    async def reply(self, story: Story, texts: dict[str, str], status: str) -> None:
        agent = await self.holder(story)
        if agent is None:
            return  # nobody has it yet: it waits in the queue
        try:
            async with self.session() as session:
                sent = await send_reply(session, self.settings, agent, story.reference,
                                        ReplyIn(text=texts[story.language], idempotency_key=f"demo-{status}"))
                await session.commit()
        except DomainError:
            return  # no way to reach them on that channel: the agent would call; the story stops here
        if sent.created and sent.state == "queued":
            await self.queue.enqueue("send_delivery", sent.delivery_id, job_id=f"send_delivery:{sent.delivery_id}")
        await self.status(story, status, agent)

    async def status(self, story: Story, status: str, agent: Agent | None = None) -> None:
        agent = agent or await self.holder(story) or await self.agent(SUPERVISOR)
        async with self.session() as session:
            await change_status_and_follow_up(session, self.queue, story.reference, status, by=agent,
                                              why="suivi de la demande")
        await self.queue.join()

    async def note(self, story: Story, rng: random.Random) -> None:
        agent = await self.holder(story) or await self.agent(SUPERVISOR)
        async with self.session() as session:
            ticket = await tickets.find_by_reference(session, story.reference)
            await tickets.add_note(session, ticket, rng.choice(corpus.NOTES), agent_id=agent.id)
            await session.commit()

    async def survey(self, story: Story, score: str) -> None:
        """By SMS, the score answers the survey SMS (the pipeline tells it from a request);
        otherwise the answer the survey link's page records."""
        async with self.session() as session:
            ticket = await tickets.find_by_reference(session, story.reference)
        if ticket.reply_channel == Channel.SMS.value and story.person.phone:
            event_id = await self.record_sms(f"SMdemo{story.n:05d}s", _e164(story.person.phone), score)
            await self.process(event_id)
            return
        async with self.session() as session:
            await record_answer(session, ticket.id, int(score), channel=Channel.EMAIL.value,
                                comment=corpus.SATISFACTION_COMMENTS[story.language] if score == "5" else None)
            await session.commit()

    async def presence(self, email: str, presence: str, why: str) -> None:
        supervisor, agent = await self.agent(SUPERVISOR), await self.agent(email)
        async with self.session() as session:
            await set_presence(session, agent.id, presence, by=supervisor, why=why,
                               redistribute=True, config=routing_config(self.settings))
            await session.commit()

    async def quarantine(self) -> None:
        """A message the pipeline cannot read (an SMS from a withheld number): kept raw, quarantined."""
        event_id = await self.record_sms("SMdemo-withheld", None, "Bonjour c'est pour le dossier")
        await self.process(event_id)

    async def play(self, step: Step, rng: random.Random) -> None:
        self.clock.at(step.at)
        story = step.story
        if step.kind == "open":
            await self.open(story)
            return
        if step.kind == "presence":
            await self.presence(**step.extra)
            return
        if step.kind == "quarantine":
            await self.quarantine()
            return
        if story is None or story.reference is None:
            return  # its request did not make it in
        if step.kind == "reply":
            await self.reply(story, step.extra["text"], step.extra["status"])
        elif step.kind == "status":
            await self.status(story, step.extra["status"])
        elif step.kind == "note":
            await self.note(story, rng)
        elif step.kind == "follow_up":
            await self.follow_up(story, step.extra["which"], step.at)
        elif step.kind == "survey":
            await self.survey(story, step.extra["score"])


# --- moving the story into the past ------------------------------------------------------------

async def backdate(session: AsyncSession, clock: DemoClock, until: datetime) -> None:
    """Every timestamp written while a step ran gets the step's date (plus the seconds it took);
    a later one (a due time, a quiet-hours hold) moves with its row's earliest."""
    start = clock.real[0]
    for table in SQLModel.metadata.sorted_tables:
        stamps = [c for c in table.columns if isinstance(c.type, UTCDateTime)]
        keys = list(table.primary_key.columns)
        if not stamps or not keys:
            continue
        connection = await session.connection()
        rows = (await connection.execute(core_select(*keys, *stamps).where(_any_after(stamps, start)))).all()
        changes = []
        for row in rows:
            values = dict(row._mapping)
            past = [values[c.name] for c in stamps if values[c.name] is not None and start <= values[c.name] <= until]
            if not past:
                continue
            anchor = min(past)
            offset = clock.shift(anchor) - anchor
            new = {f"new_{c.name}": (clock.shift(v) if v <= until else v + offset) if v is not None and v >= start
                   else v for c in stamps for v in [values[c.name]]}
            changes.append({**{f"key_{k.name}": values[k.name] for k in keys}, **new})
        if changes:
            statement = update(table).where(*[k == bindparam(f"key_{k.name}") for k in keys]).values(
                {c.name: bindparam(f"new_{c.name}") for c in stamps})
            await connection.execute(statement, changes)


def _any_after(columns: list, start: datetime):
    condition = columns[0] >= start
    for column in columns[1:]:
        condition = condition | (column >= start)
    return condition


async def redo_due_times(session: AsyncSession, settings: Settings) -> None:
    """Due times in business hours from the new opening dates (a calendar shift would land some on
    a Sunday), then the SLA watch as its cron would have run it: at risk, breached, escalated."""
    config = routing_config(settings)
    for ticket in (await session.exec(select(Ticket).order_by(col(Ticket.id)))).all():
        context = await ticket_context(session, ticket, config)
        if context.category is None:
            continue
        due = due_times(context.calendar, ticket.created_at, SlaTargets(
            context.category.sla_first_response_minutes, context.category.sla_resolution_minutes))
        context.routing.first_response_due_at, context.routing.resolution_due_at = due.first_response, due.resolution
    await session.flush()
    await check_slas(session, config, limit=100_000)


# --- the whole ----------------------------------------------------------------------------------

async def _counts(session: AsyncSession) -> tuple[int, int]:
    citizens = (await session.exec(select(func.count()).select_from(Citizen).where(
        col(Citizen.merged_into_id).is_(None)))).one()
    return citizens, (await session.exec(select(func.count()).select_from(Ticket))).one()


async def _examples(session: AsyncSession, settings: Settings) -> list[tuple[str, str, str]]:
    secret, found = load_secret_key(settings), []  # the key /track checks codes with
    for status in ("pending", "resolved", "open", "new"):
        ticket = (await session.exec(select(Ticket).where(Ticket.status == status)
                                     .order_by(col(Ticket.created_at).desc()).limit(1))).first()
        if ticket is not None and len(found) < 3:
            found.append((ticket.reference, display_code(tracking_code(secret, ticket.reference)), status))
    return found


def demo_logins() -> list[tuple[str, str, str]]:
    return [(a.email, a.role, a.name) for a in (*AGENTS, *MORE_AGENTS)]


async def seed_demo_data(settings: Settings, *, citizens: int = 300,
                         progress: Callable[[int, int], None] | None = None) -> DemoReport:
    """Reference data and agents (always, idempotent), then the citizens and their requests on an
    empty database; what is there at the end, the logins and a few tracking examples."""
    started = clock_time.monotonic()
    async with pipeline_in_process(settings) as ctx:
        if ctx["engine"].dialect.name == "sqlite":
            # Thousands of small commits: in WAL mode NORMAL syncs at checkpoints, not at each one
            # (a power cut may lose the last ones, never corrupt the file; it is demo data).
            event.listen(ctx["engine"].sync_engine, "connect",
                         lambda connection, _: connection.execute("PRAGMA synchronous=NORMAL"))
        async with ctx["sessionmaker"]() as session:
            await seed_reference_data(session)
            await seed_demo_agents(session, (*AGENTS, *MORE_AGENTS))
            await session.commit()
            _, existing = await _counts(session)
        seeded, message = existing == 0, ""
        if seeded:
            await _play(ctx, settings, citizens, progress)
            message = "demo data added"
        else:
            demo = (await _demo_there(ctx))
            message = ("the demo data is there already (nothing added)" if demo else
                       f"this database holds {existing} ticket(s) of its own: demo data is only added to an "
                       f"empty one")
        async with ctx["sessionmaker"]() as session:
            people, count = await _counts(session)
            examples = await _examples(session, settings)
    return DemoReport(seeded, message, people, count, clock_time.monotonic() - started, demo_logins(),
                      DEMO_PASSWORD, examples)


async def _demo_there(ctx: dict[str, Any]) -> bool:
    async with ctx["sessionmaker"]() as session:
        return (await session.exec(select(InboundEvent.id).where(
            InboundEvent.external_id == "SMdemo-withheld"))).first() is not None


async def _play(ctx: dict[str, Any], settings: Settings, citizens: int,
                progress: Callable[[int, int], None] | None) -> None:
    rng = random.Random(SEED)
    zone = ZoneInfo(settings.timezone)
    now = utcnow()
    people = make_people(rng, citizens)
    stories = make_stories(rng, people, max(citizens, round(citizens * TICKETS_PER_CITIZEN)), now, zone)
    emailed = [s for s in stories if s.channel == "email"]
    if emailed:
        emailed[0].dead_letter = True
    stories += make_twins(rng, stories, now)
    steps = make_steps(rng, stories, now, zone)
    steps.append(Step(now - timedelta(days=DAYS + 1), len(steps), "presence",
                      extra={"email": OFF_QUEUE, "presence": "offline", "why": "administration"}))
    steps.append(Step(now - timedelta(days=3, hours=2), len(steps), "presence",
                      extra={"email": AWAY, "presence": "away", "why": "congés"}))
    steps.append(Step(now - timedelta(hours=5), len(steps), "quarantine"))
    steps.sort(key=lambda s: (s.at, s.order))
    clock = DemoClock()
    player = Player(ctx, settings, clock)
    # The demo sends nothing (a configured relay would mail the demo's made-up citizens): every
    # answer stays in the outbox, held, as on an install without transports.
    ctx["senders"] = {}
    for done, step in enumerate(steps, 1):
        await player.play(step, rng)
        if progress:
            progress(done, len(steps))
    await ctx["queue"].join()
    until = utcnow()
    async with ctx["sessionmaker"]() as session:
        await backdate(session, clock, until)
        await session.commit()
    async with ctx["sessionmaker"]() as session:
        await redo_due_times(session, settings)
        await session.commit()
