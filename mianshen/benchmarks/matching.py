"""Timing the matching path: full match, the hand-written limit, explanation, incremental re-match.

(a) full match — the real path: `run_match --full` of the published variants on the store the
    population was imported into (the profile snapshot pivoted by DuckDB from the observation
    mirror, the one assembler's statement written to the columnar library, changes, cases, data
    requests and audit rows into the store); evaluations/s = enterprises × policies / seconds, and
    per stage (the run's own stopwatch): the evaluate-and-write step alone, cases per second.
(a′) our statement alone: materialised inside DuckDB over the same snapshot table.
(b) the hand-written single query over that table (handwritten.py); its per-policy status counts
    must equal the library's.
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

from sqlalchemy import Engine, select

from mianshen.audit.log import SYSTEM
from mianshen.benchmarks.handwritten import check_counts, handwritten_counts, run_handwritten
from mianshen.benchmarks.variants import Variant
from mianshen.catalogue import load_catalogue
from mianshen.matching.publish import publish_policy
from mianshen.matching.runs import run_match
from mianshen.profiles.current import read_profile
from mianshen.profiles.snapshot import build, evaluator_profiles
from mianshen.rules.evaluate import evaluate
from mianshen.rules.profile import Profile
from mianshen.sqlgen.assemble import STATUSES, assemble
from mianshen.sqlgen.compile import needed_fields
from mianshen.sqlgen.duck import duckdb_connect
from mianshen.sqlgen.engines import results_table
from mianshen.store.schema import enterprises, match_policies

TABLE = "profiles"


@dataclass
class SqlLimit:
    """(a′) and (b) on one DuckDB snapshot table of the same profiles."""

    enterprises: int
    policies: int
    snapshot_seconds: float = 0.0  # pivoting the population from the observation mirror
    ours_seconds: float = 0.0
    ours_status_seconds: float = 0.0  # the same statement asked only for what the hand-written one returns
    handwritten_seconds: float = 0.0
    handwritten: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def evaluations(self) -> int:
        return self.enterprises * self.policies


def _fields(variants: list[Variant]) -> set[str]:
    return {f for v in variants for f in needed_fields(v.policy)}


def sample_enterprise(engine: Engine, variants: list[Variant], as_of: dt.date, first: int = 200) -> Profile:
    """(d)'s enterprise: the fullest profile among the first `first` enterprises, read one by one as
    the portal reads them (without the whole population in memory, which slows Python down)."""
    with engine.connect() as conn:
        usccs = conn.execute(select(enterprises.c.uscc).order_by(enterprises.c.uscc).limit(first)).scalars().all()
        profiles = [read_profile(conn, u, as_of).to_profile() for u in usccs]
    wanted = _fields(variants)
    return max(profiles, key=lambda p: (len(set(p.values) & wanted), p.id))


def sql_limit(engine: Engine, variants: list[Variant], as_of: dt.date, repeat: int = 3) -> tuple[SqlLimit, Any]:
    """The snapshot built as a run builds it, then our statement and the hand-written query over it,
    each materialised (best of `repeat`). Returns the DuckDB connection holding `profiles` too."""
    duck = duckdb_connect()
    started = time.perf_counter()
    with engine.connect() as conn:
        snap = build(conn, duck, as_of, _fields(variants))
    return limits(duck, snap.enterprises, variants, as_of, repeat, time.perf_counter() - started), duck


def limits(
    duck: Any, enterprises: int, variants: list[Variant], as_of: dt.date, repeat: int, snapshot_seconds: float = 0
) -> SqlLimit:
    """Our statement and the hand-written query over DuckDB table `profiles`, counts checked equal."""
    out = SqlLimit(enterprises, len(variants), snapshot_seconds)
    policies = [v.policy for v in variants]
    assembly = assemble(policies, as_of, "duckdb", TABLE)
    out.ours_seconds = min(_timed(lambda: results_table(duck, assembly, "ours_sql")) for _ in range(repeat))
    # The hand-written query returns (policy, enterprise, status) only; ours also carries the exact
    # amount and the unknown mask. Asked for the statuses alone, DuckDB prunes the rest.
    statuses = ", ".join(f"s_{k}" for k in range(len(policies)))
    same = " ".join(
        f"CREATE OR REPLACE TABLE ours_status AS SELECT id, {statuses} FROM ({s.sql});" for s in assembly.statements
    )
    out.ours_status_seconds = min(_timed(lambda: duck.execute(same)) for _ in range(repeat))
    out.handwritten_seconds = min(run_handwritten(duck, variants, TABLE) for _ in range(repeat))
    out.handwritten = handwritten_counts(duck)
    check_counts(_counts(duck, policies, "ours_sql"), out.handwritten)
    return out


def _timed(work: Any) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _counts(duck: Any, policies: list[Any], table: str) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for k, p in enumerate(policies):
        for code, n in duck.execute(f"SELECT s_{k}, count(*) FROM {table} GROUP BY 1").fetchall():
            found[(p.id, STATUSES[code])] = int(n)
    return found


def python_profiles(duck: Any, variants: list[Variant]) -> list[Profile]:
    """The snapshot's rows as the evaluator's profiles (for OpenFisca and zen-engine's inputs)."""
    return evaluator_profiles(duck, TABLE, sorted(_fields(variants)))


def library_counts(engine: Engine, run_id: int) -> Counter[tuple[str, str]]:
    """Per (policy, status) counts of the library after a run (its match_policies rows)."""
    with engine.connect() as conn:
        rows = conn.execute(select(match_policies).where(match_policies.c.run_id == run_id)).all()
    out: Counter[tuple[str, str]] = Counter()
    for r in rows:
        for status in STATUSES:
            if getattr(r, status):
                out[(r.policy_id, status)] = int(getattr(r, status))
    return out


def full_run(engine: Engine, as_of: dt.date, limit: SqlLimit) -> tuple[float, Any]:
    """(a): `run_match --full`; raises AssertionError when its counts differ from the hand-written query's."""
    started = time.perf_counter()
    report = run_match(engine, as_of, full=True)
    seconds = time.perf_counter() - started
    check_counts(library_counts(engine, report.run_id), limit.handwritten)
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
