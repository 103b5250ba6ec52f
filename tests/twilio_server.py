"""A local HTTP server standing in for Twilio's REST API (Messages), in its own thread.

The real twilio SDK talks to it (GUICHET_TWILIO_API_BASE_URL). It checks HTTP Basic auth
like Twilio (account SID : auth token), records every request, and answers as Twilio
documents: 201 with the message resource (`sid`, `status: "queued"`...) or an error body
`{"code", "message", "more_info", "status"}`. Tests script the next answers: a 429, a 500,
a 400 with 21610...
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

ERRORS = {  # Twilio's own texts for the errors tests ask for
    20003: (401, "Authenticate"),
    20429: (429, "Too Many Requests"),
    20500: (500, "Internal Server Error"),
    21211: (400, "The 'To' number is not a valid phone number."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    form: dict[str, str]
    auth: tuple[str, str] | None
    status: int  # what the stand-in answered


class TwilioStandIn:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self._lock = threading.Lock()
        self._script: list[int] = []  # Twilio error codes to answer with, in order
        self.requests: list[Request] = []
        self.media: dict[str, tuple[str, bytes, bool]] = {}  # path -> type, bytes, send a length
        self.redirects: dict[str, str] = {}  # path -> Location
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, *codes: int) -> None:
        """Answer the next requests with these Twilio errors (20429, 20500, 21610...), then 201."""
        with self._lock:
            self._script.extend(codes)

    def serve_media(self, path: str, content_type: str, data: bytes, *, with_length: bool = True) -> None:
        """An MMS medium at this path (Twilio's /2010-04-01/Accounts/AC…/Messages/MM…/Media/ME…);
        without a Content-Length the client can only count as the bytes come."""
        self.media[path] = (content_type, data, with_length)

    def media_answer(self, path: str, auth: tuple[str, str] | None) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append(Request("GET", path, {}, auth, 0))
        if path in self.redirects:
            return 307, {"Location": self.redirects[path]}, b""
        if auth != (self.account_sid, self.auth_token):
            return 401, {"Content-Type": "application/json"}, json.dumps(
                {"code": 20003, "message": "Authenticate", "status": 401,
                 "more_info": "https://www.twilio.com/docs/errors/20003"}).encode()
        if path not in self.media:
            return 404, {"Content-Type": "application/json"}, b'{"code": 20404, "status": 404}'
        content_type, data, with_length = self.media[path]
        return 200, {"Content-Type": content_type,
                     **({"Content-Length": str(len(data))} if with_length else {})}, data

    @property
    def accepted(self) -> list[Request]:
        """Messages Twilio took (201): what would reach a phone."""
        with self._lock:
            return [r for r in self.requests if r.status == 201]

    def answer(self, method: str, path: str, form: dict[str, str], auth: tuple[str, str] | None
               ) -> tuple[int, dict]:
        with self._lock:
            code = self._script.pop(0) if self._script else None
            if auth != (self.account_sid, self.auth_token):
                code = 20003
            expected = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
            if code is None and (method, path) != ("POST", expected):
                status, body = 404, {"code": 20404, "message": "The requested resource was not found",
                                     "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404}
            elif code is not None:
                status, text = ERRORS[code]
                body = {"code": code, "message": text,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
            else:
                status, body = 201, self._message(form)
            self.requests.append(Request(method, path, form, auth, status))
            return status, body

    def _message(self, form: dict[str, str]) -> dict:
        sid = "SM" + secrets.token_hex(16)
        now = formatdate(usegmt=True).replace("GMT", "+0000")
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        return {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": form.get("Body", ""),
            "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"), "num_media": "0",
            "num_segments": "1", "price": None, "price_unit": "USD", "sid": sid, "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"}, "to": form.get("To"), "uri": f"{uri}.json",
        }


def _basic_auth(headers) -> tuple[str, str] | None:
    header = headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


def _handler(stand_in: TwilioStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8"),
                                                 keep_blank_values=True).items()}
            status, body = stand_in.answer("POST", self.path, form, _basic_auth(self.headers))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802
            status, headers, payload = stand_in.media_answer(self.path, _basic_auth(self.headers))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()  # without a Content-Length, HTTP/1.0: the body ends when we close
            self.wfile.write(payload)

        def log_message(self, *_: object) -> None:
            pass

    return Handler


@contextmanager
def twilio_server(account_sid: str, auth_token: str) -> Iterator[TwilioStandIn]:
    stand_in = TwilioStandIn(account_sid, auth_token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stand_in))
    stand_in.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
