"""Issue 5: how right `guichet citizens resolve` is on a labelled linkage set (identity_dataset).

The real command, as an administration would run it, on a scratch database: `guichet db upgrade`,
`guichet citizens import reference.csv --errors ...`, `guichet citizens resolve queries.csv`.
A `match` is right when its `matched_external_id` is the truth's reference id; precision =
right matches / matches, recall = right matches / queries that have a reference person (targets:
precision >= 0.99, recall >= 0.95). `review` and `new` are counted apart, per kind of query and
per corruption; the first wrong and missed matches are printed side by side, for whoever tunes
the resolver (stdout only: they are synthetic, but they are not figures).

The `walkin` queries (a name with a misheard word and a postcode or a birth year, nothing else)
are no evidence for a `match`: they are scored apart (`walk_ins`: how many were put to review,
i.e. found, and how many made new), and the targets are read on the other queries, the set the
earlier figures were measured on.

`python -m benchmarks.identity_quality --score FOLDER DECISIONS.jsonl` scores a resolve output
against FOLDER/truth.csv (and FOLDER/reference.csv, FOLDER/queries.csv) without running anything,
for any labelled set written in the same three files.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from benchmarks import identity_dataset

SHOWN = 20


@dataclass
class Command:
    stdout: str
    seconds: float  # wall time


def guichet(*args: str, url: str, stdout: Path | None = None) -> Command:
    """Runs the installed `guichet` command on the database at url, its output to stdout or kept."""
    command = [str(Path(sys.executable).with_name("guichet")), *args]
    with tempfile.TemporaryDirectory() as folder:
        out_path, err_path = stdout or Path(folder) / "out", Path(folder) / "err"
        with out_path.open("w") as out, err_path.open("w") as err:
            start = time.perf_counter()
            process = subprocess.Popen(command, env={**os.environ, "GUICHET_DATABASE_URL": url},
                                       stdout=out, stderr=err)
            _, status, _ = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - start
            process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            raise RuntimeError(f"{' '.join(command[1:])} failed ({process.returncode}): "
                               f"{err_path.read_text()[-3000:]}")
        return Command("" if stdout else out_path.read_text(), seconds)


def read_rows(path: Path, key: str) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as rows:
        return {row[key]: row for row in csv.DictReader(rows)}


def read_decisions(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.startswith("{")]


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def score(truth: dict[str, dict[str, str]], decisions: list[dict]) -> dict:
    """The figures of one resolve run, and the ids of its wrong and missed matches."""
    by_query = {d.get("external_id"): d for d in decisions}
    positives = sum(1 for t in truth.values() if t["reference_id"])
    right = wrong = 0
    decided: Counter[tuple[str, str]] = Counter()  # (positive|negative, decision)
    kinds: dict[str, Counter] = defaultdict(Counter)
    corruptions: dict[str, Counter] = defaultdict(Counter)
    wrong_ids, missed_ids, unanswered = [], [], []
    for query_id, t in truth.items():
        decision = by_query.get(query_id)
        if decision is None:
            unanswered.append(query_id)
            verdict = "unanswered"
        elif decision["decision"] == "match":
            verdict = "right" if decision.get("matched_external_id") == t["reference_id"] else "wrong"
        else:
            verdict = decision["decision"]
        right += verdict == "right"
        wrong += verdict == "wrong"
        side = "positive" if t["reference_id"] else "negative"
        decided[side, "match" if verdict in ("right", "wrong") else verdict] += 1
        kinds[t.get("kind") or side][verdict] += 1
        for corruption in filter(None, (t.get("corruptions") or "").split(";")):
            if side == "positive":
                corruptions[corruption][verdict] += 1
        if verdict == "wrong":
            wrong_ids.append(query_id)
        elif side == "positive" and verdict != "right":
            missed_ids.append(query_id)
    matches = right + wrong
    precision, recall = _ratio(right, matches), _ratio(right, positives)
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision and recall else None
    return {
        "queries": len(truth), "positives": positives, "negatives": len(truth) - positives,
        "matches": matches, "right_matches": right, "wrong_matches": wrong,
        "precision": precision, "recall": recall, "f1": f1,
        "review": decided["positive", "review"] + decided["negative", "review"],
        "review_of_positives": decided["positive", "review"], "review_of_negatives": decided["negative", "review"],
        "new": decided["positive", "new"] + decided["negative", "new"],
        "new_of_positives": decided["positive", "new"], "new_of_negatives": decided["negative", "new"],
        "unanswered": len(unanswered),
        "by_kind": {kind: dict(counts) for kind, counts in sorted(kinds.items())},
        "by_corruption": {name: dict(counts) for name, counts in sorted(corruptions.items())},
        "wrong_ids": wrong_ids, "missed_ids": missed_ids,
    }


def _brief(row: dict[str, str] | None) -> str:
    if not row:
        return "-"
    name = row.get("full_name") or f"{row.get('first_name', '')} {row.get('last_name', '')}".strip()
    return " | ".join(v for v in (row.get("external_id"), name, row.get("birth_date"), row.get("email"),
                                  row.get("phone"), row.get("address"), row.get("postcode"), row.get("city"),
                                  row.get("national_id")) if v)


def show(figures: dict, truth: dict, decisions: list[dict], reference: dict, queries: dict) -> None:
    """The first wrong and missed matches, the query beside the reference rows, with the resolver's reasons."""
    by_query = {d.get("external_id"): d for d in decisions}
    for title, ids in (("wrong matches", figures["wrong_ids"]), ("missed matches", figures["missed_ids"])):
        print(f"\n{title}: {len(ids)} (first {min(SHOWN, len(ids))})")
        for query_id in ids[:SHOWN]:
            t, decision = truth[query_id], by_query.get(query_id) or {}
            print(f"- {t.get('kind', '')} {t.get('corruptions', '')}: {decision.get('decision')} "
                  f"score={decision.get('score')} reasons={decision.get('reasons')}")
            print(f"    query   {_brief(queries.get(query_id))}")
            if decision.get("matched_external_id"):
                print(f"    matched {_brief(reference.get(decision['matched_external_id']))}")
            print(f"    truth   {_brief(reference.get(t['reference_id']))}")


