"""Routing benchmarks (issue 6): the decision's latency, Erlang C, skills routing vs the baselines.

1. Decision latency with 500 agents and 100,000 open tickets (target: p99 ≤ 5 ms):
   (a) the pure policy (`choose_agent`, `next_ticket_for`, `plan_assignments`) on a
       synthetic roster; (b) the real transactional `assign_ticket` + commit on
       PostgreSQL, in a scratch database holding that many agents and open tickets,
       with every SQL statement counted and timed.
2. Erlang C: the simulator (driving the real policy) on single-skill M/M/c scenarios
   against the formula, with a batch-means 95 % interval on the simulated mean.
3. Skills routing vs round_robin and least_loaded on mixed-skill, mixed-language scenarios.
"""
from __future__ import annotations

import asyncio
import cProfile
import io
import math
import pstats
import random
import re
import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table
from sqlalchemy import event, insert, text

from app import migrations
from app.db import make_engine, make_sessionmaker
from crm.models import Citizen, Ticket
from routing.assign import RoutingConfig, assign_ticket
from routing.categories import upsert_category
from routing.models import Agent, AgentSkill, AgentTeam, Presence
from routing.policy import (
    AgentProfile,
    RoutingRules,
    TicketNeed,
    choose_agent,
    next_ticket_for,
    plan_assignments,
)
from routing.scenario import load_scenario
from routing.simulate import POLICIES, Simulation
from routing.teams import upsert_team

TARGET_MS = 5.0
AGENTS = 500
OPEN_TICKETS = 100_000
CITIZENS = 40_000
NEEDS = 3_000  # pure decisions timed
WAITING = 1_000  # backlog for next_ticket_for and plan_assignments
NEW_TICKETS = 500  # real assignments timed on PostgreSQL
PROFILED = 50  # and then a few more under cProfile (not timed): where the Python time goes
SCENARIOS = Path(__file__).parent / "scenarios"
MIXED_SCENARIOS = ("town_hall.yaml", "prefecture.yaml")

# Twelve skills in four teams; each agent holds 2-5 of them.
TEAMS = {
    "population": ["etat_civil", "elections", "cimetiere"],
    "urbanisme": ["urbanisme", "voirie", "environnement"],
    "solidarites": ["social", "logement", "petite_enfance"],
    "accueil": ["accueil", "fiscalite", "stationnement"],
}
SKILLS = [skill for skills in TEAMS.values() for skill in skills]
TEAM_OF = {skill: team for team, skills in TEAMS.items() for skill in skills}
CHANNELS = ["email", "webform", "sms", "phone", "walk_in", "letter"]
CHANNEL_WEIGHTS = [40, 25, 15, 10, 7, 3]
PRESENCES = [Presence.AVAILABLE.value, Presence.BUSY.value, Presence.AWAY.value, Presence.OFFLINE.value]
PRESENCE_WEIGHTS = [80, 8, 7, 5]


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def at(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return {"n": len(ordered), "p50_ms": round(at(0.50), 4), "p95_ms": round(at(0.95), 4),
            "p99_ms": round(at(0.99), 4), "max_ms": round(ordered[-1], 4),
            "mean_ms": round(statistics.fmean(ordered), 4)}


# --- 1a. the pure decision ---------------------------------------------------------------

def synthetic_agents(rng: random.Random) -> list[dict]:
    """500 agents as plain data (the pure roster and the database rows are built from it)."""
    agents = []
    for i in range(1, AGENTS + 1):
        team = rng.choice(list(TEAMS))
        own = rng.sample(TEAMS[team], rng.randint(1, 3))  # mostly their team's skills
        others = rng.sample([s for s in SKILLS if s not in own], rng.randint(1, 2))
        skills = {s: rng.randint(1, 5) for s in own + others}
        teams = {team} | ({rng.choice(list(TEAMS))} if rng.random() < 0.2 else set())
        languages = {"fr"} if rng.random() < 0.92 else set()
        languages |= {"ar"} if rng.random() < 0.35 else set()
        languages |= {"en"} if rng.random() < 0.25 else set()
        languages = languages or {"ar"}
        agents.append({
            "id": i, "name": f"agent{i:03d}", "skills": skills, "languages": sorted(languages),
            "teams": sorted(teams), "capacity": rng.randint(200, 300),
            "channel_capacity": {"phone": 5} if rng.random() < 0.2 else {},
            "presence": rng.choices(PRESENCES, PRESENCE_WEIGHTS)[0],
            "on_shift": rng.random() < 0.9,
        })
    # 100,000 open tickets spread over them: a share of their capacity, scaled to the total.
    weights = [a["capacity"] * rng.uniform(0.55, 1.0) for a in agents]
    scale = OPEN_TICKETS / sum(weights)
    loads = [min(a["capacity"], int(w * scale)) for a, w in zip(agents, weights, strict=True)]
    i = 0
    while sum(loads) < OPEN_TICKETS:  # hand out the rounding remainder
        if loads[i % AGENTS] < agents[i % AGENTS]["capacity"]:
            loads[i % AGENTS] += 1
        i += 1
    for agent, load in zip(agents, loads, strict=True):
        agent["load"] = load
        phone = min(agent["channel_capacity"].get("phone", 99), rng.randint(0, 6), load)
        agent["channel_load"] = {"phone": phone}
    return agents


def profile(agent: dict) -> AgentProfile:
    return AgentProfile(agent["id"], agent["name"], agent["skills"], frozenset(agent["languages"]),
                        frozenset(agent["teams"]), agent["capacity"], agent["load"],
                        agent["channel_capacity"], agent["channel_load"], agent["presence"], agent["on_shift"])


def random_need(rng: random.Random, ticket_id: int) -> TicketNeed:
    skill = rng.choice(SKILLS)
    waited = rng.uniform(0, 40) if rng.random() < 0.85 else rng.uniform(60, 400)  # some relaxed
    return TicketNeed(
        ticket_id=ticket_id, skill=skill, min_level=rng.choice([1, 2, 2, 3, 3, 4]),
        language=rng.choices(["fr", "ar", "en"], [65, 25, 10])[0],
        team=TEAM_OF[skill] if rng.random() < 0.7 else None,
        channel=rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0],
        priority=rng.choices(["low", "normal", "high", "urgent"], [10, 70, 15, 5])[0],
        waited_minutes=waited, sla_minutes=rng.choice([60.0, 120.0, 240.0, 480.0, None]),
        previous_agent_id=rng.randint(1, AGENTS) if rng.random() < 0.3 else None,
    )


