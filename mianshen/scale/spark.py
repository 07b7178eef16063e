"""Matching on Spark: every screenable policy's compiled SQL over a Parquet snapshot, in one job.

Each policy compiles (sqlgen, dialect "spark") to one query returning id, status, amount and two
bit masks. Here each query is wrapped to the common result row — policy id and version, the as-of
date, the amount as DECIMAL(38,2) and the masks decoded to arrays of condition ids — and the wrapped
queries are joined with UNION ALL, so reading the snapshot, matching and writing the results is a
single Spark job (one plan, no collect to the driver). A second, small job sums the written results
per policy and status for the report. The result rows equal DuckDB's `screen` rows
(tests/test_spark_differential.py).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlglot import exp

from mianshen.catalogue import FieldType, load_catalogue
from mianshen.errors import InputError
from mianshen.rules.ast import Policy
from mianshen.scale.parquet import parquet_files
from mianshen.sqlgen.compile import CompiledPolicy, compile_policy
from mianshen.sqlgen.dialects import spark_functions
from mianshen.sqlgen.engines import MatchRow
from mianshen.sqlgen.screen import screenable

VIEW = "mianshen_profiles"
RESULT_META = "_mianshen_results.json"


@dataclass
class SparkMatch:
    out: Path
    as_of: dt.date
    policies: list[Policy]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # policy id → status → enterprises
    totals: dict[str, Decimal] = field(default_factory=dict)  # policy id → sum of eligible amounts
    enterprises: int = 0
    seconds: float = 0.0  # the matching job: read, match, write


def compile_all(
    policies: Sequence[Policy], as_of: dt.date, dialect: str = "spark", table: str = VIEW
) -> list[tuple[Policy, CompiledPolicy]]:
    """(policy, compiled query) for every screenable policy (名单类 come from uploaded lists)."""
    chosen = screenable(policies)
    if not chosen:
        raise InputError("没有可筛查的政策（名单类政策由部门上传名单，不参与匹配）")
    return [(p, compile_policy(p, as_of, dialect, table)) for p in chosen]


def _literal(text: str, dialect: str) -> str:
    return exp.Literal.string(text).sql(dialect=dialect)  # each engine escapes quotes its own way


def _ids(mask: str, ids: Sequence[str], dialect: str) -> str:
    """The condition ids whose bit is set in `mask`, in bit order (as `run_compiled` decodes them)."""
    items = ", ".join(
        f"CASE WHEN ({mask} & {1 << i}) <> 0 THEN {_literal(cid, dialect)} END" for i, cid in enumerate(ids)
    )
    if dialect == "duckdb":
        return f"list_filter([{items}], lambda x: x IS NOT NULL)"
    return f"array_compact(array({items}))"


def results_sql(compiled: list[tuple[Policy, CompiledPolicy]], as_of: dt.date, dialect: str = "spark") -> str:
    """One query: the result rows of every policy (id, policy_id, policy_version, as_of, status,
    amount, failed, unknown)."""
    parts = []
    for policy, c in compiled:
        parts.append(
            f"SELECT r.id AS id, {_literal(policy.id, dialect)} AS policy_id, {policy.version} AS policy_version, "
            f"DATE '{as_of.isoformat()}' AS as_of, r.status AS status, "
            f"CAST(r.amount AS DECIMAL(38, 2)) AS amount, {_ids('r.failed_mask', c.condition_ids, dialect)} AS failed, "
            f"{_ids('r.unknown_mask', c.condition_ids, dialect)} AS unknown FROM ({c.sql}) AS r"
        )
    return "\nUNION ALL\n".join(parts)


def _spark_type(kind: FieldType) -> str:
    if kind == FieldType.INTEGER:
        return "bigint"
    if kind.numeric:
        return "decimal(38,10)"
    return {FieldType.DATE: "date", FieldType.BOOLEAN: "boolean"}.get(kind, "string")


def register_functions(spark: Any) -> None:
    """The exact `ms_mul` / `ms_div` the Spark SQL calls (temporary: nothing is left on a cluster)."""
    for statement in spark_functions():
        spark.sql(statement)


def open_snapshot(spark: Any, path: Path, fields: Sequence[str]) -> Any:
    """The snapshot as a DataFrame, after checking it holds every field the policies read, typed right."""
    if not path.is_dir():
        raise InputError(f"画像快照目录不存在：{path}（先用 mianshen export-profiles 导出）")
    if not parquet_files(path):
        raise InputError(f"画像快照目录 {path} 中没有 Parquet 文件（先用 mianshen export-profiles 导出）")
    df = spark.read.parquet(str(path))
    types = dict(df.dtypes)
    missing = [f for f in fields if f not in types]
    if missing:
        raise InputError(f"画像快照缺少政策所需的字段：{'、'.join(missing)}（请用同一组政策重新导出）")
    catalogue = load_catalogue()
    wrong = [
        f"{f}（{types[f]}，应为 {_spark_type(catalogue.fields[f].type)}）"
        for f in fields
        if types[f] != _spark_type(catalogue.fields[f].type)
    ]
    if wrong:
        raise InputError(f"画像快照中字段类型不符：{'、'.join(wrong)}")
    return df


def _prepare_out(out: Path, profiles: Path) -> None:
    """Spark's overwrite deletes the directory: only ever a previous result directory."""
    if out.resolve() == profiles.resolve() or profiles.resolve() in out.resolve().parents:
        raise InputError(f"结果目录 {out} 不能位于画像快照目录 {profiles} 之内")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / RESULT_META).exists())):
        raise InputError(f"结果目录 {out} 已存在且不是匹配结果目录，拒绝覆盖；请指定新目录")


