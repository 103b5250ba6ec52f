"""Accept a citizen's request from the web form: validate, reserve a reference, record it raw."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from pydantic import BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from app.queue import enqueue_after_commit
from channels import webform
from crm.columns import utcnow
from crm.errors import Conflict, DomainError, InvalidInput
from crm.inbound import find_inbound, record_inbound
from crm.normalise import normalise_email, normalise_national_id, normalise_phone
from crm.tickets import reserve_reference
from crm.types import Channel
from routing.categories import category_by_slug


class RequestIn(BaseModel):
    """A citizen's request, as the form or the JSON API sends it."""

    name: str = Field(max_length=200, description="the citizen's full name")
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=40)
    category: str = Field(max_length=64, description="a category slug from /api/v1/categories")
    subject: str | None = Field(None, max_length=300)
    message: str = Field(max_length=10_000)


@dataclass(frozen=True)
class Accepted:
    reference: str
    status: str
    event_id: int
    replayed: bool  # True: this submission was seen before; nothing new was created


def _check(form: RequestIn, default_region: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not form.name.strip():
        errors["name"] = "required"
    if not form.message.strip():
        errors["message"] = "required"
    if not form.category.strip():
        errors["category"] = "required"
    email, phone = (form.email or "").strip(), (form.phone or "").strip()
    if not email and not phone:
        errors["email"] = "give an email address or a phone number"
    return errors | contact_errors({"email": email, "phone": phone}, default_region)


def contact_errors(values: dict[str, str | None], default_region: str) -> dict[str, str]:
    """One message per contact field (email, phone, national_id) that does not normalise."""
    normalisers = {"email": normalise_email, "phone": lambda v: normalise_phone(v, default_region),
                   "national_id": normalise_national_id}
    errors: dict[str, str] = {}
    for field, value in values.items():
        if value:
            try:
                normalisers[field](value)
            except DomainError as exc:
                errors[field] = exc.fields.get(field, exc.message)
    return errors


async def submit_request(
    session: AsyncSession, form: RequestIn, *, submission_key: str | None, language: str | None,
    default_region: str,
) -> Accepted:
    """Record the request raw and promise its reference; the pipeline does the rest after commit.

    `submission_key` (an Idempotency-Key, or the form's hidden id) makes a
    repeat return the first answer; the same key with other fields is refused.
    """
    errors = _check(form, default_region)
    if "category" not in errors and await category_by_slug(session, form.category.strip()) is None:
        errors["category"] = "unknown category"
    if errors:
        raise InvalidInput("invalid request", fields=errors)
    fields = {
        "name": form.name.strip(),
        "email": (form.email or "").strip() or None,
        "phone": (form.phone or "").strip() or None,
        "category": form.category.strip(),
        "subject": (form.subject or "").strip() or None,
        "message": form.message.strip(),
    }
    external_id = f"key:{submission_key}" if submission_key else f"auto:{uuid.uuid4()}"
    previous = await find_inbound(session, Channel.WEBFORM.value, external_id)
    if previous is not None:
        if webform.request_fields(previous.payload) != {**fields, "language": language}:
            raise Conflict("this idempotency key was used for a different request")
        return Accepted(previous.reference or "", "received", previous.id, replayed=True)
    reference = await reserve_reference(session)
    payload = webform.encode(fields, submission_id=external_id, language=language, submitted_at=utcnow())
    recorded = await record_inbound(session, channel=Channel.WEBFORM.value, external_id=external_id,
                                    payload=payload, reference=reference)
    if not recorded.created:  # a concurrent twin got there first
        return Accepted(recorded.event.reference or "", "received", recorded.event.id,
                        replayed=True)
    return Accepted(reference, "received", recorded.event.id, replayed=False)


async def enqueue_processing(queue, accepted: Accepted) -> None:
    """After commit: ask the pipeline to process what was recorded (a repeat asks nothing)."""
    if not accepted.replayed:
        await enqueue_after_commit(queue, "process_inbound", accepted.event_id)