def pure_decisions() -> dict:
    rng = random.Random(6)
    roster = [profile(a) for a in synthetic_agents(rng)]
    rules = RoutingRules()
    needs = [random_need(rng, i) for i in range(1, NEEDS + 1)]
    for need in needs[:100]:  # warm up
        choose_agent(need, roster, rules)
    # Wall time, and this thread's CPU time: on a shared machine the gap is time spent preempted.
    samples, cpu, assigned, eligible = [], [], 0, []
    by_stage: dict[str, list[float]] = defaultdict(list)
    for need in needs:
        c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
        decision = choose_agent(need, roster, rules)
        samples.append((time.perf_counter_ns() - t0) / 1e6)
        cpu.append((time.thread_time_ns() - c0) / 1e6)
        by_stage[decision.stage].append(samples[-1])
        assigned += decision.agent_id is not None
        eligible.append(decision.eligible)
    waiting = [random_need(rng, 100_000 + i) for i in range(WAITING)]
    freed = [a for a in roster if a.can_work()]
    next_samples, next_cpu = [], []
    for agent in rng.sample(freed, 200):
        c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
        next_ticket_for(agent, waiting, roster, rules)
        next_samples.append((time.perf_counter_ns() - t0) / 1e6)
        next_cpu.append((time.thread_time_ns() - c0) / 1e6)
    t0 = time.perf_counter()
    plan = plan_assignments(waiting, roster, rules)
    plan_s = time.perf_counter() - t0
    return {
        "roster": {"agents": len(roster), "open_tickets": sum(a.load for a in roster),
                   "skills": len(SKILLS), "available_on_shift": sum(a.can_work() for a in roster)},
        "choose_agent": {**percentiles(samples), "cpu": percentiles(cpu),
                         "by_stage": {stage: percentiles(ms) for stage, ms in sorted(by_stage.items())},
                         "assigned_share": round(assigned / len(needs), 3),
                         "mean_eligible": round(statistics.fmean(eligible), 1)},
        "next_ticket_for": {**percentiles(next_samples), "cpu": percentiles(next_cpu), "waiting": WAITING},
        "plan_assignments": {"waiting": WAITING, "total_ms": round(plan_s * 1000, 1),
                             "per_ticket_ms": round(plan_s * 1000 / WAITING, 3),
                             "assigned": sum(d.agent_id is not None for _, d in plan)},
    }


