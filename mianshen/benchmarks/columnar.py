"""The evaluate-and-write step of a match run at 1M and 10M enterprises (`mianshen bench scale`;
docs/benchmarks.md), where importing the population through the store would take longer than
the step itself.

The 100 benchmark variants over a Parquet profile snapshot of 1M (or, copied, 10M) enterprises:
ours loads the snapshot into an on-disk DuckDB table with the library's sort key and input hash
(as a run's snapshot table has them, timed apart) and writes a library layer with the same
`write_layer` a run uses — every pair's status, exact amount and unknown mask, one row per
enterprise; the hand-written query writes its (policy, enterprise, status) rows to Parquet too.
Each measurement runs in its own process so that its peak memory (10M × 100 under 4 GiB) is its
own; DuckDB gets a memory limit and spills beyond it. The counts per policy and status of the two
must be equal, or the benchmark fails.

The larger population repeats the snapshot with a copy number appended to each USCC, written out
as a real Parquet file, so both queries read and compute every row; only the values repeat.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from mianshen.benchmarks.handwritten import check_counts, handwritten_sql
from mianshen.benchmarks.peak import run_with_peak
from mianshen.benchmarks.variants import Variant, make_variants
from mianshen.matching.evaluation import write_layer
from mianshen.scale.parquet import parquet_files
from mianshen.sqlgen.assemble import STATUSES
from mianshen.sqlgen.engines import duckdb_connect

PROFILES = "scale_profiles"


def copied_snapshot(source: Path, copies: int, out: Path) -> Path:
    """`source` repeated `copies` times as one Parquet file (USCC suffixed "#k" from the second copy on)."""
    target = out / f"{source.name}-x{copies}.parquet"
    if target.is_file():
        return target
    files = [str(p) for p in parquet_files(source)]
    conn = duckdb_connect()
    try:
        conn.execute(
            f"COPY (SELECT CASE WHEN k = 0 THEN p.id ELSE p.id || '#' || k END AS id, p.* EXCLUDE (id) "
            f"FROM read_parquet({files!r}) AS p CROSS JOIN range({copies}) AS r(k)) TO '{target}' (FORMAT parquet)"
        )
    finally:
        conn.close()
    return target


def _open(path: Path, memory: str, spill: Path, read_only: bool = False) -> Any:
    conn = duckdb_connect(str(path), read_only=read_only)
    conn.execute(f"SET memory_limit = '{memory}'")
    conn.execute(f"SET temp_directory = '{spill}'")
    conn.execute("SET preserve_insertion_order = false")  # neither query promises an order
    return conn


def measure_one(job: dict[str, Any]) -> dict[str, Any]:
    """In the child process: one way of evaluating the snapshot, its results written to Parquet, then counted."""
    as_of = dt.date.fromisoformat(job["as_of"])
    variants = make_variants(job["variants_dir"], job["policies"])
    out, database = Path(job["out"]), Path(job["database"])
    ours = job["which"] == "ours"
    load_seconds = 0.0
    if ours:
        database.unlink(missing_ok=True)
    conn = _open(database, job["memory"], Path(job["spill"]), read_only=not ours)
    try:
        if ours:
            started = time.perf_counter()
            conn.execute(
                f"CREATE TABLE {PROFILES} AS SELECT *, COALESCE(substr(region_code, 1, 4), '0000') AS city, "
                f"sha256(CAST(id AS VARCHAR)) AS input_hash FROM read_parquet({job['files']!r}) ORDER BY city, id"
            )
            load_seconds = time.perf_counter() - started
            out.mkdir(parents=True, exist_ok=True)
            for old in out.glob("*.parquet"):
                old.unlink()
            started = time.perf_counter()
            layer = write_layer(conn, out, out, 0, [v.policy for v in variants], as_of, "", 0, PROFILES)
            seconds = time.perf_counter() - started
            counts = []
            for c in layer.policies:
                for code, n in conn.execute(
                    f"SELECT s_{c.column}, count(*) FROM read_parquet('{out / c.file}') GROUP BY 1"
                ).fetchall():
                    counts.append([c.policy_id, STATUSES[code], int(n)])
            size = sum(p.stat().st_size for p in out.glob("*.parquet"))
        else:
            out.unlink(missing_ok=True)
            started = time.perf_counter()
            conn.execute(f"COPY ({handwritten_sql(variants, PROFILES)}) TO '{out}' (FORMAT parquet)")
            seconds = time.perf_counter() - started
            found = conn.execute(f"SELECT policy_id, status, count(*) FROM read_parquet('{out}') GROUP BY ALL")
            counts = [[p, st, int(n)] for p, st, n in found.fetchall()]
            size = out.stat().st_size
    finally:
        conn.close()
    return {"seconds": seconds, "load_seconds": load_seconds, "counts": counts, "bytes": size}


def _child(job: dict[str, Any]) -> dict[str, Any]:
    """Run `measure_one` in a fresh process, with that process's own peak memory."""
    peak, stdout = run_with_peak([sys.executable, "-m", "mianshen.benchmarks.columnar", json.dumps(job)])
    result: dict[str, Any] = json.loads(stdout)
    result["peak_mib"] = peak
    return result


