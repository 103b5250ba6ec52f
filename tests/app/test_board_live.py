"""What makes the supervisor's live board refresh (routing.board.board_version, read by GET
/events?board=true): a request arriving, a move, a close, an SLA state, an agent's presence —
and nothing when nothing changed. Through the API, as the board's users change things."""
from __future__ import annotations

from sqlmodel import select

from routing.board import board_version
from routing.models import TicketRouting
from tests.conftest import Stack

CLAIRE = "claire.dubois@demo.guichet.fr"


async def _version(stack: Stack) -> str:
    async with stack.session() as session:
        return await board_version(session)


async def test_the_board_version_follows_what_the_board_shows(stack: Stack) -> None:
    headers = {"Authorization": f"Bearer {await stack.token(CLAIRE)}"}
    empty = await _version(stack)
    assert await _version(stack) == empty  # stable while nothing changes

    reference = (await stack.post_request())["reference"]
    await stack.drain()
    arrived = await _version(stack)
    assert arrived != empty

    agents = (await stack.client.get("/api/v1/supervisor/workload", headers=headers)).json()["agents"]
    holder = (await stack.ticket(reference))["assignee"]
    candidates = sorted(agents, key=lambda a: a["name"] != "Claire Dubois")  # Claire first: she has room
    other = next(a for a in candidates if a["name"] != (holder or {}).get("name"))
    moved = await stack.client.post(f"/api/v1/tickets/{reference}/assign", headers=headers,
                                    json={"agent_id": other["agent_id"], "why": "test"})
    assert moved.status_code == 200, moved.text
    after_move = await _version(stack)
    assert after_move != arrived

    async with stack.session() as session:
        routing = (await session.exec(select(TicketRouting))).first()
        routing.sla_state = "breached"
        await session.commit()
    breached = await _version(stack)
    assert breached != after_move

    away = await stack.client.put(f"/api/v1/agents/{agents[0]['agent_id']}/presence", headers=headers,
                                  json={"presence": "away", "why": "test", "redistribute": False})
    assert away.status_code == 200, away.text
    gone = await _version(stack)
    assert gone != breached

    closed = await stack.client.post(f"/api/v1/tickets/{reference}/status", headers=headers,
                                     json={"status": "closed", "why": "test"})
    assert closed.status_code < 300, closed.text
    assert await _version(stack) != gone
