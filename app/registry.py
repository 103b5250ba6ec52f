"""Which parser reads each inbound channel, which sender serves each outbound one."""
from __future__ import annotations

from app.settings import Settings
from channels import counter, webform
from channels.base import InboundParser, OutboundSender
from channels.email import inbound as email_inbound
from channels.email.smtp import SmtpSender
from channels.sms import twilio_inbound
from channels.sms.twilio_outbound import TwilioSender
from crm.types import Channel

PARSERS: dict[str, InboundParser] = {
    Channel.WEBFORM.value: webform,  # type: ignore[dict-item]
    Channel.EMAIL.value: email_inbound,  # type: ignore[dict-item]
    Channel.SMS.value: twilio_inbound,  # type: ignore[dict-item]
    # One parser for the front desk's three ways in: the payload says which one it was.
    **{name: counter for name in counter.CONTACT_CHANNELS},  # type: ignore[misc]
}


STATUS_CALLBACK_PATH = "/webhooks/twilio/status"


def build_senders(settings: Settings) -> dict[str, OutboundSender]:
    """Only channels with a configured transport; the others are held in the outbox."""
    senders: dict[str, OutboundSender] = {}
    if settings.smtp_url:
        senders[Channel.EMAIL.value] = SmtpSender(settings.smtp_url, from_address=settings.mail_from)
    if settings.twilio_account_sid and settings.twilio_auth_token and (
            settings.twilio_from or settings.twilio_messaging_service_sid):
        senders[Channel.SMS.value] = TwilioSender(
            account_sid=settings.twilio_account_sid, auth_token=settings.twilio_auth_token,
            from_number=settings.twilio_from, messaging_service_sid=settings.twilio_messaging_service_sid,
            status_callback=settings.public_url.rstrip("/") + STATUS_CALLBACK_PATH,
            api_base_url=settings.twilio_api_base_url)
    return senders
