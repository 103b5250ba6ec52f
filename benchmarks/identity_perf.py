"""Issue 5 at scale: import rate and resolution latency at N citizens (targets at 1,000,000:
import >= 20,000 rows/s, resolution p99 <= 10 ms, on SQLite and on PostgreSQL).

N reference people of identity_dataset are written to one CSV and imported with the real
`guichet citizens import` (wall time of the command; peak memory of the command's processes,
sampled from /proc: see `import_memory`). Then `resolve` runs
through the Python API, one record per session as a caller would, on a mix of queries: exact
copies of reference rows, corrupted second records, relatives, namesakes and strangers. The
baseline, in the same run: rapidfuzz's `process.extract(name, all_names, scorer=fuzz.WRatio,
limit=5)` over the N names held in memory, the scan a naive resolver would do; the ratio is
naive p99 / resolver p99.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rapidfuzz import fuzz, process

from app.db import make_engine, make_sessionmaker
from benchmarks import identity_dataset
from benchmarks.identity_quality import Command, guichet
from benchmarks.routing import percentiles
from crm.identity import IdentityPolicy, IdentityRecord, resolve

# Shares of the queries; 'exact' are reference rows as they are, the rest identity_dataset's kinds.
QUERY_MIX = {"exact": 0.25, "duplicate": 0.45, "family": 0.1, "twin": 0.02, "namesake": 0.08, "unknown": 0.1,
             "walkin": 0.0}  # walk-ins are for identity_quality; latency keeps the mix it was measured on


def dataset(citizens: int, queries: int, seed: int = 5) -> tuple[identity_dataset.Dataset, list]:
    """The reference people and (kind, row) queries."""
    mix = {kind: share * queries / citizens for kind, share in QUERY_MIX.items() if kind != "exact"}
    made = identity_dataset.generate(citizens, seed, mix)
    rng = random.Random(seed)
    asked = [(q.kind, q.row) for q in made.queries]
    exact = rng.sample(made.reference, round(QUERY_MIX["exact"] * queries))
    asked += [("exact", {**p.row(), "external_id": f"X{k:07d}"}) for k, p in enumerate(exact, 1)]
    rng.shuffle(asked)
    return made, asked


@dataclass
class Memory:
    """Peak memory of a command's process tree (MB): the command's own process (the import's
    writer), the largest other one (a worker) and the tree's total resident set at its fullest."""

    writer_mb: float = 0.0
    worker_mb: float = 0.0
    tree_mb: float = 0.0


def _status(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS of a process in kB ({} once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in status)
                    if k in ("VmHWM", "VmRSS")}
    except (OSError, ValueError):
        return {}


