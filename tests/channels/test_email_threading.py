"""Email through the whole pipeline: a citizen's reply finds its ticket, strangers do not."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from replies.models import Delivery
from tests.conftest import Stack

GUICHET = str(Path(sys.executable).with_name("guichet"))


def mail(tmp_path: Path, name: str, *, sender: str, subject: str, body: str,
         headers: str = "") -> Path:
    path = tmp_path / name
    path.write_bytes((f"From: {sender}\nTo: mairie@ville.fr\nSubject: {subject}\n"
                      f"Message-ID: <{name}@client.example>\n{headers}"
                      "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n" + body).encode())
    return path


def ingest(stack: Stack, *paths: Path, **env_extra: str) -> list[dict]:
    env = {**os.environ, "GUICHET_DATABASE_URL": stack.settings.database_url, **env_extra}
    env.pop("GUICHET_REDIS_URL", None)
    result = subprocess.run([GUICHET, "email", "ingest", *map(str, paths)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


async def _ack_delivery(stack: Stack, reference: str) -> Delivery:
    ticket = await stack.ticket(reference)
    out = next(e for e in ticket["timeline"] if e["kind"] == "message_out")
    async with stack.session() as session:
        return (await session.exec(select(Delivery).where(
            Delivery.message_id == out["data"]["message_id"]))).one()


async def test_reply_to_our_acknowledgement_lands_on_its_ticket(stack: Stack, tmp_path: Path) -> None:
    accepted = await stack.post_request(email="nadia@example.org")
    await stack.drain()
    ack_id = (await _ack_delivery(stack, accepted["reference"])).header_message_id
    reply = mail(tmp_path, "r1", sender="Nadia <nadia@example.org>",
                 subject="Re: Votre demande a bien été reçue",  # no reference: the headers decide
                 headers=f"In-Reply-To: {ack_id}\nReferences: {ack_id}\n",
                 body="Voici le numéro : 1234.\n\nLe lun. 2 mars 2026, Mairie <m@v.fr> a écrit :\n> Bonjour")
    [row] = ingest(stack, reply)
    assert row["reference"] == accepted["reference"] and row["status"] == "processed"
    ticket = await stack.ticket(accepted["reference"])
    inbound = [m for m in ticket["messages"] if m["direction"] == "in"]
    assert inbound[-1]["channel"] == "email" and inbound[-1]["text"] == "Voici le numéro : 1234."
    threaded = [e for e in ticket["timeline"] if e["kind"] == "message_in"][-1]
    assert "In-Reply-To" in threaded["reason"]
    # The same mail fetched again changes nothing.
    assert ingest(stack, reply)[0]["inbound_id"] == row["inbound_id"]
    assert len([m for m in (await stack.ticket(accepted["reference"]))["messages"]
                if m["direction"] == "in"]) == 2


async def test_reference_in_subject_threads_only_for_the_ticket_citizen(stack: Stack, tmp_path: Path) -> None:
    accepted = await stack.post_request(email="nadia@example.org")
    await stack.drain()
    ref = accepted["reference"]
    own = mail(tmp_path, "own", sender="nadia@example.org", subject=f"[{ref}] complément", body="Pièce jointe")
    stranger = mail(tmp_path, "str", sender="eve@example.org", subject=f"Re: {ref}", body="Moi aussi")
    rows = ingest(stack, own, stranger)
    assert rows[0]["reference"] == ref
    assert rows[1]["reference"] != ref
    new = await stack.ticket(rows[1]["reference"])
    created = next(e for e in new["timeline"] if e["kind"] == "created")
    assert "not that ticket's citizen" in created["reason"]
    assert created["data"]["related_ticket_id"]
    assert new["citizen"]["contact_points"][0]["value"] == "eve@example.org"


async def test_auto_replies_are_kept_but_never_answered(stack: Stack, tmp_path: Path) -> None:
    vacation = mail(tmp_path, "ooo", sender="jean@example.org", subject="Réponse automatique : absent",
                    headers="Auto-Submitted: auto-replied\n", body="Je suis absent.")
    [row] = ingest(stack, vacation)
    assert row["status"] == "processed"
    ticket = await stack.ticket(row["reference"])
    assert [m["direction"] for m in ticket["messages"]] == ["in"]  # recorded, not acknowledged


async def test_acknowledgement_of_an_email_threads_in_the_citizen_client(stack: Stack, tmp_path: Path) -> None:
    first = mail(tmp_path, "first", sender="Omar <omar@example.org>", subject="Question",
                 headers="References: <older@client.example>\n", body="Bonjour, une question.")
    [row] = ingest(stack, first)
    delivery = await _ack_delivery(stack, row["reference"])
    assert delivery.to == "omar@example.org"
    assert delivery.headers == {"In-Reply-To": "<first@client.example>",
                                "References": "<older@client.example> <first@client.example>"}


async def test_reply_token_threads_a_reply_that_lost_its_headers(stack: Stack, tmp_path: Path) -> None:
    """Some clients (and forwards from a phone) drop In-Reply-To and rewrite the subject:
    the plus-addressed Reply-To still leads the reply to its ticket, and only a real token does."""
    reply_to = {"GUICHET_REPLY_ADDRESS": "Guichet@Ville.fr"}
    first = mail(tmp_path, "tok1", sender="Omar <omar@example.org>", subject="Question", body="Bonjour.")
    [row] = ingest(stack, first, **reply_to)
    headers = (await _ack_delivery(stack, row["reference"])).headers
    local, _, domain = headers["Reply-To"].partition("@")
    assert local.startswith("guichet+") and domain == "ville.fr"
    token = local.removeprefix("guichet+")
    assert len(token) == 20

    answer = tmp_path / "tok2"
    answer.write_bytes(("From: Omar B. <omar.pro@work.example>\nTo: " + headers["Reply-To"] + "\n"
                        "Subject: ma réponse\nMessage-ID: <tok2@work.example>\n\nVoici la pièce.").encode())
    bcc = tmp_path / "tok3"  # the token only in the envelope header, as after a Bcc or a redirect
    bcc.write_bytes(("From: omar@example.org\nTo: mairie@ville.fr\nDelivered-To: " + headers["Reply-To"].upper()
                     + "\nSubject: encore\nMessage-ID: <tok3@x>\n\nEt une autre.").encode())
    forged = tmp_path / "tok4"
    forged.write_bytes(("From: omar@example.org\nTo: guichet+" + "0" * 20 + "@ville.fr\n"
                        "Subject: deviné\nMessage-ID: <tok4@x>\n\nUn jeton inventé.").encode())
    other_domain = tmp_path / "tok5"
    other_domain.write_bytes(("From: omar@example.org\nTo: guichet+" + token + "@elsewhere.fr\n"
                              "Subject: ailleurs\nMessage-ID: <tok5@x>\n\nAutre domaine.").encode())
    rows = ingest(stack, answer, bcc, forged, other_domain, **reply_to)
    assert [r["reference"] == row["reference"] for r in rows] == [True, True, False, False]
    threaded = [e for e in (await stack.ticket(row["reference"]))["timeline"] if e["kind"] == "message_in"]
    assert all(f"sent to the reply address of {row['reference']}" in e["reason"] for e in threaded[1:])
    # Without the setting, tokens mean nothing and no Reply-To is sent.
    [plain] = ingest(stack, mail(tmp_path, "tok6", sender="lea@example.org", subject="Q", body="B"))
    assert "Reply-To" not in (await _ack_delivery(stack, plain["reference"])).headers


async def test_quarantine_is_listed_and_replayable(stack: Stack, tmp_path: Path) -> None:
    """Supervisors see what could not be read, with the reason, and can run it again."""
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    [row] = ingest(stack, empty)
    assert row["status"] == "quarantined"
    env = {**os.environ, "GUICHET_DATABASE_URL": stack.settings.database_url}
    env.pop("GUICHET_REDIS_URL", None)
    listed = subprocess.run([GUICHET, "inbound", "list", "--json"], env=env, capture_output=True,
                            text=True, timeout=60)
    [item] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert item["id"] == row["inbound_id"] and "empty message" in item["error"]
    replay = subprocess.run([GUICHET, "inbound", "replay", str(row["inbound_id"])], env=env,
                            capture_output=True, text=True, timeout=60)
    assert replay.returncode == 0, replay.stderr
    assert json.loads(replay.stdout)["status"] == "quarantined"  # still unreadable: kept, not lost
    not_quarantined = subprocess.run([GUICHET, "inbound", "replay", "999999"], env=env,
                                     capture_output=True, text=True, timeout=60)
    assert not_quarantined.returncode == 1 and "Traceback" not in not_quarantined.stderr


async def _close(stack: Stack, reference: str, days_ago: int) -> None:
    """Arrange: the agent closed the ticket some days ago (closing has no API yet)."""
    from datetime import timedelta

    from crm.columns import utcnow
    from crm.models import TicketStatus
    from crm.tickets import find_by_reference, set_status

    async with stack.session() as session:
        ticket = await find_by_reference(session, reference)
        await set_status(session, ticket, TicketStatus.CLOSED, reason="answered")
        ticket.closed_at = utcnow() - timedelta(days=days_ago)
        await session.commit()


async def test_reply_reopens_a_recently_closed_ticket(stack: Stack, tmp_path: Path) -> None:
    accepted = await stack.post_request(email="nadia@example.org")
    await stack.drain()
    await _close(stack, accepted["reference"], days_ago=3)
    reply = mail(tmp_path, "late", sender="nadia@example.org", subject=f"Re: {accepted['reference']}",
                 body="Finalement, il me manque une pièce.")
    [row] = ingest(stack, reply)
    assert row["reference"] == accepted["reference"]
    ticket = await stack.ticket(accepted["reference"])
    assert ticket["status"] == "open"
    changes = [e for e in ticket["timeline"] if e["kind"] == "status_changed"]
    assert [c["data"]["to"] for c in changes] == ["closed", "open"]


async def test_reply_long_after_closing_opens_a_linked_ticket(stack: Stack, tmp_path: Path) -> None:
    accepted = await stack.post_request(email="nadia@example.org")
    await stack.drain()
    await _close(stack, accepted["reference"], days_ago=60)
    reply = mail(tmp_path, "much-later", sender="nadia@example.org",
                 subject=f"Re: {accepted['reference']}", body="Nouvelle question.")
    [row] = ingest(stack, reply)
    assert row["reference"] != accepted["reference"]
    assert (await stack.ticket(accepted["reference"]))["status"] == "closed"
    created = next(e for e in (await stack.ticket(row["reference"]))["timeline"] if e["kind"] == "created")
    assert "closed more than 14 days ago" in created["reason"] and created["data"]["related_ticket_id"]


async def test_attachments_are_stored_outside_the_row_and_limits_hold(stack: Stack, tmp_path: Path) -> None:
    import base64
    import hashlib

    photo, script = b"\xff\xd8\xff\xe0" + b"1" * 3000, b"MZ\x90\x00 not really a program"
    raw = ("From: Claire <claire@example.org>\nSubject: Photos\nMessage-ID: <att@x>\nMIME-Version: 1.0\n"
           "Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain; charset=utf-8\n\n"
           "Voici les photos.\n--B\nContent-Type: image/jpeg\n"
           "Content-Disposition: attachment; filename=\"trou.jpg\"\nContent-Transfer-Encoding: base64\n\n"
           f"{base64.b64encode(photo).decode()}\n--B\nContent-Type: application/x-msdownload\n"
           "Content-Disposition: attachment; filename=\"facture.exe\"\nContent-Transfer-Encoding: base64\n\n"
           f"{base64.b64encode(script).decode()}\n--B--\n").encode()
    path = tmp_path / "att.eml"
    path.write_bytes(raw)
    store = tmp_path / "store"
    [row] = ingest(stack, path, GUICHET_ATTACHMENT_DIR=str(store))
    ticket = await stack.ticket(row["reference"])
    files = ticket["messages"][0]["attachments"]
    assert [(f["filename"], f["size"], f["refused"]) for f in files] == [
        ("trou.jpg", len(photo), None), ("facture.exe", len(script), "blocked type application/x-msdownload")]
    digest = hashlib.sha256(photo).hexdigest()
    assert (store / digest[:2] / digest).read_bytes() == photo
    assert len(list(store.rglob("*"))) == 2  # one folder, one file: the refused one is not kept


FORWARD = ("Pour traitement.\n\n---------- Forwarded message ---------\n"
           "From: Nadia Amrani <nadia.amrani@example.org>\nDate: Mon, 2 Mar 2026 09:14\n"
           "Subject: Acte de naissance\nTo: {to}\n\nBonjour, je voudrais une copie de mon acte.")


async def test_a_forward_from_an_agent_is_filed_as_the_citizen_s(stack: Stack, tmp_path: Path) -> None:
    by_agent = mail(tmp_path, "fwd-agent", sender="Amina Benali <Amina.Benali@demo.guichet.fr>",
                    subject="Fwd: Acte de naissance", body=FORWARD.format(to="amina.benali@demo.guichet.fr"))
    by_stranger = mail(tmp_path, "fwd-stranger", sender="eve@example.org", subject="Fwd: Acte de naissance",
                       body=FORWARD.format(to="eve@example.org"))
    agent_row, stranger_row = ingest(stack, by_agent, by_stranger)
    ticket = await stack.ticket(agent_row["reference"])
    assert [p["value"] for p in ticket["citizen"]["contact_points"]] == ["nadia.amrani@example.org"]
    assert ticket["messages"][0]["text"] == "Bonjour, je voudrais une copie de mon acte."
    assert ticket["subject"] == "Acte de naissance"
    received = next(e for e in ticket["timeline"] if e["kind"] == "message_in")
    assert "forwarded in by amina.benali@demo.guichet.fr" in received["reason"]
    # The acknowledgement goes to the citizen, who did not know their mail went through an agent.
    assert (await _ack_delivery(stack, agent_row["reference"])).to == "nadia.amrani@example.org"
    # Anyone else forwarding a mail stays its author: nobody files requests in another's name.
    other = await stack.ticket(stranger_row["reference"])
    assert [p["value"] for p in other["citizen"]["contact_points"]] == ["eve@example.org"]
    # Switched off, an agent's forward is the agent's mail like any other.
    [off] = ingest(stack, mail(tmp_path, "fwd-off", sender="amina.benali@demo.guichet.fr",
                               subject="Fwd: x", body=FORWARD.format(to="a@b.fr")),
                   GUICHET_AGENT_FORWARDS="false")
    assert [p["value"] for p in (await stack.ticket(off["reference"]))["citizen"]["contact_points"]] == [
        "amina.benali@demo.guichet.fr"]


async def test_a_reply_to_an_agent_who_answered_from_outlook_finds_the_ticket(
        stack: Stack, tmp_path: Path) -> None:
    """The agent answered from their own Outlook, so our store never saw that answer: the
    citizen's reply still names their first mail in References, and that is enough."""
    first = mail(tmp_path, "ol-first", sender="Paul <paul@example.org>", subject="Stationnement",
                 body="Puis-je avoir une carte de résident ?")
    [row] = ingest(stack, first)
    reply = mail(tmp_path, "ol-reply", sender="Paul <paul@example.org>", subject="RE: RE: Stationnement",
                 headers="In-Reply-To: <AM0PR01MB1234@eurprd01.prod.outlook.com>\n"
                         "References: <ol-first@client.example> <AM0PR01MB1234@eurprd01.prod.outlook.com>\n",
                 body="Merci, je passe demain.\n\nDe : Agent <agent@ville.fr>\nEnvoyé : lundi\nÀ : Paul\n"
                      "Objet : RE: Stationnement\n\nOui, venez avec un justificatif.")
    [again] = ingest(stack, reply)
    assert again["reference"] == row["reference"]
    texts = [m["text"] for m in (await stack.ticket(row["reference"]))["messages"] if m["direction"] == "in"]
    assert texts[-1] == "Merci, je passe demain."


async def test_an_arabic_email_is_answered_and_routed_in_arabic(stack: Stack, tmp_path: Path) -> None:
    # No language on record and none declared: the text says it (bug: email tickets had no language,
    # so acknowledgements went out in French and the router ignored who speaks Arabic).
    first = mail(tmp_path, "ar1", sender="karima@example.org", subject="طلب عقد ازدياد",
                 body="السلام عليكم، أرجو أن ترسلوا لي نسخة من عقد ازدياد ابني. شكرا جزيلا")
    [row] = ingest(stack, first)
    ticket = await stack.ticket(row["reference"])
    assert ticket["language"] == "ar"
    assert ticket["assignee"]["email"] == "amina.benali@demo.guichet.fr"  # the etat_civil agent who speaks ar
    french = mail(tmp_path, "fr1", sender="luc@example.org", subject="Question",
                  body="Bonjour, quels sont les horaires d'ouverture de la mairie samedi ?")
    assert (await stack.ticket(ingest(stack, french)[0]["reference"]))["language"] == "fr"
