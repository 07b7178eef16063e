"""Timing the matching path: full match, the hand-written limit, explanation, incremental re-match.

(a) full match — our real path: each variant compiled and run on DuckDB over one profile table
    (loaded once, as `screen` does), the rows fetched as `MatchRow`s and written with
    `save_results` into a SQLite file; evaluations/s = enterprises × policies / seconds.
(b) the hand-written single query over the same table (handwritten.py), counts checked equal.
(c) OpenFisca / zen-engine: reported only when installed.
(d) `evaluate` with full trace for all variants on one enterprise, p50 / p99 per 100-policy explanation.
(e) `run_match` on a SQLite store: full run, then a file changing 1% of enterprises is imported
    through the real import path and the incremental run is timed.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from mianshen.audit.log import SYSTEM
from mianshen.benchmarks.handwritten import check_counts, handwritten_counts, run_handwritten
from mianshen.benchmarks.variants import Variant
from mianshen.catalogue import load_catalogue
from mianshen.matching.inputs import read_profiles
from mianshen.matching.publish import publish_policy
from mianshen.matching.runs import run_match
from mianshen.rules.evaluate import evaluate
from mianshen.rules.profile import Profile
from mianshen.sqlgen.compile import compile_policy
from mianshen.sqlgen.engines import duckdb_connect, load_profiles, run_compiled, sqlite_connect
from mianshen.sqlgen.screen import PolicySummary, save_results

TABLE = "screen_profiles"


@dataclass
class MatchTiming:
    enterprises: int
    policies: int
    load_seconds: float = 0.0
    compile_seconds: float = 0.0
    run_seconds: float = 0.0  # SQL + fetching MatchRows into Python
    write_seconds: float = 0.0
    sql_only_seconds: float = 0.0  # our compiled SQL materialised inside DuckDB, no fetch
    handwritten_seconds: float = 0.0
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def evaluations(self) -> int:
        return self.enterprises * self.policies

    @property
    def match_seconds(self) -> float:
        return self.compile_seconds + self.run_seconds + self.write_seconds

    def per_second(self, seconds: float) -> float:
        return self.evaluations / seconds if seconds > 0 else float("inf")


def population(engine: Engine, variants: list[Variant], as_of: dt.date) -> list[Profile]:
    from mianshen.sqlgen.compile import needed_fields

    fields = {f for v in variants for f in needed_fields(v.policy)}
    with engine.connect() as conn:
        stored = read_profiles(conn, as_of, fields)
    return [p.to_profile() for p in stored.values()]


def full_match(profiles: list[Profile], variants: list[Variant], as_of: dt.date, results_db: str | Path) -> MatchTiming:
    """(a) and (b) on one DuckDB profile table; raises AssertionError if the counts disagree."""
    timing = MatchTiming(len(profiles), len(variants))
    duck = duckdb_connect()
    try:
        started = time.perf_counter()
        compiled = [compile_policy(v.policy, as_of, "duckdb", TABLE) for v in variants]
        timing.compile_seconds = time.perf_counter() - started
        fields = sorted({f for c in compiled for f in c.fields})
        started = time.perf_counter()
        load_profiles(duck, "duckdb", TABLE, fields, [(p.id, p.values) for p in profiles])
        timing.load_seconds = time.perf_counter() - started

        started = time.perf_counter()
        summaries = [PolicySummary(v.policy, run_compiled(duck, c)) for v, c in zip(variants, compiled, strict=True)]
        timing.run_seconds = time.perf_counter() - started
        Path(results_db).unlink(missing_ok=True)
        out = sqlite_connect(str(results_db))
        try:
            started = time.perf_counter()
            save_results(out, "sqlite", summaries, as_of)
            timing.write_seconds = time.perf_counter() - started
        finally:
            out.close()
        timing.counts = Counter((s.policy.id, r.status) for s in summaries for r in s.rows)
        del summaries

        started = time.perf_counter()
        for c in compiled:
            duck.execute(f"CREATE OR REPLACE TABLE ours_sql AS {c.sql}")
        timing.sql_only_seconds = time.perf_counter() - started
        duck.execute("DROP TABLE ours_sql")

        timing.handwritten_seconds = min(run_handwritten(duck, variants, TABLE) for _ in range(3))
        check_counts(timing.counts, handwritten_counts(duck))
    finally:
        duck.close()
    return timing


def other_engines() -> dict[str, str]:
    """(c): OpenFisca and zen-engine are optional and never installed by the benchmark."""
    found = {}
    for name, module in (("OpenFisca", "openfisca_core"), ("zen-engine", "zen")):
        installed = importlib.util.find_spec(module) is not None
        found[name] = "已安装，尚无适配（未测）" if installed else "未安装"
    return found


def explain_latency(variants: list[Variant], profile: Profile, as_of: dt.date, repetitions: int) -> list[float]:
    """(d): seconds per explanation of every variant (full trace) for one enterprise, per repetition."""
    catalogue = load_catalogue()
    for v in variants:  # warm-up (imports, caches)
        evaluate(v.policy, profile, as_of, catalogue)
    out = []
    for _ in range(repetitions):
        started = time.perf_counter()
        for v in variants:
            evaluate(v.policy, profile, as_of, catalogue)
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


def rematch(engine: Engine, url: str, data_dir: Path, workdir: Path, as_of: dt.date) -> Rematch:
    """(e): full run_match, import a file changing 1% of enterprises, incremental run_match."""
    started = time.perf_counter()
    full = run_match(engine, as_of, full=True)
    full_seconds = time.perf_counter() - started
    changed_file = workdir / "credit-changed-1pct.csv"
    changed = change_one_percent(data_dir, changed_file)
    import_file(url, "credit", changed_file, as_of)
    started = time.perf_counter()
    again = run_match(engine, as_of)
    seconds = time.perf_counter() - started
    return Rematch(full_seconds, full.evaluated, changed, seconds, again.evaluated, again.scope)
