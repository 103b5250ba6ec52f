"""Step notifications and the satisfaction survey, through the public surface: a status change
by the routing API, the citizen's SMS through the signed Twilio webhook (the stand-in receives
what we send), email through the real SMTP server, the survey page and the barometer over HTTP.

The notification job's clock is set (app.jobs.notify.now): a Wednesday morning in Paris, unless
the test is about quiet hours."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from app.jobs import notify as notify_job
from app.jobs.context import build_job_context
from app.jobs.sweep import sweep
from app.settings import Settings
from crm.models import Message, Ticket, TicketEvent
from crm.threading import short_reference
from replies.models import Delivery, SatisfactionAnswer
from replies.quiet_hours import QuietHours, parse_clock
from replies.survey import aggregate, parse_score, read_token, sign_answer
from tests.conftest import Stack
from tests.replies.test_sms_delivery import PHONE, deliveries, text_in, texting
from tests.replies.test_smtp_delivery import NoQueue, app_mailing_to
from tests.smtp_server import smtp_server

PARIS = ZoneInfo("Europe/Paris")
WEDNESDAY_MORNING = datetime(2031, 6, 11, 10, 0, tzinfo=PARIS)
SATURDAY_EVENING = datetime(2031, 6, 14, 22, 0, tzinfo=PARIS)
MONDAY_MORNING = datetime(2031, 6, 16, 8, 30, tzinfo=PARIS)
SECRET = "test-secret-key-for-survey-links"
GUICHET = str(Path(sys.executable).with_name("guichet"))
ARABIC = "السلام عليكم، أريد نسخة من عقد الازدياد الخاص بابني من فضلكم"


@pytest.fixture(autouse=True)
def daytime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify_job, "now", lambda: WEDNESDAY_MORNING.astimezone(UTC))


async def change_status(stack: Stack, reference: str, status: str) -> None:
    response = await stack.client.post(f"/api/v1/tickets/{reference}/status", json={"status": status, "why": "test"},
                                       headers={"Authorization": f"Bearer {await stack.token()}"})
    assert response.status_code == 200, response.text
    await stack.drain()


async def reference_of(stack: Stack, ticket_id: int) -> str:
    async with stack.session() as session:
        return (await session.get(Ticket, ticket_id)).reference


async def status_events(stack: Stack, ticket_id: int) -> list[int]:
    async with stack.session() as session:
        return list((await session.exec(select(TicketEvent.id).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "status_changed")
            .order_by(col(TicketEvent.id)))).all())


# --- pure decisions ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, score", [
    ("4", 4), (" 5 ", 5), ("4/5", 4), ("4 / 5", 4), ("3 sur 5", 3), ("2 out of 5", 2), ("1.", 1),
    ("٤", 4), ("⭐⭐⭐⭐", 4), ("⭐️⭐️", 2), ("★★★★★", 5),
    ("0", None), ("6", None), ("45", None), ("4/10", None), ("⭐⭐⭐⭐⭐⭐", None), ("", None),
    ("4 documents manquent", None), ("Merci beaucoup", None), ("2026-42", None),
])
def test_an_sms_score_is_the_whole_message(text: str, score: int | None) -> None:
    assert parse_score(text) == score


QUIET = QuietHours(parse_clock("20:00"), parse_clock("08:30"), PARIS, frozenset({date(2031, 7, 14)}))


@pytest.mark.parametrize("local, leaves", [
    (datetime(2031, 6, 11, 10, 0), None),  # a Wednesday morning: now
    (datetime(2031, 6, 11, 19, 59), None),
    (datetime(2031, 6, 11, 20, 0), datetime(2031, 6, 12, 8, 30)),  # evening: the next morning
    (datetime(2031, 6, 12, 6, 0), datetime(2031, 6, 12, 8, 30)),  # early: the same morning
    (datetime(2031, 6, 14, 22, 0), datetime(2031, 6, 16, 8, 30)),  # Saturday night: not Sunday
    (datetime(2031, 6, 15, 12, 0), datetime(2031, 6, 16, 8, 30)),  # Sunday noon
    (datetime(2031, 7, 13, 21, 0), datetime(2031, 7, 15, 8, 30)),  # 14 July is a holiday
    (datetime(2031, 3, 29, 23, 0), datetime(2031, 3, 31, 8, 30)),  # across the change to summer time
])
def test_quiet_hours_hold_until_the_next_working_morning(local: datetime, leaves: datetime | None) -> None:
    moment = local.replace(tzinfo=PARIS)
    expected = leaves.replace(tzinfo=PARIS).astimezone(UTC) if leaves else None
    assert QUIET.not_before(moment) == expected


def test_quiet_hours_without_rest_days_or_at_all() -> None:
    weekdays_only = QuietHours(parse_clock("20:00"), parse_clock("08:30"), PARIS, rest_days=False)
    assert weekdays_only.not_before(datetime(2031, 6, 15, 12, 0, tzinfo=PARIS)) is None
    never = QuietHours(parse_clock("00:00"), parse_clock("00:00"), PARIS, rest_days=False)
    assert never.not_before(datetime(2031, 6, 15, 23, 0, tzinfo=PARIS)) is None


def test_survey_tokens_are_signed_and_expire() -> None:
    issued = datetime(2031, 6, 11, 10, 0, tzinfo=UTC)
    token = sign_answer(SECRET.encode(), 42, 4, issued)
    parsed = read_token(SECRET.encode(), token, valid_for=_days(14), now=issued)
    assert (parsed.ticket_id, parsed.score) == (42, 4)
    payload, signature = token.split(".")
    for forged in (f"{payload}.{'A' * len(signature)}", sign_answer(b"another key", 42, 4, issued),
                   payload, "", "..", token + "x"):
        with pytest.raises(Exception, match="not valid"):
            read_token(SECRET.encode(), forged, valid_for=_days(14), now=issued)
    with pytest.raises(Exception, match="expired"):
        read_token(SECRET.encode(), token, valid_for=_days(14), now=issued + _days(15))


def _days(n: int):
    from datetime import timedelta
    return timedelta(days=n)


def test_the_barometer_aggregates_count_mean_and_distribution() -> None:
    rows = [("etat_civil", 5), ("voirie", 2), ("etat_civil", 4), ("etat_civil", 4), ("voirie", 9)]
    by_group = {b.group: b for b in aggregate(rows)}
    assert by_group["etat_civil"].count == 3 and by_group["etat_civil"].mean == 4.33
    assert by_group["etat_civil"].distribution == {1: 0, 2: 0, 3: 0, 4: 2, 5: 1}
    assert by_group["voirie"].count == 1 and by_group["voirie"].mean == 2.0  # 9 is no score
    assert aggregate([]) == []


# --- SMS, in Arabic ------------------------------------------------------------------------------

async def test_an_arabic_sms_citizen_gets_every_step_and_the_survey_by_sms_in_arabic(seeded: Settings) -> None:
    """Done when (issue 7): the acknowledgement, each step notification and the survey, by SMS in
    Arabic with the short reference; the answer "4" is the survey's, and opens no request."""
    async with texting(seeded.model_copy(update={"secret_key": SECRET})) as (stack, twilio):
        event = await text_in(stack, ARABIC)
        reference = await reference_of(stack, event.ticket_id)
        short = short_reference(reference)
        [ack] = twilio.requests
        assert "تم استلام طلبكم" in ack.form["Body"] and short in ack.form["Body"]

        await change_status(stack, reference, "pending")  # more information needed
        await change_status(stack, reference, "resolved")  # resolved, then the survey
        bodies = [r.form["Body"] for r in twilio.requests]
        assert len(bodies) == 4 and all(r.form["To"] == PHONE for r in twilio.requests)
        more, resolved, survey = bodies[1:]  # the survey only once the resolution has left
        assert all(short in body for body in (more, resolved, survey))
        assert all(re.search("[\u0600-\u06FF]{3}", body) for body in (more, resolved, survey))
        assert "تمت معالجة طلبكم" in resolved
        assert "من 1" in survey and "5" in survey
        assert [d.state for d in await deliveries(stack)] == ["sent"] * 4

        # Whatever asks again sends nothing twice: the job re-run, another drain.
        resolved_change = (await status_events(stack, event.ticket_id))[-1]
        await stack.app.state.queue.enqueue("notify_status_change", resolved_change, job_id="again")
        await stack.drain()
        assert len(twilio.requests) == 4 and len(await deliveries(stack)) == 4

        # The answer: a score, stored on the ticket; no new request, no reopening, no message.
        answer = await text_in(stack, "٤")
        assert answer.status == "processed" and answer.ticket_id == event.ticket_id
        async with stack.session() as session:
            [stored] = (await session.exec(select(SatisfactionAnswer))).all()
            assert (stored.ticket_id, stored.score, stored.channel) == (event.ticket_id, 4, "sms")
            assert len((await session.exec(select(Ticket))).all()) == 1
            assert (await session.get(Ticket, event.ticket_id)).status == "resolved"
            inbound = (await session.exec(select(Message).where(Message.direction == "in"))).all()
            assert len(inbound) == 1
        # A second answer replaces the first.
        await text_in(stack, "5/5")
        async with stack.session() as session:
            [stored] = (await session.exec(select(SatisfactionAnswer))).all()
            assert stored.score == 5
        assert len(twilio.requests) == 4  # an answer is not answered

        # HELP in the sender's language; STOP confirmed in it, then nothing more by SMS.
        await text_in(stack, "HELP")
        assert "راسلونا" in twilio.requests[-1].form["Body"]
        await text_in(stack, "STOP")
        assert "لن تتوصلوا برسائلنا" in twilio.requests[-1].form["Body"]
        sent = len(twilio.requests)
        await change_status(stack, reference, "open")
        await change_status(stack, reference, "pending")
        assert len(twilio.requests) == sent
        timeline = (await stack.ticket(reference))["timeline"]
        assert any("no more_information_needed notification" in (e["reason"] or "")
                   and "opted out" in e["reason"] for e in timeline)


