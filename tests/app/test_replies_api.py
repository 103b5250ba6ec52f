"""Replies through HTTP, on both databases: by email through a real SMTP server (threaded), by SMS
through the twilio SDK and the Twilio stand-in (short reference, segments), opt-outs answered
with the next channel, letters queued for the front desk then printed, the fallback after a
permanent failure, suggestions, and a retried send that never sends twice."""
from __future__ import annotations

from sqlmodel import col, select

from app.jobs.context import build_job_context
from app.jobs.send import send_delivery
from app.settings import Settings
from crm.models import Citizen, Message, Ticket
from crm.threading import short_reference
from replies.models import Delivery, ReplyChoice
from tests.conftest import SUPERVISOR, Stack
from tests.replies.test_sms_delivery import PHONE, text_in, texting
from tests.replies.test_smtp_delivery import NO_MAILBOX, NoQueue, app_mailing_to
from tests.smtp_server import smtp_server

AMINA, KARIM, SOPHIE = ("amina.benali@demo.guichet.fr", "karim.haddad@demo.guichet.fr",
                        "sophie.martin@demo.guichet.fr")


async def auth(stack: Stack, email: str = SUPERVISOR) -> dict[str, str]:
    return {"Authorization": f"Bearer {await stack.token(email)}"}


async def reply(stack: Stack, reference: str, email: str = SUPERVISOR, **body):
    return await stack.client.post(f"/api/v1/tickets/{reference}/replies", json=body,
                                   headers=await auth(stack, email))


async def send_again(stack: Stack, delivery_id: int) -> None:
    """What a retry can look like: a duplicate job through the queue, and the job called by hand."""
    await stack.app.state.queue.enqueue("send_delivery", delivery_id, job_id=f"again:{delivery_id}")
    await stack.drain()
    ctx = build_job_context(stack.settings, stack.app.state.engine, NoQueue())
    assert await send_delivery(ctx, delivery_id) == "nothing to send"


async def texted(stack: Stack, text: str) -> str:
    """A citizen's SMS through the webhook; the reference of its ticket."""
    event = await text_in(stack, text)
    async with stack.session() as session:
        return (await session.get(Ticket, event.ticket_id)).reference


async def deliveries(stack: Stack) -> list[Delivery]:
    async with stack.session() as session:
        return list((await session.exec(select(Delivery).order_by(col(Delivery.id)))).all())


async def test_reply_by_email_is_threaded_on_the_citizens_last_message(seeded: Settings) -> None:
    with smtp_server() as (server, port):
        async with app_mailing_to(seeded, port, reply_address="guichet@mairie.example") as stack:
            accepted = await stack.post_request()
            await stack.drain()
            ack = server.received[0].message
            # The citizen answers the acknowledgement from their mail client.
            async with stack.session() as session:
                ticket = (await session.exec(select(Ticket))).one()
                session.add(Message(ticket_id=ticket.id, citizen_id=ticket.citizen_id, direction="in",
                                    channel="email", external_id="<theirs@example.org>", text="Merci, et le délai ?",
                                    rfc_message_id="<theirs@example.org>",
                                    meta={"references": [ack["Message-ID"]], "reply_to": "nadia@example.org"}))
                await session.commit()

            preview = await stack.client.post(f"/api/v1/tickets/{accepted['reference']}/replies/preview",
                                              json={}, headers=await auth(stack))
            assert preview.status_code == 200, preview.text
            frame = preview.json()
            assert frame["channel"] == "email" and frame["to"] == "nadia@example.org"
            assert frame["subject"] == f"Re : votre demande {accepted['reference']}"
            assert frame["text"].startswith("Bonjour Nadia Amrani,")

            text = frame["text"].replace("voici notre réponse.", "voici notre réponse.\n\nVotre acte est prêt.")
            sent = await reply(stack, accepted["reference"], text=text)
            assert sent.status_code == 201, sent.text
            assert sent.json()["state"] == "queued" and sent.json()["channel"] == "email"
            await stack.drain()

            assert len(server.received) == 2
            mail = server.received[1].message
            assert mail["In-Reply-To"] == "<theirs@example.org>"
            assert mail["References"].split() == [ack["Message-ID"], "<theirs@example.org>"]
            assert mail["Message-ID"] != ack["Message-ID"]
            assert mail["Message-ID"].endswith("@" + stack.settings.mail_domain + ">")
            assert mail["Reply-To"] == ack["Reply-To"]
            assert "Votre acte est prêt." in mail.get_body(preferencelist=("plain",)).get_content()

            ticket = await stack.ticket(accepted["reference"])
            [out] = [e for e in ticket["timeline"] if e["kind"] == "message_out" and e["actor_type"] == "agent"]
            assert out["data"]["channel"] == "email"
            [delivery] = [d for d in await deliveries(stack) if d.dedupe_key.startswith("reply:")]
            assert delivery.state == "sent" and delivery.header_message_id == mail["Message-ID"]
            async with stack.session() as session:
                [choice] = (await session.exec(select(ReplyChoice))).all()
            assert choice.choice.startswith("template:agent_reply|") and choice.inbound_text == "delai"

            # A retried job, a duplicate, the function by hand: still two mails.
            await send_again(stack, delivery.id)
            assert len(server.data_commands) == 2


