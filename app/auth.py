"""Bearer-token authentication for agents on the JSON API."""
from __future__ import annotations

from litestar import Request
from litestar.exceptions import NotAuthorizedException
from routing.agents import agent_for_token
from routing.models import Agent
from sqlmodel.ext.asyncio.session import AsyncSession

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="guichet"'}


async def provide_agent(request: Request, db_session: AsyncSession) -> Agent:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException("an agent's API token is required (Authorization: Bearer …)",
                                     headers=CHALLENGE)
    agent = await agent_for_token(db_session, token.strip())
    if agent is None:
        raise NotAuthorizedException("invalid or revoked API token", headers=CHALLENGE)
    return agent