@pytest.mark.parametrize("twilio_error, resolution", [(20429, "sent"), (21614, "failed")])
async def test_the_survey_leaves_after_the_resolution_even_when_it_fails(
        seeded: Settings, twilio_error: int, resolution: str) -> None:
    """The resolution's first try is refused: throttled (retried later), or for good. The survey,
    queued at the same moment, waits for it either way, and is never lost."""
    async with texting(seeded) as (stack, twilio):
        event = await text_in(stack, "Bonjour, le lampadaire de ma rue est en panne depuis hier.")
        reference = await reference_of(stack, event.ticket_id)
        twilio.fail_next(twilio_error)
        await change_status(stack, reference, "resolved")
        _, resolved, survey = await deliveries(stack)
        assert (resolved.state, survey.state) == (resolution, "sent")
        tried = [(r.status, "votre avis compte" in r.form["Body"]) for r in twilio.requests[1:]]
        refused = 429 if twilio_error == 20429 else 400
        # The resolution first (refused, then retried when throttled), the survey last.
        assert tried == ([(refused, False), (201, False), (201, True)] if resolution == "sent"
                         else [(refused, False), (201, True)])


async def swept(stack: Stack) -> tuple[dict[str, int], NoQueue]:
    """The sweep run by hand, at once (no grace): its counts and the jobs it asked for."""
    queue = NoQueue()
    return await sweep(build_job_context(stack.settings, stack.app.state.engine, queue), 0), queue