# --- 1b. the transactional assignment on PostgreSQL ----------------------------------------

class StatementClock:
    """Counts and times every statement the engine runs (driver round trip included)."""

    def __init__(self, engine) -> None:
        self.count = 0
        self.seconds = 0.0
        self.by_kind: dict[str, list[float]] = defaultdict(list)
        self.active = False
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if not self.active:
            return
        elapsed = time.perf_counter() - conn.info.pop("bench_t0")
        self.count += 1
        self.seconds += elapsed
        self.by_kind[statement_kind(statement)].append(elapsed * 1000)


def statement_kind(sql: str) -> str:
    flat = " ".join(sql.split()).lower()
    if "count(" in flat and "group by" in flat:
        return "load count (GROUP BY over open tickets)"
    if "for update" in flat and "from agent" in flat:
        return "lock agents (FOR UPDATE)"
    if "for update" in flat:
        return "lock ticket (FOR UPDATE)"
    if flat.startswith("select agent.") and "join agent_skill" in flat:
        return "agents with the skill"
    if "from agent_skill" in flat:
        return "agents' skills"
    if "from agent_team" in flat:
        return "agents' teams"
    if "ticket.assignee_id" in flat and "order by ticket.id desc" in flat:
        return "previous agent of the citizen"
    if flat.startswith(("insert", "update", "delete")):
        return flat.split(" ")[0] + " " + flat.split(" ")[2 if flat.startswith(("insert", "delete")) else 1]
    if flat.startswith(("savepoint", "release")):
        return "savepoint"
    by_id = re.search(r"from (\w+) where \1\.(id|ticket_id) = ", flat)
    if by_id:
        return f"get {by_id.group(1)} by id"
    return "other select"


async def populate(database_url: str, rng: random.Random) -> tuple[list[int], dict]:
    """500 agents, 100,000 open assigned tickets, then NEW_TICKETS unassigned ones to route."""
    await asyncio.to_thread(migrations.upgrade, database_url)
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    off_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(now.weekday() + 3) % 7]
    agents = synthetic_agents(rng)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        teams = {slug: await upsert_team(session, slug=slug, name=slug.title()) for slug in TEAMS}
        categories = {}
        for skill in SKILLS:
            category = await upsert_category(
                session, slug=skill, name=skill, names={}, skill_slug=skill,
                min_level=rng.choice([1, 2, 3]), team_id=teams[TEAM_OF[skill]].id,
                sla_first_response_minutes=rng.choice([60, 120, 240, 480]), sla_resolution_minutes=2400)
            categories[skill] = (category.id, category.skill_id)
        team_ids = {slug: team.id for slug, team in teams.items()}
        await session.commit()
    async with engine.begin() as connection:
        await connection.execute(insert(Agent.__table__), [
            {"id": a["id"], "email": f"{a['name']}@ville.example", "name": a["name"], "role": "agent",
             "presence": a["presence"], "capacity": a["capacity"], "channel_capacity": a["channel_capacity"],
             "languages": a["languages"], "active": True, "created_at": now,
             "working_hours": None if a["on_shift"] else {"days": [off_day], "start": "08:00", "end": "17:00"}}
            for a in agents])
        await connection.execute(text("SELECT setval(pg_get_serial_sequence('agent', 'id'), :n)"), {"n": AGENTS})
        await connection.execute(insert(AgentSkill.__table__), [
            {"agent_id": a["id"], "skill_id": categories[s][1], "level": level}
            for a in agents for s, level in a["skills"].items()])
        await connection.execute(insert(AgentTeam.__table__), [
            {"agent_id": a["id"], "team_id": team_ids[t]} for a in agents for t in a["teams"]])
        citizens = [{"full_name": f"Citoyen {i}", "language": rng.choices(["fr", "ar", "en", None], [60, 25, 5, 10])[0],
                     "created_at": now, "updated_at": now} for i in range(CITIZENS)]
        citizen_ids = []
        for start in range(0, CITIZENS, 5_000):
            rows = await connection.execute(insert(Citizen.__table__).returning(Citizen.__table__.c.id),
                                            citizens[start:start + 5_000])
            citizen_ids += [row[0] for row in rows]
        tickets, number = [], 0
        for a in agents:
            phone_left = a["channel_load"]["phone"]
            for _ in range(a["load"]):
                number += 1
                channel = "phone" if phone_left > 0 else rng.choices(CHANNELS[:-3] + ["walk_in", "letter"],
                                                                     [40, 25, 15, 7, 3])[0]
                phone_left -= 1
                created = now - timedelta(minutes=rng.uniform(10, 60 * 24 * 30))
                tickets.append({
                    "reference": f"GRU-2025-{number:07d}", "citizen_id": rng.choice(citizen_ids),
                    "category_id": categories[rng.choice(list(a["skills"]))][0], "subject": "Demande",
                    "status": rng.choice(["open", "open", "pending"]), "priority": "normal",
                    "origin_channel": channel, "reply_channel": channel, "language": None,
                    "assignee_id": a["id"], "created_at": created, "updated_at": created, "assigned_at": created})
        for start in range(0, len(tickets), 5_000):
            await connection.execute(insert(Ticket.__table__), tickets[start:start + 5_000])
        new = [{"reference": f"GRU-2026-{i:07d}", "citizen_id": rng.choice(citizen_ids),
                "category_id": categories[rng.choice(SKILLS)][0], "subject": "Nouvelle demande", "status": "new",
                "priority": rng.choices(["normal", "high"], [85, 15])[0],
                "origin_channel": (channel := rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]),
                "reply_channel": channel, "language": None, "assignee_id": None,
                "created_at": now - timedelta(minutes=rng.uniform(0, 5)), "updated_at": now}
               for i in range(NEW_TICKETS + PROFILED)]
        rows = await connection.execute(insert(Ticket.__table__).returning(Ticket.__table__.c.id), new)
        new_ids = [row[0] for row in rows]
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE"))
    await engine.dispose()
    return new_ids, {"agents": AGENTS, "open_tickets": sum(a["load"] for a in agents), "citizens": CITIZENS,
                     "agent_skills": sum(len(a["skills"]) for a in agents)}


