"""Timing the matching path: full match, the hand-written limit, explanation, incremental re-match.

(a) full match — the real path: `run_match --full` of the published variants on the store the
    population was imported into (profiles read from the store, one batch statement in DuckDB,
    results staged and diffed in the store, cases, data requests and audit rows written);
    evaluations/s = enterprises × policies / seconds.
(a′) our batch SQL alone: the same statement materialised inside DuckDB over the same table.
(b) the hand-written single query over that table (handwritten.py); its per-policy status counts
    must equal those the run wrote into the store.
(c) OpenFisca / zen-engine: external.py, when installed.
(d) `evaluate` with full trace for all variants on one enterprise, p50 / p99 per 100-policy explanation.
(e) after (a), a file changing 1% of enterprises is imported through the real import path and the
    incremental `run_match` is timed.
"""

from __future__ import annotations

import csv
import datetime as dt
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from mianshen.audit.log import SYSTEM
from mianshen.benchmarks.handwritten import check_counts, handwritten_counts, run_handwritten
from mianshen.benchmarks.variants import Variant
from mianshen.catalogue import load_catalogue
from mianshen.matching.inputs import read_profiles
from mianshen.matching.publish import publish_policy
from mianshen.matching.runs import run_match
from mianshen.rules.evaluate import evaluate
from mianshen.rules.profile import Profile
from mianshen.sqlgen.batch import add_hash_columns, batch_select, plan_batch
from mianshen.sqlgen.engines import duckdb_connect, load_profiles
from mianshen.store.schema import enterprises, matches

TABLE = "screen_profiles"


@dataclass
class SqlLimit:
    """(a′) and (b) on one in-memory DuckDB table of the same profiles."""

    enterprises: int
    policies: int
    ours_seconds: float = 0.0
    ours_status_seconds: float = 0.0  # the same statement asked only for what the hand-written one returns
    handwritten_seconds: float = 0.0
    handwritten: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def evaluations(self) -> int:
        return self.enterprises * self.policies


def _fields(variants: list[Variant]) -> set[str]:
    from mianshen.sqlgen.compile import needed_fields

    return {f for v in variants for f in needed_fields(v.policy)}


def population(engine: Engine, variants: list[Variant], as_of: dt.date) -> list[Profile]:
    with engine.connect() as conn:
        stored = read_profiles(conn, as_of, _fields(variants))
    return [p.to_profile() for p in stored.values()]


def sample_enterprise(engine: Engine, variants: list[Variant], as_of: dt.date, first: int = 200) -> Profile:
    """(d)'s enterprise: the fullest profile among the first `first` enterprises, read alone — as a
    portal process would, without the whole population in memory (which slows Python down)."""
    with engine.connect() as conn:
        usccs = conn.execute(select(enterprises.c.uscc).order_by(enterprises.c.uscc).limit(first)).scalars().all()
        stored = read_profiles(conn, as_of, _fields(variants), usccs)
    return max((p.to_profile() for p in stored.values()), key=lambda p: (len(p.values), p.id))


def sql_limit(profiles: list[Profile], variants: list[Variant], as_of: dt.date, repeat: int = 3) -> SqlLimit:
    """Our batch statement and the hand-written query, each materialised (best of `repeat`)."""
    out = SqlLimit(len(profiles), len(variants))
    plan = plan_batch([v.policy for v in variants], as_of, "duckdb")
    duck = duckdb_connect()
    try:
        load_profiles(duck, "duckdb", TABLE, plan.fields, [(p.id, p.values) for p in profiles])
        add_hash_columns(duck, "duckdb", TABLE, plan, as_of)
        sql = batch_select("duckdb", plan, TABLE)
        times = [_materialise(duck, sql) for _ in range(repeat)]
        out.ours_seconds = min(times)
        # The hand-written query returns (policy, enterprise, status) only; ours also carries the exact
        # amount, two condition masks and the input hash. Asked for the same three columns, DuckDB
        # prunes the rest, so this is our compiled logic on exactly the hand-written query's work.
        same = f"SELECT policy_id, uscc, status FROM ({sql})"
        out.ours_status_seconds = min(_materialise(duck, same) for _ in range(repeat))
        out.handwritten_seconds = min(run_handwritten(duck, variants, TABLE) for _ in range(repeat))
        out.handwritten = handwritten_counts(duck)
        # the last materialised table is the same-output one: it must say what the hand-written query says
        same_counts = duck.execute("SELECT policy_id, status, count(*) FROM ours_sql GROUP BY 1, 2").fetchall()
        check_counts(Counter({(str(p), str(s)): int(n) for p, s, n in same_counts}), out.handwritten)
    finally:
        duck.close()
    return out