async def test_a_status_change_whose_job_was_lost_is_notified_by_the_sweep_once(seeded: Settings) -> None:
    """The change committed, then the enqueue never happened (the queue down, a crash): the
    sweep finds the change nobody was told about, and the citizen gets exactly one message."""
    from routing.agents import get_agent_by_email
    from routing.supervision import change_status as change_without_follow_up
    from tests.conftest import SUPERVISOR
    async with texting(seeded) as (stack, twilio):
        event = await text_in(stack, "Bonjour, le lampadaire de ma rue est en panne depuis hier.")
        reference = await reference_of(stack, event.ticket_id)
        async with stack.session() as session:
            agent = await get_agent_by_email(session, SUPERVISOR)
            _, change = await change_without_follow_up(session, reference, "pending", by=agent, why="test")
            await session.commit()
        counts, found = await swept(stack)
        assert counts["notifications"] == 1 and ("notify_status_change", (change,)) in found.jobs
        assert len(twilio.requests) == 1  # the acknowledgement: nobody asked for the notification
        # (an arq worker sweeps as it starts, too: one of the two sweeps sends it, never both)
        await stack.app.state.queue.enqueue("sweep", 0, job_id="sweep:lost")
        await stack.drain()
        assert len(twilio.requests) == 2
        [_, notice] = await deliveries(stack)
        assert notice.dedupe_key == f"notify:{change}:more_information_needed" and notice.state == "sent"

        # Told now: the next sweeps find nothing, and send nothing more.
        assert (await swept(stack))[0]["notifications"] == 0
        await stack.app.state.queue.enqueue("sweep", 0, job_id="sweep:again")
        await stack.drain()
        assert len(twilio.requests) == 2
        # A change told the usual way, or one that tells nothing (closed), is not picked up either.
        await change_status(stack, reference, "resolved")
        await change_status(stack, reference, "closed")
        assert (await swept(stack))[0]["notifications"] == 0