async def test_reply_by_sms_carries_the_short_reference_and_its_cost(seeded: Settings) -> None:
    async with texting(seeded) as (stack, twilio):
        reference = await texted(stack, "Bonjour, où en est ma demande d'acte de naissance ?")
        short = short_reference(reference)

        preview = await stack.client.post(f"/api/v1/tickets/{reference}/replies/preview",
                                          json={"text": "Votre acte est disponible, passez le retirer."},
                                          headers=await auth(stack))
        assert preview.status_code == 200, preview.text
        body = preview.json()
        assert body["channel"] == "sms" and body["to"] == PHONE
        assert body["text"] == f"Mairie de Test, réf. {short} : Votre acte est disponible, passez le retirer."
        assert body["sms"] == {"segments": 1, "encoding": "GSM-7", "characters": len(body["text"]),
                               "units": len(body["text"])}
        arabic = await stack.client.post(f"/api/v1/tickets/{reference}/replies/preview",
                                         json={"text": "وثيقتكم جاهزة"}, headers=await auth(stack))
        assert arabic.json()["sms"]["encoding"] == "UCS-2"

        sent = await reply(stack, reference, text="Votre acte est disponible, passez le retirer.",
                           idempotency_key="click-1")
        assert sent.status_code == 201, sent.text
        again = await reply(stack, reference, text="Votre acte est disponible, passez le retirer.",
                            idempotency_key="click-1")
        assert again.json()["delivery_id"] == sent.json()["delivery_id"] and again.json()["created"] is False
        await stack.drain()

        assert [r.form["Body"] for r in twilio.requests][1:] == [body["text"]]
        delivery = next(d for d in await deliveries(stack) if d.id == sent.json()["delivery_id"])
        assert (delivery.state, delivery.attempts, delivery.segments, delivery.encoding) == ("sent", 1, 1, "GSM-7")
        # Retried: a duplicate job and the job by hand send nothing more.
        await send_again(stack, delivery.id)
        assert len(twilio.requests) == 2


async def test_opted_out_sms_is_refused_with_the_next_channel(seeded: Settings) -> None:
    async with texting(seeded) as (stack, twilio):
        reference = await texted(stack, "Bonjour, une question sur la cantine")
        await text_in(stack, "STOP")
        refused = await reply(stack, reference, text="Voici la réponse.")
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert body["code"] == "channel_unavailable" and body["channel"] == "sms"
        assert body["proposed_channel"] == "phone"  # a number, no email, no postal address: a call back
        assert "opted out" in body["detail"] and "phone" in body["detail"]
        called = await reply(stack, reference, text="Rappeler pour la cantine.", channel="phone")
        assert called.status_code == 201 and called.json()["state"] == "held"
        tasks = await stack.client.get("/api/v1/callbacks", headers=await auth(stack, SOPHIE))
        assert [(t["to"], t["text"]) for t in tasks.json()] == [(PHONE, "Rappeler pour la cantine.")]
        done = await stack.client.post(f"/api/v1/callbacks/{called.json()['delivery_id']}/done",
                                       headers=await auth(stack, SOPHIE))
        assert done.status_code == 200 and done.json()["state"] == "sent"
        # The acknowledgement, then the confirmation of the opt-out (the one SMS STOP lets through).
        assert len(twilio.requests) == 2


