"""MMS media: fetched only from Twilio's media host, with the account's credentials, within a
size limit counted while the bytes arrive.

A MediaUrl comes in a webhook body; whoever can post one could name any URL. So a URL is
fetched only when it is https://api.twilio.com/2010-04-01/Accounts/<our account>/Messages/...
(the credentials go nowhere else), and a redirect is followed only to Twilio's media CDN
(*.twiliocdn.com, presigned: no credentials sent). Anything else is refused, never fetched.
"""
from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import httpx

from channels.base import RetryLater

TWILIO_API = "https://api.twilio.com"
MEDIA_HOST = "api.twilio.com"
CDN_SUFFIX = ".twiliocdn.com"
MAX_REDIRECTS = 3


class MediaRefused(Exception):
    """Not fetched, or not kept: the reason is recorded instead of the file."""

    def __init__(self, reason: str, *, size: int = 0) -> None:
        super().__init__(reason)
        self.size = size


def media_url_refusal(url: str, account_sid: str) -> str | None:
    """Why this MediaUrl must not be fetched with our credentials, or None (pure)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or parts.hostname != MEDIA_HOST or parts.port not in (None, 443):
        return f"not Twilio's media host: {parts.scheme}://{parts.hostname or '?'}"
    if not parts.path.startswith(f"/2010-04-01/Accounts/{account_sid}/Messages/"):
        return "not a media URL of this Twilio account"
    return None


def _redirect_refusal(url: str) -> str | None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not (host == MEDIA_HOST or host.endswith(CDN_SUFFIX)):
        return f"redirected off Twilio's media hosts, to {parts.scheme}://{host or '?'}"
    return None


async def fetch_media(url: str, *, account_sid: str, auth_token: str, max_bytes: int,
                      api_base_url: str | None = None, timeout: float = 30.0) -> tuple[bytes, str]:
    """(bytes, content type). MediaRefused when refused or too large, RetryLater when Twilio
    or the network fails for now."""
    refusal = media_url_refusal(url, account_sid)
    if refusal:
        raise MediaRefused(refusal)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            target = url
            if api_base_url and url.startswith(TWILIO_API + "/"):  # a proxy, or a test's stand-in
                target = api_base_url.rstrip("/") + url[len(TWILIO_API):]
            auth = (account_sid, auth_token) if urlsplit(url).hostname == MEDIA_HOST else None
            try:
                async with client.stream("GET", target, auth=auth) as response:
                    if response.is_redirect:
                        url = urljoin(url, response.headers.get("location", ""))
                        refusal = _redirect_refusal(url)
                        if refusal:
                            raise MediaRefused(refusal)
                        continue
                    if response.status_code == 429 or response.status_code >= 500:
                        raise RetryLater(f"Twilio media answered {response.status_code}")
                    if response.status_code != 200:
                        raise MediaRefused(f"Twilio media answered {response.status_code}")
                    data = await _read_within(response, max_bytes)
                    return data, response.headers.get("content-type", "application/octet-stream")
            except httpx.TransportError as exc:
                raise RetryLater(f"Twilio media unreachable: {type(exc).__name__}") from exc
    raise MediaRefused("too many redirects")


async def _read_within(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise MediaRefused(f"larger than {max_bytes} bytes", size=int(declared))
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:  # stop reading: never more than the limit in memory
            raise MediaRefused(f"larger than {max_bytes} bytes", size=size)
        chunks.append(chunk)
    return b"".join(chunks)
