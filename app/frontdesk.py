"""Accept a contact an agent logs at the front desk (phone, counter, letter): validate, reserve a
reference, record it raw. The pipeline does the rest after commit, as for every channel."""
from __future__ import annotations

import base64
import binascii
import uuid
from typing import Literal

from pydantic import BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from app.intake import Accepted, contact_errors
from channels import counter
from crm.attachments import AttachmentPolicy, refusal
from crm.columns import utcnow
from crm.errors import Conflict, Forbidden, InvalidInput, TooLarge
from crm.identity import contact_points, get_citizen
from crm.inbound import find_inbound, record_inbound
from crm.models import ContactKind
from crm.tickets import find_by_reference, reserve_reference
from crm.types import AttachmentData
from routing.categories import category_by_slug
from routing.models import Agent, Role

# Everyone who works a desk or a queue may log a contact.
MAY_LOG_CONTACTS = frozenset(r.value for r in (Role.FRONTDESK, Role.AGENT, Role.SUPERVISOR, Role.ADMIN))
MAX_ATTACHMENTS = 5
# What each reply channel needs the citizen to have.
REPLY_NEEDS = {"sms": ("phone", "a phone number"), "email": ("email", "an email address"),
               "letter": ("address", "a postal address"), "call_back": ("phone", "a phone number")}
CONTACT_KIND = {"email": ContactKind.EMAIL.value, "phone": ContactKind.PHONE.value,
                "address": ContactKind.POSTAL_ADDRESS.value}


class ScanIn(BaseModel):
    """A scanned letter or document, base64-encoded in the JSON body."""

    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=3, max_length=255, description="e.g. application/pdf, image/jpeg")
    data: str = Field(description="the file's bytes, base64 (standard alphabet, padded)")


