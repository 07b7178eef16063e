"""Spark and DuckDB timed over the same Parquet snapshot (`mianshen bench spark`; docs/scaling.md).

Both engines run the same compiled policies over the same files and write the same result rows to
Parquet; the counts per policy and status are compared, so a fast wrong answer cannot pass as a
result. Spark's session start is reported apart from the match: on a cluster it is paid once per
run, not per policy, and it does not grow with the population. The snapshot is synthetic (see
`synthetic`) and reused between runs with the same size and seed; generating it is timed separately.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mianshen.matching.evaluation import write_layer
from mianshen.profiles.derive import with_inputs
from mianshen.rules.ast import Policy
from mianshen.scale.parquet import read_meta, write_snapshot
from mianshen.scale.spark import match_snapshot
from mianshen.scale.synthetic import synthetic_profiles
from mianshen.sqlgen.assemble import STATUSES
from mianshen.sqlgen.compile import needed_fields
from mianshen.sqlgen.engines import duckdb_connect
from mianshen.sqlgen.screen import screenable


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )


def snapshot(
    root: Path, enterprises: int, policies: list[Policy], as_of: dt.date, seed: int = 1, extra: Sequence[str] = ()
) -> dict[str, Any]:
    """The synthetic snapshot for this size (made once, then reused); returns its path and build time.
    `extra`: fields to hold besides those the policies read (the inputs an input hash covers)."""
    path = root / f"profiles-{enterprises}-s{seed}"
    read = {f for p in screenable(policies) for f in needed_fields(p)}
    fields = sorted(with_inputs(read | {"region_code"}) | set(extra))
    meta = read_meta(path)
    if meta and meta.rows == enterprises and set(fields) <= set(meta.fields):
        return {"path": path, "seconds": None, "bytes": _size(path)}
    started = time.perf_counter()
    write_snapshot(synthetic_profiles(enterprises, seed, as_of), fields, path, as_of)
    return {"path": path, "seconds": time.perf_counter() - started, "bytes": _size(path)}


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def duckdb_match(profiles: Path, out: Path, policies: list[Policy], as_of: dt.date) -> tuple[float, Counter]:
    """The DuckDB path over the same files: a view on the Parquet, the layer a match run writes."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    conn = duckdb_connect()
    try:
        started = time.perf_counter()
        conn.execute(f"CREATE VIEW snapshot AS SELECT * FROM read_parquet('{profiles}/**/*.parquet')")
        layer = write_layer(conn, out, out, 0, screenable(policies), as_of, "", 0, "snapshot")
        seconds = time.perf_counter() - started
        counts: Counter[tuple[str, str]] = Counter()
        for c in layer.policies:
            for code, n in conn.execute(f"SELECT s_{c.column}, count(*) FROM '{out / c.file}' GROUP BY 1").fetchall():
                counts[(c.policy_id, STATUSES[code])] = int(n)
    finally:
        conn.close()
    return seconds, counts


def run(
    spark_factory: Any,
    root: Path,
    enterprises: int,
    policies: list[Policy],
    as_of: dt.date,
    repeats: int = 2,
) -> dict[str, Any]:
    """Time Spark (session start, then `repeats` matches: the first includes JIT warm-up) and DuckDB."""
    root.mkdir(parents=True, exist_ok=True)
    snap = snapshot(root, enterprises, policies, as_of)
    started = time.perf_counter()
    spark = spark_factory()
    session_seconds = time.perf_counter() - started
    spark_runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = match_snapshot(spark, snap["path"], root / "results-spark", policies, as_of)
        spark_runs.append({"job": result.seconds, "with_summary": time.perf_counter() - started})
    spark_counts = Counter({(p, s): n for p, by in result.counts.items() for s, n in by.items() if n})
    duck_runs = [duckdb_match(snap["path"], root / "results-duckdb", policies, as_of) for _ in range(repeats)]
    evaluations = enterprises * len(result.policies)
    best_spark = min(r["job"] for r in spark_runs)
    best_duck = min(s for s, _ in duck_runs)
    return {
        "machine": machine(),
        "enterprises": enterprises,
        "policies": len(result.policies),
        "evaluations": evaluations,
        "result_pairs": sum(spark_counts.values()),
        "snapshot_seconds": snap["seconds"],
        "snapshot_mib": snap["bytes"] / 2**20,
        "spark_session_seconds": session_seconds,
        "spark_runs": spark_runs,
        "spark_best_seconds": best_spark,
        "spark_per_second": evaluations / best_spark,
        "duckdb_runs": [s for s, _ in duck_runs],
        "duckdb_best_seconds": best_duck,
        "duckdb_per_second": evaluations / best_duck,
        "counts_equal": spark_counts == duck_runs[-1][1],
    }
