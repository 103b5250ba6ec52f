"""The floor for the webhook benchmark: litestar on uvicorn, one route answering empty TwiML.

It reads the body as the real route does and does nothing else: no signature, no database, no
queue. What the real route costs above this is what Guichet adds."""
from __future__ import annotations

from litestar import Litestar, Request, Response, get, post

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@post("/webhooks/twilio/sms", status_code=200, media_type="text/xml")
async def twiml(request: Request) -> Response[str]:
    await request.body()
    return Response(EMPTY_TWIML, media_type="text/xml")


app = Litestar(route_handlers=[health, twiml], logging_config=None)
