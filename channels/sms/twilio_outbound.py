"""SMS out through Twilio's REST API, with the twilio SDK's own client.

The SDK's client is synchronous (requests); each send runs in a worker thread. Its async
client would tie an aiohttp session to one event loop and needs closing; a thread per send
is simpler and SMS volumes are small. What the answer means for the job:
- 201: the provider's MessageSid.
- 429, 5xx, or no connection made: RetryLater (nothing was sent).
- other 4xx (21211 invalid number, 21610 unsubscribed, 21614 not a mobile...): ChannelError
  with Twilio's code.
- the request went out but no answer came back (read timeout, connection dropped): it may
  have been sent, so ChannelError "outcome unknown" rather than a retry that could send twice.
"""
from __future__ import annotations

import asyncio

import requests
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import MaxRetryError, NewConnectionError

from channels.base import ChannelError, RetryLater
from crm.types import Channel, OutboundMessage

TWILIO_API = "https://api.twilio.com"


class _RebasedHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, talking to another base URL than api.twilio.com (a local
    stand-in in tests, a proxy in some deployments)."""

    def __init__(self, base_url: str | None, timeout: float) -> None:
        super().__init__(pool_connections=False, timeout=timeout)  # a Session per request: thread-safe
        self.base_url = base_url.rstrip("/") if base_url else None

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        if self.base_url and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API):]
        return super().request(method, url, *args, **kwargs)


def _never_connected(exc: requests.RequestException) -> bool:
    """True when the request never reached the server, so sending again cannot send twice."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    inner = exc.args[0] if exc.args else None
    return isinstance(inner, MaxRetryError) and isinstance(inner.reason, NewConnectionError)


class TwilioSender:
    channel = Channel.SMS

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str | None,
                 messaging_service_sid: str | None, status_callback: str | None,
                 api_base_url: str | None = None, timeout: float = 20.0) -> None:
        if not (from_number or messaging_service_sid):
            raise ValueError("Twilio needs a From number or a messaging service SID")
        self.client = Client(account_sid, auth_token,
                             http_client=_RebasedHttpClient(api_base_url, timeout))
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback

    def _create(self, message: OutboundMessage) -> str:
        origin = ({"messaging_service_sid": self.messaging_service_sid} if self.messaging_service_sid
                  else {"from_": self.from_number})
        callback = {"status_callback": self.status_callback} if self.status_callback else {}
        created = self.client.messages.create(to=message.to, body=message.text, **origin, **callback)
        return str(created.sid)

    async def send(self, message: OutboundMessage) -> str:
        try:
            return await asyncio.to_thread(self._create, message)
        except (TwilioRestException, TwilioServiceException) as exc:
            text = getattr(exc, "msg", None) or getattr(exc, "title", "")
            detail = f"Twilio {exc.status}" + (f" error {exc.code}" if exc.code else "") + f": {text}"
            if exc.status == 429 or exc.status >= 500:
                raise RetryLater(detail) from exc
            raise ChannelError(detail, code=str(exc.code) if exc.code else None) from exc
        except requests.RequestException as exc:
            if _never_connected(exc):
                raise RetryLater(f"Twilio unreachable: {type(exc).__name__}") from exc
            raise ChannelError(f"outcome unknown: the request reached Twilio but no answer came "
                               f"back ({type(exc).__name__}); not sent again automatically, check "
                               "the Twilio console") from exc
