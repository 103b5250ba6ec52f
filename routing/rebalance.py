"""Propose moves that even out the load (pure): the supervisor applies all or some of them.

A move takes a ticket its holder has not answered yet from an agent and gives
it to one who may take it under the router's strict rules (skill and level,
language, team, presence, free capacity). A move is proposed only if it lowers
the sum of squared load ratios (load / capacity): the plan always ends, and
never moves a ticket back and forth. An agent who is away or off shift gives
away every unanswered ticket someone can take. Tickets closest to their SLA
move first: they gain the most from an agent with room.
"""
from __future__ import annotations

from dataclasses import dataclass

from routing.policy import AgentProfile, TicketNeed, language_required, qualifies, score, urgency


@dataclass(frozen=True)
class Held:
    """A ticket an agent holds now."""

    need: TicketNeed
    agent_id: int
    movable: bool = True  # the holder has not answered it yet
    reference: str = ""


@dataclass(frozen=True)
class Move:
    ticket_id: int
    reference: str
    from_agent_id: int
    to_agent_id: int
    reason: str


def _ratio(agent: AgentProfile, delta: int = 0) -> float:
    return (agent.load + delta) / agent.capacity if agent.capacity > 0 else float("inf")


def _gain(donor: AgentProfile, receiver: AgentProfile) -> float:
    """How much the move lowers the sum of squared load ratios (> 0: it evens things out)."""
    before = _ratio(donor) ** 2 + _ratio(receiver) ** 2
    after = _ratio(donor, -1) ** 2 + _ratio(receiver, +1) ** 2
    return before - after


def plan_rebalance(roster: list[AgentProfile], held: list[Held], *, max_moves: int = 500) -> list[Move]:
    agents = {a.agent_id: a for a in roster}
    remaining = [h for h in held if h.movable and h.agent_id in agents]
    moves: list[Move] = []
    while len(moves) < max_moves:
        move = _best_move(agents, remaining, roster)
        if move is None:
            break
        item, receiver = move
        donor = agents[item.agent_id]
        moves.append(Move(item.need.ticket_id, item.reference, donor.agent_id, receiver.agent_id,
                          _explain(donor, receiver, item.need)))
        agents[donor.agent_id] = donor.with_ticket(item.need.channel, -1)
        agents[receiver.agent_id] = receiver.with_ticket(item.need.channel)
        remaining.remove(item)
    return moves


def _best_move(agents: dict[int, AgentProfile], remaining: list[Held],
               roster: list[AgentProfile]) -> tuple[Held, AgentProfile] | None:
    # Absent holders first, then the most loaded; within one holder, the most urgent ticket.
    order = sorted(remaining, key=lambda h: (agents[h.agent_id].can_work(), -_ratio(agents[h.agent_id]),
                                             -urgency(h.need), h.need.ticket_id))
    for item in order:
        donor = agents[item.agent_id]
        needs_language = language_required(item.need, roster)
        receivers = [
            a for a in agents.values()
            if a.agent_id != donor.agent_id and a.can_work() and a.has_room(item.need.channel)
            and qualifies(a, item.need, "strict", needs_language)
            and (not donor.can_work() or _gain(donor, a) > 1e-9)
        ]
        if receivers:
            best = max(receivers, key=lambda a: (_gain(donor, a), score(a, item.need)[0], -a.agent_id))
            return item, best
    return None


def _explain(donor: AgentProfile, receiver: AgentProfile, need: TicketNeed) -> str:
    why = [f"{donor.name} {donor.load}/{donor.capacity}"
           + ("" if donor.can_work() else f" ({donor.presence})")
           + f" → {receiver.name} {receiver.load}/{receiver.capacity}"]
    if need.skill:
        why.append(f"{need.skill} level {receiver.level(need.skill)}")
    if need.language and need.language in receiver.languages:
        why.append(f"speaks {need.language}")
    if need.sla_minutes:
        left = need.sla_minutes - need.waited_minutes
        why.append(f"first response due in {left:.0f} business min" if left > 0 else "first response overdue")
    return "; ".join(why)