def report(backend: str, figures: dict) -> None:
    print(f"\nidentity resolution quality, {backend}: {figures['queries']} queries "
          f"({figures['positives']} with a reference person): precision {figures['precision']} "
          f"(target >= 0.99), recall {figures['recall']} (target >= 0.95), F1 {figures['f1']}; "
          f"{figures['matches']} matches ({figures['wrong_matches']} wrong), review {figures['review']} "
          f"({figures['review_of_positives']} of positives), new {figures['new']} "
          f"({figures['new_of_positives']} of positives), unanswered {figures['unanswered']}")
    for group in ("by_kind", "by_corruption"):
        for name, counts in figures[group].items():
            print(f"  {name:24} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


APART = "walkin"  # kinds of query scored apart from the targets


def score_folder(folder: Path, decisions_path: Path, backend: str) -> dict:
    every = read_rows(folder / "truth.csv", "query_id")
    truth = {query_id: t for query_id, t in every.items() if t.get("kind") != APART}
    decisions = read_decisions(decisions_path)
    figures = score(truth, decisions)
    report(backend, figures)
    if len(truth) < len(every):
        walk_ins = score({query_id: t for query_id, t in every.items() if t.get("kind") == APART}, decisions)
        figures["walk_ins"] = {name: walk_ins[name] for name in ("queries", "right_matches", "wrong_matches",
                                                                  "review", "new", "by_corruption")}
        print(f"\nwalk-ins ({walk_ins['queries']}, scored apart): found for review {walk_ins['review']}, "
              f"new {walk_ins['new']}, matches {walk_ins['matches']} ({walk_ins['wrong_matches']} wrong)")
        for name, counts in walk_ins["by_corruption"].items():
            print(f"  {name:24} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    show(figures, truth, decisions, read_rows(folder / "reference.csv", "external_id"),
         read_rows(folder / "queries.csv", "external_id"))
    return figures


def run(backend: str, url: str, folder: Path, people: int, seed: int = 5) -> dict:
    """Generate the set, import it and resolve it with the real command on url; the figures."""
    made = identity_dataset.generate(people, seed)
    paths = identity_dataset.write(made, folder, seed)
    guichet("db", "upgrade", url=url)
    imported = guichet("citizens", "import", str(paths["reference"]), "--errors",
                       str(folder / f"import_errors_{backend}.csv"), url=url)
    print(imported.stdout.strip())
    decisions_path = folder / f"decisions_{backend}.jsonl"
    resolved = guichet("citizens", "resolve", str(paths["queries"]), url=url, stdout=decisions_path)
    figures = score_folder(folder, decisions_path, backend)
    print(f"import {len(made.reference)} rows in {imported.seconds:.1f} s, resolve {len(made.queries)} rows "
          f"in {resolved.seconds:.1f} s (wall time of the command)")
    del figures["wrong_ids"], figures["missed_ids"]
    return {"backend": backend, "people": people, "seed": seed, "import_s": round(imported.seconds, 2),
            "resolve_s": round(resolved.seconds, 2), **figures}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--score", nargs=2, type=Path, metavar=("FOLDER", "DECISIONS"), required=True,
                        help="score a resolve output against FOLDER/truth.csv")
    parser.add_argument("--label", default="given set")
    args = parser.parse_args()
    score_folder(*args.score, args.label)