async def explain_load_count(engine) -> str:
    """The plan of the load count for the agents of one skill, as assign_ticket runs it."""
    async with engine.connect() as connection:
        ids = [row[0] for row in await connection.execute(text(
            "SELECT agent_id FROM agent_skill s JOIN skill k ON k.id = s.skill_id WHERE k.slug = 'etat_civil'"))]
        plan = await connection.execute(text(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT assignee_id, origin_channel, count(*) FROM ticket "
            "WHERE assignee_id = ANY(:ids) AND status IN ('new', 'open', 'pending') "
            "GROUP BY assignee_id, origin_channel"), {"ids": ids})
        return "\n".join(row[0] for row in plan)


async def transactional(database_url: str) -> dict:
    rng = random.Random(66)
    t0 = time.perf_counter()
    new_ids, population = await populate(database_url, rng)
    populate_s = time.perf_counter() - t0
    engine = make_engine(database_url)
    clock = StatementClock(engine)
    sessions = make_sessionmaker(engine)
    config = RoutingConfig()
    async with sessions() as session:  # warm the pool and the calendars' caches on one ticket
        await assign_ticket(session, new_ids[0], config)
        await session.commit()
    samples, decisions, eligible, statements = [], 0, [], []
    clock.active = True
    for ticket_id in new_ids[1:NEW_TICKETS]:
        before = clock.count
        async with sessions() as session:
            t0 = time.perf_counter()
            decision = await assign_ticket(session, ticket_id, config)
            await session.commit()
            samples.append((time.perf_counter() - t0) * 1000)
        statements.append(clock.count - before)
        if decision is not None and decision.agent_id is not None:
            decisions += 1
            eligible.append(decision.eligible)
    clock.active = False
    profiler = cProfile.Profile()
    for ticket_id in new_ids[NEW_TICKETS:]:
        async with sessions() as session:
            profiler.enable()
            await assign_ticket(session, ticket_id, config)
            await session.commit()
            profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
    plan = await explain_load_count(engine)
    await engine.dispose()
    total_ms = sum(samples)
    breakdown = sorted(((kind, len(ms), sum(ms)) for kind, ms in clock.by_kind.items()),
                       key=lambda item: -item[2])
    return {
        "population": population, "populate_seconds": round(populate_s, 1),
        "assign_ticket_plus_commit": {**percentiles(samples), "assigned": decisions,
                                      "mean_eligible": round(statistics.fmean(eligible), 1) if eligible else 0},
        "statements_per_assignment": round(statistics.fmean(statements), 1),
        "sql_share_of_wall": round(clock.seconds * 1000 / total_ms, 3),
        "per_assignment_ms_by_statement": [
            {"statement": kind, "per_assignment": round(n / len(samples), 2),
             "mean_ms": round(ms / n, 3), "ms_per_assignment": round(ms / len(samples), 3),
             "share_of_wall": round(ms / total_ms, 3)} for kind, n, ms in breakdown],
        "load_count_plan": plan,
        "cprofile_top_cumulative": out.getvalue(),
    }