def match_snapshot(
    spark: Any,
    profiles: str | Path,
    out: str | Path,
    policies: Sequence[Policy],
    as_of: dt.date,
    summarize: bool = True,
) -> SparkMatch:
    """Match every screenable policy over the snapshot at `profiles`; results to Parquet at `out`
    (partitioned by policy_id), with `_mianshen_results.json` describing the run. `summarize` adds the
    counts and totals per policy (a second job, reading the results back)."""
    profiles, out = Path(profiles), Path(out)
    compiled = compile_all(policies, as_of)
    fields = sorted({f for _, c in compiled for f in c.fields})
    snapshot = open_snapshot(spark, profiles, fields)
    _prepare_out(out, profiles)
    snapshot.createOrReplaceTempView(VIEW)
    register_functions(spark)
    result = SparkMatch(out, as_of, [p for p, _ in compiled])
    started = time.perf_counter()
    spark.sql(results_sql(compiled, as_of)).write.mode("overwrite").partitionBy("policy_id").parquet(str(out))
    result.seconds = time.perf_counter() - started
    if summarize:
        _summarize(spark, result)
    meta = {
        "as_of": as_of.isoformat(),
        "profiles": str(profiles),
        "policies": [
            {"id": p.id, "version": p.version, "title": p.title, "conditions": list(c.condition_ids)}
            for p, c in compiled
        ],
    }
    (out / RESULT_META).write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return result


def _summarize(spark: Any, result: SparkMatch) -> None:
    if not parquet_files(result.out):  # an empty snapshot: Spark writes no file and cannot read the directory
        return
    spark.read.parquet(str(result.out)).createOrReplaceTempView("mianshen_results")
    summary = spark.sql(
        "SELECT policy_id, status, count(*) AS n, sum(amount) AS total FROM mianshen_results GROUP BY policy_id, status"
    )
    for row in summary.collect():
        result.counts.setdefault(row.policy_id, {})[row.status] = int(row.n)
        if row.status == "eligible":
            result.totals[row.policy_id] = row.total or Decimal(0)
    result.enterprises = max((sum(c.values()) for c in result.counts.values()), default=0)


def read_results(spark: Any, out: str | Path) -> dict[str, list[MatchRow]]:
    """All result rows, by policy id (collected to the driver: for tests and small populations)."""
    if not parquet_files(Path(out)):
        return {}
    rows = spark.read.parquet(str(out)).select("policy_id", "id", "status", "amount", "failed", "unknown")
    by_policy: dict[str, list[MatchRow]] = {}
    for r in rows.collect():
        by_policy.setdefault(r.policy_id, []).append(
            MatchRow(r.id, r.status, r.amount, tuple(r.failed or ()), tuple(r.unknown or ()))
        )
    return by_policy
