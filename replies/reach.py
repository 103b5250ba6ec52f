"""Which channels reach a citizen now, and the next one when a channel fails for good.

The citizen's preferences, in order: the ticket's reply channel, then email, SMS, a printed
letter (with a postal address), a call back (with a phone). A channel is out when there is no
address for it, the address opted out (SMS STOP), or the last delivery to that address failed
permanently (SMTP 5xx or a DSN bounce, Twilio 21211 / 21610 / 21614 at once or a later status
callback with a code in PERMANENT_SMS_CODES, blocked). A dead letter (temporary failures,
retried until the limit), an interrupted send and a carrier failure with any other code (30007
filtering, 30008 unknown...) say nothing about the address.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm import tickets
from crm.identity import contact_points
from crm.models import Citizen, ContactKind, EventKind, Message, Ticket
from crm.opt_outs import opted_out, record_opt_out
from crm.types import Channel, Direction
from replies.models import Delivery, DeliveryState

REPLY_CHANNELS = (Channel.EMAIL.value, Channel.SMS.value, Channel.LETTER.value, Channel.PHONE.value)
# Twilio: the number does not exist, so it can be neither texted nor called back.
INVALID_NUMBER = "21211"
UNKNOWN_HANDSET = "30005"  # reported later by the carrier: the number does not exist either
UNSUBSCRIBED = "21610"  # the carrier holds a STOP we never saw
# Twilio's codes that say the address itself does not take our SMS (twilio.com/docs/api/errors),
# whether the API refused at once or a status callback reported it later. 30003 "unreachable
# handset" is often a phone switched off, but Twilio does not retry it: this message is lost,
# so the next channel is proposed; the next SMS that gets through makes the number good again.
PERMANENT_SMS_CODES = {
    "21211": "not a valid phone number",
    "21610": "the number unsubscribed (STOP at the carrier)",
    "21614": "not a mobile number",
    "21635": "a landline, which cannot receive SMS",
    "30003": "the handset is unreachable",
    "30004": "the message was blocked by the recipient's carrier or handset",
    "30005": "unknown handset: the number does not exist",
    "30006": "a landline or an unreachable carrier",
}
NOT_THE_ADDRESS = ("gave up after retries", "interrupted during the send")


@dataclass(frozen=True)
class Route:
    channel: str
    to: str | None
    reachable: bool
    why: str  # why not, or where


def address_kind(value: str) -> str:
    """What a stored reply address is: an email, a phone (E.164) or a postal address."""
    if "@" in value:
        return ContactKind.EMAIL.value
    if value.startswith("+") and value[1:].isdigit():
        return ContactKind.PHONE.value
    return ContactKind.POSTAL_ADDRESS.value


def is_permanent_failure(state: str, last_error: str | None, *, error_code: str | None = None,
                         provider_status: str | None = None) -> bool:
    """Whether the address failed for good. A failure the provider reported after accepting the
    message (its status `undelivered` / `failed`) is permanent only with a code saying so."""
    if state == DeliveryState.BLOCKED.value:
        return True
    if provider_status in (DeliveryState.UNDELIVERED.value, DeliveryState.FAILED.value):
        return error_code in PERMANENT_SMS_CODES
    return state == DeliveryState.FAILED.value and not (last_error or "").startswith(NOT_THE_ADDRESS)


def failed_for_good(delivery: Delivery) -> bool:
    return is_permanent_failure(delivery.state, delivery.last_error, error_code=delivery.error_code,
                                provider_status=delivery.provider_status)


_NEEDS = {Channel.EMAIL.value: ContactKind.EMAIL.value, Channel.SMS.value: ContactKind.PHONE.value,
          Channel.PHONE.value: ContactKind.PHONE.value, Channel.LETTER.value: ContactKind.POSTAL_ADDRESS.value}
_NAMES = {Channel.EMAIL.value: "email address", Channel.SMS.value: "mobile number",
          Channel.PHONE.value: "phone number", Channel.LETTER.value: "postal address"}


def rank_routes(preferred: str, addresses: dict[str, str], opted_out_channels: set[str],
                failed: dict[str, str]) -> list[Route]:
    """Every reply channel in the citizen's order of preference, each with its address and
    whether it reaches them (pure). `addresses`: contact kind -> address; `failed`: channel ->
    the permanent failure of the last delivery to that channel's address."""
    order = list(dict.fromkeys([preferred, *REPLY_CHANNELS]))
    routes = []
    for channel in order:
        if channel not in _NEEDS:
            continue  # a web form or the counter: nothing is sent there
        to = addresses.get(_NEEDS[channel])
        if not to:
            routes.append(Route(channel, None, False, f"no {_NAMES[channel]} on record"))
        elif channel in opted_out_channels:
            routes.append(Route(channel, to, False, f"{to} opted out of {channel} (STOP)"))
        elif channel in failed:
            routes.append(Route(channel, to, False, f"the last {channel} to {to} failed for good: {failed[channel]}"))
        else:
            routes.append(Route(channel, to, True, to))
    return routes