def _materialise(duck: Any, sql: str) -> float:
    started = time.perf_counter()
    duck.execute(f"CREATE OR REPLACE TABLE ours_sql AS {sql}")
    return time.perf_counter() - started


def stored_counts(engine: Engine, variants: list[Variant]) -> Counter[tuple[str, str]]:
    """Per (policy, status) counts in the match library: what the real run wrote."""
    ids = [v.policy.id for v in variants]
    query = select(matches.c.policy_id, matches.c.status, func.count()).where(matches.c.policy_id.in_(ids))
    with engine.connect() as conn:
        rows = conn.execute(query.group_by(matches.c.policy_id, matches.c.status)).all()
    return Counter({(str(p), str(s)): int(n) for p, s, n in rows})


def full_run(engine: Engine, variants: list[Variant], as_of: dt.date, limit: SqlLimit) -> tuple[float, Any]:
    """(a): `run_match --full`; raises AssertionError when its counts differ from the hand-written query's."""
    started = time.perf_counter()
    report = run_match(engine, as_of, full=True)
    seconds = time.perf_counter() - started
    check_counts(stored_counts(engine, variants), limit.handwritten)
    return seconds, report


def explain_latency(
    variants: list[Variant], profile: Profile, as_of: dt.date, repetitions: int, render: bool = False
) -> list[float]:
    """(d): seconds per explanation of every variant for one enterprise, per repetition.

    The trace is complete either way (every condition's field, bound, value, source and distance
    are captured); its sentences are built on first read, so `render=True` also times producing all
    the text (`as_dict()`), as a page showing every explanation at once would.
    """
    catalogue = load_catalogue()
    for v in variants:  # warm-up (imports, per-policy preparation)
        evaluate(v.policy, profile, as_of, catalogue)
    out = []
    for _ in range(repetitions):
        started = time.perf_counter()
        for v in variants:
            result = evaluate(v.policy, profile, as_of, catalogue)
            if render:
                result.as_dict()
        out.append(time.perf_counter() - started)
    return out


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


@dataclass
class Rematch:
    full_seconds: float
    full_evaluated: int
    changed_enterprises: int
    incremental_seconds: float
    incremental_evaluated: int
    scope: str

    @property
    def share(self) -> float:
        return self.incremental_seconds / self.full_seconds


def publish(engine: Engine, variants: list[Variant]) -> None:
    with engine.begin() as conn:
        for v in variants:
            publish_policy(conn, v.path, SYSTEM)


def change_one_percent(data_dir: Path, out: Path, fraction: float = 0.01) -> int:
    """A credit file (严重失信名单核查) in which every 1/fraction-th enterprise's answer is flipped."""
    with (data_dir / "credit.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    step = max(1, round(1 / fraction))
    changed = [[*r[:-1], "否" if r[-1] == "是" else "是"] for r in body[::step]]
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(changed)
    return len(changed)


def import_file(url: str, source: str, path: Path, as_of: dt.date) -> None:
    """The real import path, as a data manager runs it (one process, one transaction)."""
    exe = str(Path(sys.executable).parent / "mianshen")
    subprocess.run(
        [exe, "data", "import", "--source", source, str(path), "--as-of", as_of.isoformat(), "--db", url],
        check=True,
        capture_output=True,
    )


def rematch(
    engine: Engine, url: str, data_dir: Path, workdir: Path, as_of: dt.date, full_seconds: float, full: Any
) -> Rematch:
    """(e): after the full run, import a file changing 1% of enterprises and time the incremental run."""
    changed_file = workdir / "credit-changed-1pct.csv"
    changed = change_one_percent(data_dir, changed_file)
    import_file(url, "credit", changed_file, as_of)
    started = time.perf_counter()
    again = run_match(engine, as_of)
    seconds = time.perf_counter() - started
    return Rematch(full_seconds, full.evaluated, changed, seconds, again.evaluated, again.scope)