async def test_replies_on_a_web_form_request_thread_under_our_first_mail(seeded: Settings) -> None:
    """The request came by the web form (no mail of theirs to answer): every mail after our
    acknowledgement answers the one before it, so the citizen's client shows one conversation."""
    with smtp_server() as (server, port):
        async with app_mailing_to(seeded, port, reply_address="guichet@mairie.example") as stack:
            accepted = await stack.post_request()
            await stack.drain()
            [ack] = [r.message for r in server.received]
            assert ack["In-Reply-To"] is None  # the first mail of the conversation
            for text in ("Votre dossier est en cours d'examen.", "Votre acte est prêt."):
                sent = await reply(stack, accepted["reference"], text=text)
                assert sent.status_code == 201, sent.text
                await stack.drain()
            _, first, second = [r.message for r in server.received]
            assert first["In-Reply-To"] == ack["Message-ID"]
            assert first["References"].split() == [ack["Message-ID"]]
            assert second["In-Reply-To"] == first["Message-ID"]
            assert second["References"].split() == [ack["Message-ID"], first["Message-ID"]]
            assert len({ack["Message-ID"], first["Message-ID"], second["Message-ID"]}) == 3


async def test_letter_is_queued_for_the_front_desk_then_printed(stack: Stack) -> None:
    accepted = await stack.post_request()
    await stack.drain()
    async with stack.session() as session:
        citizen = (await session.exec(select(Citizen))).one()
        citizen.address, citizen.postcode, citizen.city = "12 rue des Lilas", "75011", "Paris"
        await session.commit()
    no_template = await reply(stack, accepted["reference"], channel="letter", text="")
    assert no_template.status_code == 400  # no letter frame for agent_reply, no text
    sent = await reply(stack, accepted["reference"], channel="letter",
                       text="Madame,\n\nVotre acte de naissance est joint à ce courrier.\n\nLa mairie")
    assert sent.status_code == 201, sent.text
    assert sent.json()["state"] == "held" and sent.json()["to"] == "12 rue des Lilas, 75011 Paris"
    await stack.drain()

    queued = await stack.client.get("/api/v1/letters?state=queued", headers=await auth(stack, SOPHIE))
    assert queued.status_code == 200
    [letter] = queued.json()
    assert letter["id"] == sent.json()["delivery_id"] and letter["ticket"] == accepted["reference"]
    assert "<p>Votre acte de naissance est joint à ce courrier.</p>" in letter["html"]
    assert "12 rue des Lilas" in letter["html"] and accepted["reference"] in letter["html"]

    printed = await stack.client.post(f"/api/v1/letters/{letter['id']}/printed", headers=await auth(stack, SOPHIE))
    assert printed.status_code == 200 and printed.json()["state"] == "sent"
    twice = await stack.client.post(f"/api/v1/letters/{letter['id']}/printed", headers=await auth(stack, SOPHIE))
    assert twice.status_code == 409
    assert (await stack.client.get("/api/v1/letters", headers=await auth(stack, SOPHIE))).json() == []
    timeline = (await stack.ticket(accepted["reference"]))["timeline"]
    assert any(e["kind"] == "delivery" and e["reason"].startswith("printed at the front desk by Sophie Martin")
               for e in timeline)
    missing = await stack.client.post("/api/v1/letters/9999/printed", headers=await auth(stack, SOPHIE))
    assert missing.status_code == 404


async def test_who_may_reply(stack: Stack) -> None:
    accepted = await stack.post_request()
    await stack.drain()
    holder = (await stack.ticket(accepted["reference"]))["assignee"]["email"]
    other = KARIM if holder != KARIM else AMINA
    assert (await reply(stack, accepted["reference"], SOPHIE, text="Bonjour")).status_code == 403
    assert (await reply(stack, accepted["reference"], other, text="Bonjour")).status_code == 403
    assert (await reply(stack, accepted["reference"], holder, text="Bonjour")).status_code == 201
    assert (await reply(stack, "GRU-1999-000001", text="Bonjour")).status_code == 404
    assert (await reply(stack, accepted["reference"], channel="fax", text="x")).status_code == 400


