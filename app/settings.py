"""All configuration, read once from the environment (prefix GUICHET_) and passed down."""
from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class MailboxSettings(BaseModel):
    """One IMAP mailbox to poll (GUICHET_IMAP_MAILBOXES is a JSON list of these)."""

    name: str
    host: str
    user: str
    password: str
    port: int = 993
    security: Literal["ssl", "starttls", "none"] = "ssl"
    folder: str = "INBOX"
    processed_folder: str | None = None
    max_bytes: int = 25 * 1024 * 1024
    idle: bool = True  # also wait in IMAP IDLE (when the server offers it) besides polling


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GUICHET_", env_file=".env", extra="ignore")

    database_url: str = Field(
        "sqlite+aiosqlite:///var/guichet.db",
        description="SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db",
    )
    redis_url: str | None = Field(
        None, description="redis://host:port/db; unset: jobs run in the web process (embedded mode)"
    )
    queue_name: str = Field("guichet:queue", description="arq queue name in Redis")
    smtp_url: str | None = Field(
        None, description="smtp://user:pass@host:port (smtps:// for TLS, ?starttls=true); unset: outbox only"
    )
    mail_from: str = Field("Guichet <noreply@guichet.localhost>", description="From of outbound email")
    reply_address: str | None = Field(
        None, description="plus-addressed Reply-To: replies go to local+<ticket token>@domain; "
                          "unset: replies go to mail_from")
    agent_forwards: bool = Field(
        True, description="a mail an agent forwards from their own mailbox is filed as the original sender's")
    mail_domain: str = Field("guichet.localhost", description="domain of our Message-IDs")
    public_url: str = Field("http://127.0.0.1:8000", description="public base URL (links, webhooks)")
    secret_key: str | None = Field(
        None, description="signs CSRF tokens, the tracking codes printed on receipts and citizens' survey links; "
                          "unset: generated once into var/secret_key. Several web processes must share one")
    session_dir: str = Field(
        "var/sessions", description="where agents' sessions are kept without Redis (with GUICHET_REDIS_URL: in Redis)")
    service_name: str = Field("Mairie de démonstration", description="name shown to citizens")
    default_language: str = Field("fr", description="language of the UI and replies by default")
    default_region: str = Field("FR", description="region for phone numbers without a country code")
    timezone: str = Field("Europe/Paris", description="the administration's time zone for display")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING, ERROR")
    log_json: bool = Field(False, description="log one JSON object per line")
    max_body_bytes: int = Field(1_000_000, description="largest accepted HTTP request body")
    send_max_attempts: int = Field(5, description="transient send failures before a dead letter")
    send_retry_base_seconds: float = Field(30.0, description="first retry delay; doubles each attempt")
    inbound_max_attempts: int = Field(5, description="processing failures before quarantine")
    sweep_interval_seconds: int = Field(60, description="how often stuck work is picked up again")
    reopen_window_days: int = Field(
        14, description="a citizen's reply reopens a closed ticket within this many days; after, a new linked one")
    sms_reply_window_days: int = Field(
        7, description="an SMS answers the ticket of our last SMS to that number within this many days")
    sms_max_segments: int = Field(
        3, ge=1, le=10, description="an SMS template longer than this many segments on its samples is refused")
    sms_quiet_start: str = Field(
        "20:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="from this local time, automatic SMS notifications wait until the end of quiet hours")
    sms_quiet_end: str = Field(
        "08:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="local time quiet hours end; Sundays and public holidays of the default region are quiet all day")
    sms_quiet_rest_days: bool = Field(
        True, description="Sundays and the default region's public holidays are quiet all day for SMS notifications")
    survey_answer_days: int = Field(
        14, ge=1, description="a survey answer (SMS score or email link) counts within this many days of the survey")
    attachment_dir: str = Field("var/attachments", description="where attachments are stored, one file per SHA-256")
    attachment_max_bytes: int = Field(10_000_000, description="larger attachments are listed, not stored")
    attachment_blocked_types: list[str] = Field(
        default_factory=lambda: ["application/x-msdownload", "application/x-dosexec",
                                 "application/x-msdos-program", "application/x-sh",
                                 "application/javascript", "application/hta"],
        description="JSON list of content types never stored (executables, scripts)")
    twilio_account_sid: str | None = Field(None, description="Twilio account SID (SMS); unset: SMS held in the outbox")
    twilio_auth_token: str | None = Field(
        None, description="Twilio auth token: signs webhooks and authenticates the REST client")
    twilio_from: str | None = Field(None, description="our SMS number in E.164 (or use the messaging service)")
    twilio_messaging_service_sid: str | None = Field(None, description="Twilio messaging service SID")
    twilio_api_base_url: str | None = Field(
        None, description="base URL of Twilio's REST API; unset: https://api.twilio.com (a proxy or a test stand-in)")
    twilio_allow_unsigned: bool = Field(
        False, description="accept unsigned SMS webhooks when no auth token is set (local testing only)")
    routing_relax_level_after_minutes: int = Field(
        60, description="a ticket nobody could take for this many business minutes may go to any level of the skill; 0: never")
    routing_relax_team_after_minutes: int = Field(
        240, description="after this many business minutes, to any agent of its team; 0: never")
    identity_match_threshold: float = Field(
        0.9, ge=0, le=1, description="identity score at or above which a record is linked to a citizen automatically")
    identity_review_threshold: float = Field(
        0.5, ge=0, le=1, description="at or above (and below the match threshold): an agent is asked (duplicates queue)")
    imap_mailboxes: list[MailboxSettings] = Field(
        default_factory=list,
        description='JSON list of mailboxes to poll: [{"name", "host", "port", "security": '
                    '"ssl|starttls|none", "user", "password", "folder", "processed_folder", "idle"}]',
    )

    @field_validator("reply_address")
    @classmethod
    def _plain_address(cls, value: str | None) -> str | None:
        if not value:
            return None
        local, at, domain = value.strip().rpartition("@")
        if not at or not local or "." not in domain or "+" in local or any(c.isspace() for c in value.strip()):
            raise ValueError("expected a plain address like guichet@town.example (no display name, no '+')")
        return value.strip().lower()


@lru_cache
def get_settings() -> Settings:
    return Settings()


def attachment_policy(settings: Settings):
    """The attachment limits as crm takes them."""
    from pathlib import Path

    from crm.attachments import AttachmentPolicy

    return AttachmentPolicy(Path(settings.attachment_dir), settings.attachment_max_bytes,
                            frozenset(t.lower() for t in settings.attachment_blocked_types))


def threading_policy(settings: Settings):
    """The threading knobs as crm takes them."""
    from datetime import timedelta

    from crm.threading import ThreadingPolicy

    return ThreadingPolicy(reopen_within=timedelta(days=settings.reopen_window_days),
                           reply_address=settings.reply_address,
                           sms_reply_within=timedelta(days=settings.sms_reply_window_days))


def routing_config(settings: Settings):
    """The routing knobs as routing takes them."""
    from routing.assign import RoutingConfig
    from routing.policy import RoutingRules

    def minutes(value: int) -> float | None:
        return float(value) if value > 0 else None

    return RoutingConfig(RoutingRules(minutes(settings.routing_relax_level_after_minutes),
                                      minutes(settings.routing_relax_team_after_minutes)),
                         timezone=settings.timezone)


def sms_quiet_hours(settings: Settings):
    """When automatic SMS may not leave: the settings' hours in the administration's time zone,
    Sundays and the default region's public holidays."""
    import holidays

    from replies.quiet_hours import quiet_hours_of

    try:
        public_holidays = holidays.country_holidays(settings.default_region)
    except NotImplementedError:  # a region the holidays package does not know: Sundays only
        public_holidays = frozenset()
    return quiet_hours_of(settings.sms_quiet_start, settings.sms_quiet_end, settings.timezone,
                          rest_days=settings.sms_quiet_rest_days, holidays=public_holidays)


def secret_key(settings: Settings) -> bytes:
    """What signs citizens' links: the one key of the install (app.web.sessions.load_secret_key:
    GUICHET_SECRET_KEY, else var/secret_key made once), so every process agrees."""
    from app.web.sessions import load_secret_key  # the web package imports this module

    return load_secret_key(settings).encode()