def next_route(routes: list[Route], *, besides: str | None = None) -> Route | None:
    """The first channel that reaches the citizen, other than `besides`."""
    return next((r for r in routes if r.reachable and r.channel != besides), None)


async def citizen_addresses(session: AsyncSession, ticket: Ticket) -> dict[str, str]:
    """Contact kind -> address: what the citizen wrote from on this ticket (newest first), then
    their record's contact points (newest first), then their postal address."""
    found: dict[str, str] = {}
    inbound = (await session.exec(
        select(Message.meta).where(Message.ticket_id == ticket.id, Message.direction == Direction.IN.value)
        .order_by(col(Message.id).desc()).limit(50))).all()
    for meta in inbound:
        value = (meta or {}).get("reply_to")
        if value:
            found.setdefault(address_kind(value), value)
    for point in reversed(await contact_points(session, ticket.citizen_id)):
        if point.kind in (ContactKind.EMAIL.value, ContactKind.PHONE.value, ContactKind.POSTAL_ADDRESS.value):
            found.setdefault(point.kind, point.value)
    citizen = await session.get(Citizen, ticket.citizen_id)
    if citizen is not None and citizen.address:
        town = " ".join(p for p in (citizen.postcode, citizen.city) if p)
        found.setdefault(ContactKind.POSTAL_ADDRESS.value, ", ".join(p for p in (citizen.address, town) if p))
    return found


async def _failures(session: AsyncSession, citizen_id: int, addresses: dict[str, str]) -> dict[str, str]:
    """Channel -> why, for channels whose last delivery to the current address failed for good."""
    rows = (await session.exec(
        select(Delivery).join(Ticket, col(Ticket.id) == Delivery.ticket_id)
        .where(Ticket.citizen_id == citizen_id).order_by(col(Delivery.id).desc()).limit(200))).all()
    latest: dict[tuple[str, str], Delivery] = {}
    for delivery in rows:
        latest.setdefault((delivery.channel, delivery.to), delivery)
    failed = {}
    for (channel, to), delivery in latest.items():
        if channel in _NEEDS and addresses.get(_NEEDS[channel]) == to and failed_for_good(delivery):
            failed[channel] = delivery.last_error or delivery.state
            if channel == Channel.SMS.value and delivery.error_code in (INVALID_NUMBER, UNKNOWN_HANDSET):
                failed.setdefault(Channel.PHONE.value, delivery.last_error or "invalid number")
    return failed


async def routes_for(session: AsyncSession, ticket: Ticket) -> list[Route]:
    addresses = await citizen_addresses(session, ticket)
    stopped = set()
    for channel, kind in ((Channel.SMS.value, ContactKind.PHONE.value), (Channel.EMAIL.value, ContactKind.EMAIL.value)):
        if addresses.get(kind) and await opted_out(session, channel, [addresses[kind]]):
            stopped.add(channel)
    return rank_routes(ticket.reply_channel, addresses, stopped,
                       await _failures(session, ticket.citizen_id, addresses))


async def propose_fallback(session: AsyncSession, delivery: Delivery) -> Route | None:
    """After a permanent failure: the next channel that reaches the citizen, on the ticket's
    timeline (a proposal; the agent decides). A Twilio 21610 is recorded as the STOP it is."""
    if delivery.ticket_id is None:
        return None
    if delivery.channel == Channel.SMS.value and delivery.error_code == UNSUBSCRIBED:
        await record_opt_out(session, Channel.SMS.value, delivery.to, source=f"twilio {UNSUBSCRIBED}")
    await session.flush()
    ticket = await tickets.get_ticket(session, delivery.ticket_id)
    route = next_route(await routes_for(session, ticket), besides=delivery.channel)
    why = delivery.last_error or delivery.state
    if route is None:
        reason = (f"{delivery.channel} to {delivery.to} failed for good ({why}); no other channel "
                  "reaches the citizen: ask them at their next contact")
    else:
        reason = (f"{delivery.channel} to {delivery.to} failed for good ({why}); next channel in the "
                  f"citizen's preferences: {route.channel} ({route.to})")
    await tickets.record_event(session, ticket.id, EventKind.NOTE, reason=reason, data={
        "fallback": True, "delivery_id": delivery.id, "failed_channel": delivery.channel,
        "proposed_channel": route.channel if route else None, "proposed_to": route.to if route else None})
    return route