async def test_a_permanent_failure_proposes_the_next_channel(seeded: Settings) -> None:
    with smtp_server() as (server, port):
        async with app_mailing_to(seeded, port) as stack:
            accepted = await stack.post_request(phone="06 12 34 56 78")
            await stack.drain()
            server.answer_rcpt(NO_MAILBOX, times=None)
            sent = await reply(stack, accepted["reference"], text="Votre dossier est complet.")
            assert sent.status_code == 201
            await stack.drain()
            [delivery] = [d for d in await deliveries(stack) if d.id == sent.json()["delivery_id"]]
            assert delivery.state == "failed" and "550" in delivery.last_error

            ticket = await stack.ticket(accepted["reference"])
            [note] = [e for e in ticket["timeline"] if e["data"].get("fallback")]
            assert note["data"]["proposed_channel"] == "sms" and note["data"]["failed_channel"] == "email"
            assert "next channel in the citizen's preferences: sms (+33612345678)" in note["reason"]
            fallback = await stack.client.get(f"/api/v1/tickets/{accepted['reference']}/replies/fallback",
                                              headers=await auth(stack))
            body = fallback.json()
            assert body["proposed"]["channel"] == "sms" and body["last_failure"]["delivery_id"] == delivery.id
            email = next(c for c in body["channels"] if c["channel"] == "email")
            assert email["reachable"] is False and "550" in email["why"]
            # The default channel no longer reaches them: 409 proposing SMS.
            again = await reply(stack, accepted["reference"], text="Votre dossier est complet.")
            assert again.status_code == 409 and again.json()["proposed_channel"] == "sms"


async def test_suggestions_rank_the_right_answer_first(stack: Stack) -> None:
    cases = [
        ({"message": "Bonjour, je voudrais une copie intégrale de mon acte de naissance pour un mariage.",
          "category": "etat_civil"}, "Copie ou extrait d'acte de naissance"),
        ({"message": "Le lampadaire devant chez moi ne marche plus, la rue est dans le noir.", "category": "voirie"},
         "Éclairage public en panne"),
        ({"message": "السلام عليكم، أحتاج إلى نسخة من عقد الازدياد الخاص بابني", "category": "etat_civil",
          "name": "Youssef Alaoui", "email": "youssef@example.org"}, "نسخة من عقد الازدياد"),
        ({"message": "مصباح الشارع أمام منزلي معطل منذ أيام", "category": "voirie",
          "name": "Fatima Zahra", "email": "fatima@example.org"}, "عطب في الإنارة العمومية"),
    ]
    for fields, title in cases:
        accepted = await stack.post_request(**fields)
        await stack.drain()
        found = await stack.client.get(f"/api/v1/tickets/{accepted['reference']}/suggestions",
                                       headers=await auth(stack))
        assert found.status_code == 200, found.text
        suggestions = found.json()["suggestions"]
        assert suggestions and suggestions[0]["title"] == title, suggestions
        assert len(suggestions) <= 3 and suggestions[0]["why"] and suggestions[0]["score"] > 50
    # Sending from the suggested answer sets it in the frame, and is remembered for next time.
    answer = suggestions[0]
    preview = await stack.client.post(f"/api/v1/tickets/{accepted['reference']}/replies/preview",
                                      json={"answer_id": answer["id"]}, headers=await auth(stack))
    assert preview.status_code == 200
    assert "يتدخل فريق الإنارة العمومية" in preview.json()["text"]
    sent = await reply(stack, accepted["reference"], answer_id=answer["id"])
    assert sent.status_code == 201, sent.text
    async with stack.session() as session:
        choices = (await session.exec(select(ReplyChoice))).all()
    assert [c.choice for c in choices] == [f"answer:{answer['id']}"]
    assert choices[0].language == "ar"
    assert (await stack.client.get(f"/api/v1/tickets/{accepted['reference']}/suggestions",
                                   headers=await auth(stack, SOPHIE))).status_code == 403