def _tree(pid: int) -> list[int]:
    """pid and its descendants (a forkserver's workers are grandchildren)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo += [int(child) for child in children.read().split()]
        except OSError:
            pass
    return found


def import_memory(*args: str, url: str, every: float = 0.05) -> tuple[Command, Memory]:
    """`guichet` run like `identity_quality.guichet`, its processes' memory sampled from /proc
    meanwhile. Not wait4's ru_maxrss: Linux records the old address space's high-water mark at
    exec, so a command spawned from this process (which holds the whole generated dataset,
    ~1.2 GB at 1,000,000 people) reported this process's size, the same on every database."""
    memory = Memory()
    command = [str(Path(sys.executable).with_name("guichet")), *args]
    child = subprocess.Popen(command, env={**os.environ, "GUICHET_DATABASE_URL": url},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def sample() -> None:
        while child.poll() is None:
            tree = {pid: _status(pid) for pid in _tree(child.pid)}
            own = tree.pop(child.pid, {})
            memory.writer_mb = max(memory.writer_mb, own.get("VmHWM", 0) / 1024)
            memory.worker_mb = max([memory.worker_mb, *(s.get("VmHWM", 0) / 1024 for s in tree.values())])
            total = own.get("VmRSS", 0) + sum(s.get("VmRSS", 0) for s in tree.values())
            memory.tree_mb = max(memory.tree_mb, total / 1024)
            time.sleep(every)

    sampler = threading.Thread(target=sample, daemon=True)
    start = time.perf_counter()
    sampler.start()
    stdout, stderr = child.communicate()
    seconds = time.perf_counter() - start
    sampler.join()
    if child.returncode:
        raise RuntimeError(f"{' '.join(args)} failed ({child.returncode}): {stderr[-3000:]}")
    return Command(stdout, seconds), memory


def record(row: dict[str, str]) -> IdentityRecord:
    values = {key: value or None for key, value in row.items() if key in identity_dataset.COLUMNS}
    if values.get("birth_date"):
        values["birth_date"] = date.fromisoformat(values["birth_date"])
    return IdentityRecord(**values)


def typed_name(row: dict[str, str]) -> str:
    return row["full_name"] or f"{row['first_name']} {row['last_name']}".strip()


async def latency(url: str, asked: list, warm: int = 200) -> dict:
    """Resolution time of each query, one session each (ms), overall and by kind; decisions counted."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    policy = IdentityPolicy(default_region="FR")
    times: dict[str, list[float]] = defaultdict(list)
    decisions: dict[str, int] = defaultdict(int)
    try:
        for _, row in asked[:warm]:
            async with sessions() as session:
                await resolve(session, record(row), policy=policy)
        for kind, row in asked:
            start = time.perf_counter()
            async with sessions() as session:
                resolution = await resolve(session, record(row), policy=policy)
            times[kind].append((time.perf_counter() - start) * 1000)
            decisions[resolution.decision] += 1
    finally:
        await engine.dispose()
    return {**percentiles([t for values in times.values() for t in values]),
            "by_kind": {kind: percentiles(values) for kind, values in sorted(times.items())},
            "decisions": dict(decisions)}


def naive(names: list[str], asked: list, n: int) -> dict:
    """rapidfuzz over every name in memory: the cost of not blocking."""
    times = []
    for _, row in asked[:n]:
        start = time.perf_counter()
        process.extract(typed_name(row), names, scorer=fuzz.WRatio, limit=5)
        times.append((time.perf_counter() - start) * 1000)
    return percentiles(times)


async def run(backends: list[tuple[str, str]], folder: Path, citizens: int, queries: int,
              naive_queries: int, seed: int = 5) -> dict:
    """backends: (name, database url) pairs, each an empty database."""
    start = time.perf_counter()
    made, asked = dataset(citizens, queries, seed)
    reference = identity_dataset.write(made, folder, seed)["reference"]
    generated_s = time.perf_counter() - start
    print(f"{citizens:,} people and {len(asked)} queries generated and written in {generated_s:.0f} s")
    results: dict = {"citizens": citizens, "queries": len(asked), "generate_s": round(generated_s, 1),
                     "backends": {}}
    for backend, url in backends:
        guichet("db", "upgrade", url=url)
        imported, memory = import_memory("citizens", "import", str(reference), "--errors",
                                         str(folder / f"errors_{backend}.csv"), url=url)
        print(f"{backend}: {imported.stdout.strip()}")
        print(f"{backend}: import {citizens / imported.seconds:,.0f} rows/s ({imported.seconds:.0f} s), "
              f"peak RSS writer {memory.writer_mb:,.0f} MB, worker {memory.worker_mb:,.0f} MB, "
              f"whole tree {memory.tree_mb:,.0f} MB")
        timed = await latency(url, asked)
        print(f"{backend}: resolve p50 {timed['p50_ms']:.1f} ms, p95 {timed['p95_ms']:.1f} ms, "
              f"p99 {timed['p99_ms']:.1f} ms over {timed['n']} queries")
        results["backends"][backend] = {"import_s": round(imported.seconds, 1),
                                        "import_rows_per_s": round(citizens / imported.seconds),
                                        "import_peak_rss_mb": round(memory.writer_mb),
                                        "import_peak_rss_worker_mb": round(memory.worker_mb),
                                        "import_peak_rss_tree_mb": round(memory.tree_mb), "resolve": timed}
    names = [typed_name(p.row()) for p in made.reference]
    baseline = naive(names, asked, naive_queries)
    print(f"naive rapidfuzz scan over {len(names):,} names: p50 {baseline['p50_ms']:.0f} ms, "
          f"p99 {baseline['p99_ms']:.0f} ms over {baseline['n']} queries")
    results["naive"] = baseline
    for backend, figures in results["backends"].items():
        figures["naive_p99_over_resolver_p99"] = round(baseline["p99_ms"] / figures["resolve"]["p99_ms"], 1)
        print(f"{backend}: naive p99 / resolver p99 = {figures['naive_p99_over_resolver_p99']}")
    return results


def report(results: dict, machine: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("backend", "import rows/s", "import peak RSS MB writer / worker", "resolve p50 ms", "p95 ms",
                  "p99 ms", "naive p99 ms", "naive p99 / p99",
                  title=f"identity resolution at {results['citizens']:,} citizens — {machine} — "
                        "targets: import >= 20,000 rows/s, p99 <= 10 ms")
    for backend, r in results["backends"].items():
        table.add_row(backend, f"{r['import_rows_per_s']:,}",
                      f"{r['import_peak_rss_mb']:,} / {r.get('import_peak_rss_worker_mb', '-')}",
                      f"{r['resolve']['p50_ms']:.1f}", f"{r['resolve']['p95_ms']:.1f}",
                      f"{r['resolve']['p99_ms']:.1f}", f"{results['naive']['p99_ms']:.0f}",
                      f"{r['naive_p99_over_resolver_p99']:.0f}")
    Console(width=160).print(table)