# --- 2. Erlang C ------------------------------------------------------------------------

def erlang_c_wait_minutes(servers: int, arrivals_per_hour: float, handling_minutes: float) -> float:
    """Mean wait in an M/M/c queue (Erlang C): P(wait) / (c·μ − λ)."""
    lam = arrivals_per_hour / 60
    mu = 1 / handling_minutes
    a = lam / mu
    rho = a / servers
    top = a ** servers / math.factorial(servers) / (1 - rho)
    p_wait = top / (sum(a ** k / math.factorial(k) for k in range(servers)) + top)
    return p_wait / (servers * mu - lam)


def erlang_scenario(servers: int, arrivals_per_hour: float, handling_minutes: float, hours: float,
                    seed: int) -> dict:
    return {
        "seed": seed, "hours": hours, "proficiency_speed": {3: 1.0},
        "agents": [{"name": f"agent{i}", "skills": {"guichet": 3}, "languages": ["fr"], "capacity": 1}
                   for i in range(servers)],
        "categories": [{"name": "guichet", "skill": "guichet", "min_level": 1, "languages": {"fr": 1.0},
                        "arrivals_per_hour": arrivals_per_hour, "handling_minutes": handling_minutes}],
    }


def erlang(servers: int, arrivals_per_hour: float, handling_minutes: float, hours: float, seed: int = 3) -> dict:
    simulation = Simulation(load_scenario(erlang_scenario(servers, arrivals_per_hour, handling_minutes,
                                                          hours, seed)), "skills")
    t0 = time.perf_counter()
    report = simulation.run()  # what routing.simulate.simulate() returns
    seconds = time.perf_counter() - t0
    # Batch means over 20 consecutive batches of arrivals: the run's own sampling noise.
    waits = [(t.started if t.started is not None else simulation.now) - t.arrival for t in simulation.tickets]
    size = len(waits) // 20
    batches = [statistics.fmean(waits[i * size:(i + 1) * size]) for i in range(20)]
    half_width = 2.093 * statistics.stdev(batches) / math.sqrt(len(batches))  # t(0.975, 19)
    formula = erlang_c_wait_minutes(servers, arrivals_per_hour, handling_minutes)
    simulated = report["mean_wait_minutes"]
    return {
        "servers": servers, "arrivals_per_hour": arrivals_per_hour, "handling_minutes": handling_minutes,
        "rho": round(arrivals_per_hour * handling_minutes / 60 / servers, 3), "hours": hours,
        "tickets": report["tickets"], "simulated_mean_wait_minutes": simulated,
        "erlang_c_mean_wait_minutes": round(formula, 3), "ratio": round(simulated / formula, 4),
        "ci95_half_width_minutes": round(half_width, 3), "ci95_relative": round(half_width / simulated, 4),
        "within_10_percent": abs(simulated / formula - 1) <= 0.10, "seconds": round(seconds, 1),
    }


# --- 3. skills vs baselines ---------------------------------------------------------------

def policies(name: str) -> list[dict]:
    scenario = load_scenario(yaml.safe_load((SCENARIOS / name).read_text()))
    rows = []
    for policy in POLICIES:
        t0 = time.perf_counter()
        report = Simulation(scenario, policy).run()
        rows.append({"scenario": name, "seconds": round(time.perf_counter() - t0, 1),
                     **{k: v for k, v in report.items() if k != "utilisation"},
                     "mean_utilisation": round(statistics.fmean(report["utilisation"].values()), 3)})
    return rows