def _out(which: str, enterprises: int) -> str:
    """Ours: a library layer's folder; hand-written: one Parquet file of its rows."""
    return f"library-{enterprises}" if which == "ours" else f"results-handwritten-{enterprises}.parquet"


def measure(
    snapshot: Path, workdir: Path, variants: list[Variant], as_of: dt.date, memory: str, enterprises: int
) -> dict[str, Any]:
    """(a*), (b) and (g) for one snapshot: ours and hand-written, each in its own process."""
    files = [str(p) for p in parquet_files(snapshot)] if snapshot.is_dir() else [str(snapshot)]
    spill = workdir / "spill"
    spill.mkdir(parents=True, exist_ok=True)
    base: dict[str, Any] = {"files": files, "as_of": as_of.isoformat(), "variants_dir": str(workdir / "variants")}
    base |= {"policies": len(variants), "memory": memory, "spill": str(spill)}
    base["database"] = str(workdir / f"profiles-{enterprises}.duckdb")
    runs = {
        which: _child(base | {"which": which, "out": str(workdir / _out(which, enterprises))})
        for which in ("ours", "handwritten")
    }
    ours = Counter({(p, s): n for p, s, n in runs["ours"]["counts"]})
    theirs = Counter({(p, s): n for p, s, n in runs["handwritten"]["counts"]})
    check_counts(ours, theirs)  # a fast wrong answer is no result
    evaluations = enterprises * len(variants)
    return {
        "enterprises": enterprises,
        "policies": len(variants),
        "evaluations": evaluations,
        "result_rows": sum(ours.values()),
        "load_seconds": runs["ours"]["load_seconds"],
        "ours_seconds": runs["ours"]["seconds"],
        "ours_per_second": evaluations / runs["ours"]["seconds"],
        "ours_peak_mib": runs["ours"]["peak_mib"],
        "ours_result_mib": runs["ours"]["bytes"] / 2**20,
        "handwritten_seconds": runs["handwritten"]["seconds"],
        "handwritten_per_second": evaluations / runs["handwritten"]["seconds"],
        "handwritten_peak_mib": runs["handwritten"]["peak_mib"],
        "handwritten_result_mib": runs["handwritten"]["bytes"] / 2**20,
        "ratio": runs["ours"]["seconds"] / runs["handwritten"]["seconds"],
        "ratio_with_load": (runs["ours"]["seconds"] + runs["ours"]["load_seconds"]) / runs["handwritten"]["seconds"],
        "counts_equal": True,
    }


if __name__ == "__main__":  # the child process of `_child`
    print(json.dumps(measure_one(json.loads(sys.argv[1]))))
