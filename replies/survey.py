"""The satisfaction survey after resolution: scores read from an SMS, signed links for email,
answers stored per ticket, and the barometer's aggregation (pure)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm import tickets
from crm.columns import utcnow
from crm.errors import InvalidInput
from crm.models import EventKind
from crm.types import Channel
from replies.models import Delivery, SatisfactionAnswer, Step

SCORES = range(1, 6)
# The dedupe key of a survey delivery ends with this (replies.notify: notify:<event>:<step>).
SURVEY_KEY_SUFFIX = f":{Step.SATISFACTION_SURVEY.value}"

# --- reading a score from an SMS (pure) -----------------------------------------------------

_STARS = {"⭐", "★", "☆"}
_OUT_OF = r"(?:/|sur|out of|of|على|من)"
_SCORE = re.compile(rf"^([1-5])(?:\s*{_OUT_OF}\s*5)?$")


def _plain(text: str) -> str:
    """Digits of any script as ASCII (Arabic-Indic ٤ -> 4), emoji variation selectors dropped,
    spaces squeezed, trailing punctuation and thanks-free: the whole text, case-folded."""
    folded = "".join(str(unicodedata.digit(c)) if c.isdigit() else c
                     for c in unicodedata.normalize("NFKC", text) if c not in "\ufe0f\u200d")
    return " ".join(folded.split()).strip(" .!،,;").casefold()


def parse_score(text: str) -> int | None:
    """The score 1-5 when the whole message is one: "4", "4/5", "4 sur 5", "٤", "⭐⭐⭐⭐";
    anything else (a sentence, "45", "0", "6/10") is not a score and goes to a request."""
    plain = _plain(text)
    if not plain:
        return None
    match = _SCORE.match(plain)
    if match:
        return int(match.group(1))
    stars = plain.replace(" ", "")
    if stars and set(stars) <= _STARS and len(stars) in SCORES:
        return len(stars)
    return None


# --- signed links for email (pure) ----------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, b"survey:" + payload.encode(), hashlib.sha256).digest()[:18])


def sign_answer(secret: bytes, ticket_id: int, score: int | None, issued_at: datetime) -> str:
    """A token for one ticket's survey (and one score, for a one-click link), from `issued_at`."""
    body = {"t": ticket_id, "i": int(issued_at.timestamp())}
    if score is not None:
        body["s"] = score
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    return f"{payload}.{_signature(secret, payload)}"


@dataclass(frozen=True)
class SurveyToken:
    ticket_id: int
    score: int | None
    issued_at: datetime


def read_token(secret: bytes, token: str, *, valid_for: timedelta, now: datetime) -> SurveyToken:
    """The token's content; InvalidInput when it was not signed by us, is malformed or expired."""
    payload, dot, signature = token.partition(".")
    if not dot or not hmac.compare_digest(signature.encode(), _signature(secret, payload).encode()):
        raise InvalidInput("this link is not valid")
    try:
        body = json.loads(_unb64(payload))
        token_ = SurveyToken(int(body["t"]), int(body["s"]) if "s" in body else None,
                             datetime.fromtimestamp(int(body["i"]), now.tzinfo))
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("this link is not valid") from None
    if token_.score is not None and token_.score not in SCORES:
        raise InvalidInput("this link is not valid")
    if now - token_.issued_at > valid_for:
        raise InvalidInput("this link has expired")
    return token_


def survey_links(secret: bytes, base_url: str, ticket_id: int, issued_at: datetime) -> dict[str, str]:
    """links.survey (the page) and links.survey_1 ... survey_5 (one click records that score)."""
    base = f"{base_url.rstrip('/')}/survey/"
    links = {"survey": base + sign_answer(secret, ticket_id, None, issued_at)}
    links |= {f"survey_{score}": base + sign_answer(secret, ticket_id, score, issued_at) for score in SCORES}
    return links


# --- answers ---------------------------------------------------------------------------------

async def record_answer(session: AsyncSession, ticket_id: int, score: int, *, channel: str,
                        comment: str | None = None, keep_score: bool = False) -> SatisfactionAnswer:
    """Store the ticket's answer; a second one replaces the first (a comment alone keeps the
    score with `keep_score`). The timeline says so."""
    if score not in SCORES:
        raise InvalidInput("a score is from 1 to 5")
    answer = (await session.exec(select(SatisfactionAnswer).where(SatisfactionAnswer.ticket_id == ticket_id)
                                 .with_for_update())).first()
    if answer is None:
        answer = SatisfactionAnswer(ticket_id=ticket_id, score=score, channel=channel)
        session.add(answer)
    elif not keep_score:
        answer.score, answer.channel = score, channel
    if comment is not None:
        answer.comment = comment.strip()[:2000] or None
    answer.answered_at = utcnow()
    await session.flush()
    await tickets.record_event(session, ticket_id, EventKind.NOTE, actor_type="citizen",
                               reason=f"satisfaction: {answer.score}/5 by {channel}"
                                      + (" with a comment" if answer.comment else ""),
                               data={"satisfaction_score": answer.score, "channel": channel})
    return answer


async def answer_of(session: AsyncSession, ticket_id: int) -> SatisfactionAnswer | None:
    return (await session.exec(select(SatisfactionAnswer)
                               .where(SatisfactionAnswer.ticket_id == ticket_id))).first()


async def surveyed_ticket(session: AsyncSession, number: str, *, within: timedelta,
                          now: datetime | None = None) -> int | None:
    """The ticket of the latest SMS survey sent to `number` within the window; None if none."""
    since = (now or utcnow()) - within
    return (await session.exec(
        select(Delivery.ticket_id)
        .where(Delivery.channel == Channel.SMS.value, Delivery.to == number,
               col(Delivery.dedupe_key).endswith(SURVEY_KEY_SUFFIX), col(Delivery.created_at) >= since,
               col(Delivery.ticket_id).is_not(None))
        .order_by(col(Delivery.id).desc()).limit(1)
    )).first()


# --- the barometer (pure) --------------------------------------------------------------------

@dataclass(frozen=True)
class Barometer:
    group: Hashable
    count: int
    mean: float
    distribution: dict[int, int]  # score -> answers


def aggregate(rows: Iterable[tuple[Hashable, int]]) -> list[Barometer]:
    """(group, score) rows -> per group: how many, the mean score (2 decimals) and how many of
    each score; groups in their order of first appearance."""
    counts: dict[Hashable, dict[int, int]] = {}
    for group, score in rows:
        if score not in SCORES:
            continue
        counts.setdefault(group, dict.fromkeys(SCORES, 0))[score] += 1
    result = []
    for group, distribution in counts.items():
        count = sum(distribution.values())
        mean = sum(score * n for score, n in distribution.items()) / count
        result.append(Barometer(group, count, round(mean, 2), distribution))
    return result