async def run(database_url: str | None) -> dict:
    """Everything; the PostgreSQL part only with a (scratch) database URL."""
    result: dict = {"target_p99_ms": TARGET_MS, "pure": pure_decisions()}
    result["postgresql"] = await transactional(database_url) if database_url else None
    result["erlang_c"] = [erlang(3, 6.0, 20.0, 50_000), erlang(3, 7.65, 20.0, 100_000)]
    result["policies"] = [row for name in MIXED_SCENARIOS for row in policies(name)]
    return result


def print_report(result: dict, machine: str) -> None:
    console = Console(width=150)
    table = Table("what", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "target p99", "ratio p99/target",
                  title=f"routing decision, {AGENTS} agents, {OPEN_TICKETS:,} open tickets — {machine}")
    pure = result["pure"]
    rows = [("choose_agent (pure), wall", pure["choose_agent"]),
            ("choose_agent (pure), CPU time", pure["choose_agent"]["cpu"]),
            (f"next_ticket_for, {WAITING} waiting (pure), wall", pure["next_ticket_for"]),
            (f"next_ticket_for, {WAITING} waiting (pure), CPU time", pure["next_ticket_for"]["cpu"])]
    if result["postgresql"]:
        rows.append(("assign_ticket + commit (PostgreSQL)", result["postgresql"]["assign_ticket_plus_commit"]))
    for name, row in rows:
        table.add_row(name, str(row["n"]), f"{row['p50_ms']:.3f}", f"{row['p95_ms']:.3f}", f"{row['p99_ms']:.3f}",
                      f"{row['max_ms']:.3f}", f"{TARGET_MS:.0f}", f"{row['p99_ms'] / TARGET_MS:.2f}")
    console.print(table)
    plan = pure["plan_assignments"]
    console.print(f"plan_assignments for {plan['waiting']} waiting tickets: {plan['total_ms']:.0f} ms "
                  f"({plan['per_ticket_ms']:.3f} ms a ticket, {plan['assigned']} assigned)")
    if result["postgresql"]:
        pg = result["postgresql"]
        console.print(f"PostgreSQL: {pg['statements_per_assignment']} statements an assignment, SQL round trips "
                      f"{pg['sql_share_of_wall']:.0%} of wall time; populated in {pg['populate_seconds']} s")
        breakdown = Table("statement", "per assignment", "mean ms", "ms per assignment", "share of wall",
                          title="where an assignment's time goes (PostgreSQL)")
        for row in pg["per_assignment_ms_by_statement"]:
            breakdown.add_row(row["statement"], f"{row['per_assignment']:.2f}", f"{row['mean_ms']:.3f}",
                              f"{row['ms_per_assignment']:.3f}", f"{row['share_of_wall']:.0%}")
        console.print(breakdown)
    erlang_table = Table("c", "λ /h", "handling min", "ρ", "hours", "tickets", "simulated Wq min",
                         "Erlang C Wq min", "ratio", "95 % CI ±", "within 10 %", title="Erlang C (M/M/c)")
    for row in result["erlang_c"]:
        erlang_table.add_row(str(row["servers"]), f"{row['arrivals_per_hour']}", f"{row['handling_minutes']:.0f}",
                             f"{row['rho']}", f"{row['hours']:,.0f}", f"{row['tickets']:,}",
                             f"{row['simulated_mean_wait_minutes']:.3f}", f"{row['erlang_c_mean_wait_minutes']:.3f}",
                             f"{row['ratio']:.3f}", f"{row['ci95_relative']:.1%}", str(row["within_10_percent"]))
    console.print(erlang_table)
    policy_table = Table("scenario", "policy", "tickets", "SLA breach rate", "p90 wait min", "mean wait min",
                         "skill mismatches", "capacity violations", "language mismatches",
                         title="skills routing vs baselines (business minutes)")
    for row in result["policies"]:
        policy_table.add_row(row["scenario"], row["policy"], str(row["tickets"]), f"{row['sla_breach_rate']:.4f}",
                             f"{row['p90_wait_minutes']:.1f}", f"{row['mean_wait_minutes']:.1f}",
                             str(row["skill_mismatches"]), str(row["capacity_violations"]),
                             str(row["language_mismatches"]))
    console.print(policy_table)