class ContactIn(BaseModel):
    """A contact as the agent logs it. The citizen: `citizen_id` of an existing one, or new
    details (`full_name` and what they gave); `reference`: add to that ticket of theirs."""

    channel: Literal["phone", "counter", "letter"]
    citizen_id: int | None = None
    full_name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=40)
    address: str | None = Field(None, max_length=200, description="street and number")
    postcode: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=100)
    national_id: str | None = Field(None, max_length=40)
    language: str | None = Field(None, max_length=8, description="fr, en, ar…; unset: detected")
    reference: str | None = Field(None, max_length=32, description="an open or closed ticket of this citizen")
    category: str | None = Field(None, max_length=64, description="a category slug; required without reference")
    subject: str = Field(max_length=300)
    note: str = Field(max_length=10_000, description="what the citizen asked, in their words")
    reply_channel: Literal["sms", "email", "letter", "call_back"] | None = Field(
        None, description="unset: email, else sms, else letter, from what the citizen has")
    resolved_on_the_spot: bool = False
    attachments: list[ScanIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def _postal_address(contact: ContactIn) -> str | None:
    town = " ".join(p for p in (_text(contact.postcode), _text(contact.city)) if p)
    return ", ".join(p for p in (_text(contact.address), town) if p) or None


def _scans(contact: ContactIn, policy: AttachmentPolicy) -> list[dict[str, str]]:
    """Each scan decoded and checked now, so the agent hears at once what cannot be kept."""
    scans, errors = [], {}
    for index, scan in enumerate(contact.attachments):
        field = f"attachments[{index}]"
        try:
            data = base64.b64decode(scan.data, validate=True)
        except (binascii.Error, ValueError):
            errors[field] = "data is not base64"
            continue
        if len(data) > policy.max_bytes:
            raise TooLarge(f"{scan.filename}: larger than {policy.max_bytes} bytes",
                           fields={field: f"larger than {policy.max_bytes} bytes (GUICHET_ATTACHMENT_MAX_BYTES)"})
        refused = refusal(AttachmentData(scan.filename, scan.content_type, data), policy)
        if refused:
            errors[field] = refused
        scans.append({"filename": scan.filename.strip(), "content_type": scan.content_type.strip().lower(),
                      "data": base64.b64encode(data).decode()})
    if errors:
        raise InvalidInput("attachments refused", fields=errors)
    return scans


async def _check(session: AsyncSession, contact: ContactIn, fields: dict, default_region: str) -> dict:
    """The field errors, and what the citizen's record holds for the reply channel."""
    errors = contact_errors({k: fields[k] for k in ("email", "phone", "national_id")}, default_region)
    for name in ("subject", "note"):
        if not fields[name]:
            errors[name] = "required"
    if fields["reference"]:
        ticket = await find_by_reference(session, fields["reference"])  # 404 when unknown
        if fields["citizen_id"] is not None and fields["citizen_id"] != ticket.citizen_id:
            errors["reference"] = "not a ticket of this citizen"
        fields["citizen_id"], fields["reference"] = ticket.citizen_id, ticket.reference
        if fields["resolved_on_the_spot"]:
            errors["resolved_on_the_spot"] = ("for a new request only; an existing ticket is resolved by "
                                              "its holder (POST /api/v1/tickets/{reference}/status)")
    elif not fields["category"]:
        errors["category"] = "required"
    if fields["category"] and await category_by_slug(session, fields["category"]) is None:
        errors["category"] = "unknown category"
    if fields["citizen_id"] is not None and fields["name"]:
        errors["full_name"] = "give citizen_id for an existing citizen or full_name for a new one, not both"
    elif fields["citizen_id"] is None and not fields["name"]:
        errors["full_name"] = "required for a new citizen (or give citizen_id)"
    on_record: dict[str, str] = {}
    if fields["citizen_id"] is not None:
        await get_citizen(session, fields["citizen_id"])  # 404 when unknown
        for point in await contact_points(session, fields["citizen_id"]):
            for key, kind in CONTACT_KIND.items():
                if point.kind == kind:
                    on_record[key] = point.value  # the latest of each kind
    has = {key for key in CONTACT_KIND if fields[key] or on_record.get(key)}
    if fields["reply_channel"] is None:
        fields["reply_channel"] = next((c for c, (need, _) in REPLY_NEEDS.items() if need in has), None)
        if fields["reply_channel"] is None and "full_name" not in errors:
            errors["reply_channel"] = "the citizen has no email, phone or postal address to be answered on"
    else:
        need, what = REPLY_NEEDS[fields["reply_channel"]]
        if need not in has:
            errors["reply_channel"] = f"{fields['reply_channel']} needs {what}: give {need}"
    if errors:
        raise InvalidInput("invalid contact", fields=errors)
    # The reply address the record holds, when the agent did not type one.
    return {k: v for k, v in on_record.items() if not fields[k]}


async def submit_contact(
    session: AsyncSession, contact: ContactIn, *, agent: Agent, submission_key: str | None,
    default_region: str, attachment_policy: AttachmentPolicy,
) -> Accepted:
    """Record the contact raw and promise its reference (a new one, or the ticket it adds to).

    `submission_key` (an Idempotency-Key, per agent) makes a repeat return the first answer; the
    same key with other fields is refused."""
    if agent.role not in MAY_LOG_CONTACTS:
        raise Forbidden("only front-desk staff, agents, supervisors and administrators log contacts")
    fields = {
        "channel": contact.channel, "citizen_id": contact.citizen_id, "name": _text(contact.full_name),
        "email": _text(contact.email), "phone": _text(contact.phone), "address": _postal_address(contact),
        "national_id": _text(contact.national_id), "language": _text(contact.language),
        "reference": _text(contact.reference), "category": _text(contact.category),
        "subject": _text(contact.subject), "note": _text(contact.note),
        "reply_channel": contact.reply_channel, "resolved_on_the_spot": contact.resolved_on_the_spot,
        "logged_by": agent.id, "attachments": _scans(contact, attachment_policy),
    }
    on_record = await _check(session, contact, fields, default_region)
    external_id = f"key:{agent.id}:{submission_key}" if submission_key else f"auto:{uuid.uuid4()}"
    for channel in counter.CONTACT_CHANNELS:
        previous = await find_inbound(session, channel, external_id)
        if previous is not None:
            if counter.contact_fields(previous.payload) != {**fields, **on_record}:
                raise Conflict("this idempotency key was used for a different contact")
            return Accepted(previous.reference or fields["reference"], "received", previous.id, replayed=True)
    reference = fields["reference"] or await reserve_reference(session)
    payload = counter.encode({**fields, **on_record}, contact_id=external_id, logged_at=utcnow())
    recorded = await record_inbound(session, channel=contact.channel, external_id=external_id, payload=payload,
                                    reference=None if fields["reference"] else reference)
    if not recorded.created:  # a concurrent twin got there first
        return Accepted(recorded.event.reference or reference, "received", recorded.event.id, replayed=True)
    return Accepted(reference, "received", recorded.event.id, replayed=False)