async def test_an_sms_notification_in_quiet_hours_waits_for_the_next_working_morning(
        seeded: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    async with texting(seeded) as (stack, twilio):
        event = await text_in(stack, "Bonjour, le lampadaire de ma rue est en panne depuis hier.")
        reference = await reference_of(stack, event.ticket_id)
        monkeypatch.setattr(notify_job, "now", lambda: SATURDAY_EVENING.astimezone(UTC))
        await change_status(stack, reference, "resolved")
        assert len(twilio.requests) == 1  # the acknowledgement only (it answers the citizen at once)
        ack, resolved, survey = await deliveries(stack)
        assert ack.not_before is None
        for held in (resolved, survey):
            assert held.state == "queued" and held.not_before == MONDAY_MORNING.astimezone(UTC)
        timeline = (await stack.ticket(reference))["timeline"]
        assert any("held until the end of SMS quiet hours" in (e["reason"] or "") for e in timeline)
        # The sweep leaves them alone until then.
        await stack.app.state.queue.enqueue("sweep", 0, job_id="sweep:test")
        await stack.drain()
        assert len(twilio.requests) == 1


async def test_a_category_that_does_not_notify_sends_nothing(seeded: Settings) -> None:
    async with texting(seeded) as (stack, twilio):
        async with stack.session() as session:
            from routing.models import Category
            quiet = (await session.exec(select(Category).where(Category.slug == "etat_civil"))).one()
            quiet.notify_steps = ["acknowledgement", "more_information_needed"]
            await session.commit()
        hushed = await stack.post_request(email=None, phone="06 12 34 56 78", category="etat_civil")
        told = await stack.post_request(email=None, phone="06 12 34 56 79", category="voirie")
        await stack.drain()
        assert len(twilio.requests) == 2  # both acknowledged
        await change_status(stack, hushed["reference"], "resolved")
        assert len(twilio.requests) == 2  # neither the resolution nor the survey
        await change_status(stack, told["reference"], "resolved")
        assert len(twilio.requests) == 4  # the defaults: both


# --- email, in French ----------------------------------------------------------------------------

def _eml(tmp_path: Path) -> Path:
    path = tmp_path / "demande.eml"
    path.write_bytes((
        "From: Nadia Amrani <nadia@example.org>\nTo: mairie@ville.fr\n"
        "Subject: Copie d'acte de naissance\nMessage-ID: <demande-1@client.example>\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
        "Bonjour, je voudrais une copie intégrale de mon acte de naissance, s'il vous plaît.\n").encode())
    return path


def _links(mail: EmailMessage) -> list[str]:
    text = mail.get_body(("plain",)).get_content()
    return re.findall(r"https?://\S+/survey/\S+", text)


async def test_a_french_email_citizen_gets_every_step_threaded_and_answers_by_link(
        seeded: Settings, tmp_path: Path) -> None:
    """Done when (issue 7): by email in French, threaded in the mail client: each mail answers
    the one before (In-Reply-To) and carries the whole chain (References)."""
    with smtp_server() as (server, port):
        async with app_mailing_to(seeded, port, secret_key=SECRET) as stack:
            env = {**os.environ, "GUICHET_DATABASE_URL": stack.settings.database_url,
                   "GUICHET_SMTP_URL": f"smtp://127.0.0.1:{port}"}
            env.pop("GUICHET_REDIS_URL", None)
            result = subprocess.run([GUICHET, "email", "ingest", str(_eml(tmp_path))], env=env,
                                    capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, result.stderr
            async with stack.session() as session:
                ticket = (await session.exec(select(Ticket))).one()
            await stack.drain()
            [ack] = [r.message for r in server.received]
            assert ack["In-Reply-To"] == "<demande-1@client.example>"

            await change_status(stack, ticket.reference, "pending")  # more information needed
            await change_status(stack, ticket.reference, "resolved")  # resolved, then the survey
            mails = [r.message for r in server.received]
            assert len(mails) == 4
            _, more, resolved, survey = mails
            assert "besoin d'une information" in more.get_body(("plain",)).get_content()
            assert resolved["Subject"].startswith("Votre demande") and ticket.reference in resolved["Subject"]
            assert "avis" in survey["Subject"].lower()
            # Each answers the one before, and carries the whole chain from the citizen's mail.
            chain = ["<demande-1@client.example>"]
            for mail in (ack, more, resolved, survey):
                assert mail["In-Reply-To"] == chain[-1] and mail["References"].split() == chain
                chain.append(mail["Message-ID"])
            assert len(set(chain)) == 5
            assert all(m["To"].endswith("nadia@example.org>") or m["To"] == "nadia@example.org" for m in mails)

            # One click on "4": recorded, thanked in French; the comment form keeps it.
            links = _links(survey)
            assert len(links) == 5
            four = next(link for link in links if "4 - satisfait" in
                        survey.get_body(("plain",)).get_content().split(link)[0].splitlines()[-1])
            path = "/survey/" + four.split("/survey/")[1]
            page = await stack.client.get(path)
            assert page.status_code == 200 and 'lang="fr"' in page.text
            assert "votre note a bien été enregistrée" in page.text and "4/5" in page.text
            # The comment form is protected against cross-site posts like every form of ours.
            csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
            commented = await stack.client.post(path, data={"comment": "Rapide et aimable", "lang": "fr",
                                                            "_csrf_token": csrf})
            assert commented.status_code == 200 and "Merci pour votre commentaire" in commented.text
            async with stack.session() as session:
                answer = (await session.exec(select(SatisfactionAnswer))).one()
                assert (answer.score, answer.channel, answer.comment) == (4, "email", "Rapide et aimable")
            # In Arabic, right to left.
            arabic = await stack.client.get(path + "?lang=ar")
            assert arabic.status_code == 200 and 'dir="rtl"' in arabic.text and "تم تسجيل تقييمكم" in arabic.text

            # A forged or mangled token: a 400 page, never a 500, and nothing recorded.
            token = path.split("/survey/")[1]
            payload, signature = token.split(".")
            for forged in (f"{payload}.{signature[::-1]}", "nonsense", f"{payload}x.{signature}"):
                refused = await stack.client.get(f"/survey/{forged}")
                assert refused.status_code == 400 and "pas valide" in refused.text
                assert (await stack.client.post(f"/survey/{forged}",
                                                data={"comment": "x", "_csrf_token": csrf})).status_code == 400
            async with stack.session() as session:
                answer = (await session.exec(select(SatisfactionAnswer))).one()
                assert (answer.score, answer.comment) == (4, "Rapide et aimable")

            # A second run of the job mails nothing more.
            change = (await status_events(stack, ticket.id))[-1]
            await stack.app.state.queue.enqueue("notify_status_change", change, job_id="again")
            await stack.drain()
            assert len(server.received) == 4


# --- the barometer -------------------------------------------------------------------------------

async def test_the_barometer_groups_answers_for_supervisors_only(stack: Stack) -> None:
    first = await stack.post_request(category="etat_civil")
    second = await stack.post_request(category="etat_civil", email="karim@example.org")
    third = await stack.post_request(category="voirie", email="lea@example.org")
    await stack.drain()
    from replies.survey import record_answer
    async with stack.session() as session:
        for accepted, score in ((first, 5), (second, 4), (third, 2)):
            ticket = (await session.exec(select(Ticket).where(Ticket.reference == accepted["reference"]))).one()
            await record_answer(session, ticket.id, score, channel="email")
        await session.commit()
    headers = {"Authorization": f"Bearer {await stack.token()}"}
    by_category = (await stack.client.get("/api/v1/stats/satisfaction?group=category", headers=headers)).json()
    assert by_category["total"] == {"count": 3, "mean": 3.67, "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}}
    groups = {g["key"]: g for g in by_category["groups"]}
    assert groups["etat_civil"]["count"] == 2 and groups["etat_civil"]["mean"] == 4.5
    assert groups["voirie"]["distribution"]["2"] == 1
    by_channel = (await stack.client.get("/api/v1/stats/satisfaction?group=channel", headers=headers)).json()
    assert [(g["key"], g["count"]) for g in by_channel["groups"]] == [("webform", 3)]
    month = datetime.now(PARIS).strftime("%Y-%m")
    by_month = (await stack.client.get("/api/v1/stats/satisfaction?group=month", headers=headers)).json()
    assert [(g["key"], g["count"]) for g in by_month["groups"]] == [(month, 3)]
    by_team = (await stack.client.get("/api/v1/stats/satisfaction?group=team", headers=headers)).json()
    assert sum(g["count"] for g in by_team["groups"]) == 3
    empty = (await stack.client.get("/api/v1/stats/satisfaction?from=2000-01-01&to=2000-12-31",
                                    headers=headers)).json()
    assert empty["total"]["count"] == 0 and empty["groups"] == []
    assert (await stack.client.get("/api/v1/stats/satisfaction?from=yesterday", headers=headers)).status_code == 400
    assert (await stack.client.get("/api/v1/stats/satisfaction?group=planet", headers=headers)).status_code == 400
    agent = {"Authorization": f"Bearer {await stack.token('karim.haddad@demo.guichet.fr')}"}
    assert (await stack.client.get("/api/v1/stats/satisfaction", headers=agent)).status_code == 403
    assert (await stack.client.get("/api/v1/stats/satisfaction")).status_code == 401
