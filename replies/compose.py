"""An agent's reply: started from a template or a ready answer, edited freely, sent on the channel
that reaches the citizen. The text decisions are pure; queue_reply writes the reply in the
caller's transaction (the outbound message, its delivery, what it was started from)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import escape
from sqlmodel.ext.asyncio.session import AsyncSession

from crm import tickets
from crm.errors import Conflict
from crm.models import EventKind, Message, Ticket
from crm.types import Channel
from replies.models import Delivery, DeliveryState, ReplyChoice
from replies.outbox import queue_delivery
from replies.reach import Route
from replies.suggest import fold
from replies.templates import Rendered

# Carried out by a person, not a transport: held in the outbox for the front desk.
HELD_CHANNELS = (Channel.LETTER.value, Channel.PHONE.value)
_GAP = re.compile(r"\n{3,}")
_SMS_PREFIX = {"fr": "réf. {short} : ", "en": "ref. {short}: ", "ar": "المرجع {short}: "}
_LETTER_WORDS = {"fr": ("Référence :", "Objet :"), "en": ("Reference:", "Subject:"), "ar": ("المرجع:", "الموضوع:")}
_HELD_REASON = {Channel.LETTER.value: "printable letter queued for the front desk",
                Channel.PHONE.value: "call-back task queued for the front desk"}


class ChannelUnavailable(Conflict):
    """The chosen channel does not reach the citizen; the error proposes the next one."""

    code = "channel_unavailable"

    def __init__(self, route: Route, proposed: Route | None) -> None:
        then = (f"; the next channel in the citizen's preferences is {proposed.channel} ({proposed.to})"
                if proposed else "; no other channel reaches the citizen")
        super().__init__(f"cannot reply by {route.channel}: {route.why}{then}",
                         fields={"channel": route.why})
        self.extra = {"channel": route.channel, "proposed_channel": proposed.channel if proposed else None}


@dataclass(frozen=True)
class Reply:
    """What goes out: on `channel` to `to`, the text as the agent left it."""

    channel: str
    to: str
    language: str
    subject: str
    text: str
    html: str | None
    template_id: int | None = None
    answer_id: int | None = None
    choice: str | None = None  # what it was started from, for suggestions ("template:…", "answer:12")


def insert_answer(frame: str, answer: str) -> str:
    """A ready answer set into the frame's blank (the agent_reply templates leave one: three or
    more line breaks); after the frame when it has none."""
    answer = answer.strip()
    if not frame.strip():
        return answer + "\n"
    if _GAP.search(frame):
        return _GAP.sub(lambda _: f"\n\n{answer}\n\n", frame, count=1)
    return frame.rstrip() + "\n\n" + answer + "\n"


def with_short_reference(text: str, short_reference: str, prefix: str | None, language: str) -> str:
    """An SMS always carries the short reference (a reply quoting it finds its ticket): the
    channel's frame, or a plain prefix, goes first when the agent's text lacks it."""
    if short_reference in text:
        return text
    start = prefix if prefix and short_reference in prefix else \
        _SMS_PREFIX.get(language, _SMS_PREFIX["en"]).format(short=short_reference)
    return start + text.lstrip()


def letter_page(text: str, *, service: str, recipient: list[str], reference: str, subject: str,
                language: str) -> str:
    """A printable A4 page for the agent's own text: letterhead, recipient, reference, paragraphs."""
    ref_word, subject_word = _LETTER_WORDS.get(language, _LETTER_WORDS["en"])
    paragraphs = "\n".join("<p>" + str(escape(p.strip())).replace("\n", "<br>\n") + "</p>"
                           for p in text.strip().split("\n\n") if p.strip())
    lines = "<br>".join(str(escape(line)) for line in recipient if line)
    direction = "rtl" if language == "ar" else "ltr"
    return (f'<!doctype html>\n<html lang="{escape(language)}" dir="{direction}"><head><meta charset="utf-8">'
            f"<title>{escape(reference)}</title>\n<style>@page {{ size: A4; margin: 2.5cm }} "
            "body { font-family: serif; font-size: 12pt } .head { margin-bottom: 2cm } "
            ".to { margin-bottom: 1.5cm } .ref { margin: 1cm 0 }</style></head>\n<body>\n"
            f'<div class="head"><strong>{escape(service)}</strong></div>\n<div class="to">{lines}</div>\n'
            f'<p class="ref">{escape(ref_word)} {escape(reference)}'
            + (f"<br>{escape(subject_word)} {escape(subject)}" if subject else "") + "</p>\n"
            f"{paragraphs}\n</body></html>\n")


def build_reply(*, route: Route, language: str, started: Rendered | None, text: str | None, subject: str | None,
                short_reference: str, sms_prefix: str | None, letter: dict, fallback_subject: str,
                answer_id: int | None = None, choice: str | None = None) -> Reply:
    """The reply as it will leave (pure): the agent's text when given, else what it started
    from; an SMS with the short reference; a letter as a printable page."""
    body = text if text is not None and text.strip() else (started.body if started else "")
    edited = started is None or body != started.body
    html = None if edited or started is None else started.html
    if route.channel == Channel.SMS.value:
        body = with_short_reference(body.strip(), short_reference, sms_prefix, language)
    title = ((subject or "").strip() or (started.subject if started else "") or fallback_subject) \
        if route.channel in (Channel.EMAIL.value, Channel.LETTER.value) else ""
    if route.channel == Channel.LETTER.value and html is None:
        html = letter_page(body, subject=title, language=language, **letter)
    if route.channel not in (Channel.EMAIL.value, Channel.LETTER.value):
        html = None
    return Reply(channel=route.channel, to=route.to or "", language=language, subject=title, text=body,
                 html=html, template_id=started.template_id if started else None, answer_id=answer_id,
                 choice=choice)


async def queue_reply(session: AsyncSession, ticket: Ticket, reply: Reply, *, agent_id: int, dedupe_key: str,
                      answering: Message | None, header_message_id: str | None = None,
                      headers: dict[str, str] | None = None) -> tuple[Delivery, bool]:
    """The outbound message (MESSAGE_OUT by the agent), its delivery — queued for a transport, or
    held for the front desk (a letter to print, a call back) — and what the reply was started
    from. (delivery, created): the same key twice is one reply."""
    held = reply.channel in HELD_CHANNELS
    delivery, created = await queue_delivery(
        session, ticket, channel=reply.channel, to=reply.to,
        rendered=Rendered(reply.subject, reply.text, reply.template_id, reply.language, reply.html),
        dedupe_key=dedupe_key, reason=f"reply by {reply.channel}", header_message_id=header_message_id,
        headers=headers, agent_id=agent_id, state=DeliveryState.HELD if held else DeliveryState.QUEUED,
        meta={"kind": "agent_reply", "answer_id": reply.answer_id,
              "in_reply_to_message_id": answering.id if answering else None})
    if not created:
        return delivery, False
    if reply.choice:
        session.add(ReplyChoice(ticket_id=ticket.id, message_id=delivery.message_id,
                                inbound_message_id=answering.id if answering else None,
                                language=reply.language, choice=reply.choice,
                                inbound_text=fold(answering.text if answering else "")[:1000], agent_id=agent_id))
    if held:
        await tickets.record_event(session, ticket.id, EventKind.DELIVERY, reason=_HELD_REASON[reply.channel],
                                   actor_type="agent", actor_id=agent_id,
                                   data={"delivery_id": delivery.id, "message_id": delivery.message_id,
                                         "state": delivery.state, "channel": delivery.channel, "to": delivery.to})
    await session.flush()
    return delivery, True
