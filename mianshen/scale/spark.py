"""Matching on Spark: the one assembler's statements (dialect "spark") over a Parquet profile snapshot,
written as a match-library layer — the same files, columns and description a DuckDB run writes — so
`mianshen match --from DIR` takes a cluster's result into the store's change, case and request step.

Spark writes each file as a directory of parts; the library reads a directory as its parts.
tests/test_spark_differential.py checks the Spark layer equals the DuckDB layer enterprise by
enterprise, and that a store fed with it ends as a DuckDB run leaves it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from mianshen.catalogue import FieldType, load_catalogue
from mianshen.errors import InputError
from mianshen.matching.evaluation import CARRY
from mianshen.matching.library import LAYER_META, Layer, PolicyColumns, write_layer_meta
from mianshen.profiles.snapshot import presence_order
from mianshen.rules.ast import Policy
from mianshen.scale.parquet import parquet_files, read_meta
from mianshen.sqlgen.assemble import STATUSES, assemble
from mianshen.sqlgen.dialects import spark_functions
from mianshen.sqlgen.screen import screenable

VIEW = "mianshen_profiles"
REQUIRED = ("city", "input_hash", "present")  # the library's own snapshot columns


@dataclass
class SparkMatch:
    out: Path
    as_of: dt.date
    policies: list[Policy]
    layer: Layer | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # policy id → status → enterprises
    totals: dict[str, Decimal] = field(default_factory=dict)  # policy id → sum of eligible amounts
    enterprises: int = 0
    seconds: float = 0.0  # the matching job: read, match, write


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
        if f in catalogue.fields and types[f] != _spark_type(catalogue.fields[f].type)
    ]
    if wrong:
        raise InputError(f"画像快照中字段类型不符：{'、'.join(wrong)}")
    return df


def _prepare_out(out: Path, profiles: Path) -> None:
    """Spark's overwrite deletes the directory: only ever a previous result directory."""
    if out.resolve() == profiles.resolve() or profiles.resolve() in out.resolve().parents:
        raise InputError(f"结果目录 {out} 不能位于画像快照目录 {profiles} 之内")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / LAYER_META).exists())):
        raise InputError(f"结果目录 {out} 已存在且不是匹配结果目录，拒绝覆盖；请指定新目录")


def match_snapshot(
    spark: Any,
    profiles: str | Path,
    out: str | Path,
    policies: Sequence[Policy],
    as_of: dt.date,
    summarize: bool = True,
) -> SparkMatch:
    """Every screenable policy over the snapshot at `profiles`, written as a library layer to `out`
    (`profiles-0.parquet/`, `results-0-<i>.parquet/`, and `_mianshen_layer.json` describing them).
    `summarize` adds the counts and totals per policy (a second job, reading the results back)."""
    profiles, out = Path(profiles), Path(out)
    chosen = screenable(policies)
    if not chosen:
        raise InputError("没有可筛查的政策（名单类政策由部门上传名单，不参与匹配）")
    assembly = assemble(chosen, as_of, "spark", VIEW, carry=CARRY)
    snapshot = open_snapshot(spark, profiles, [*assembly.fields, *REQUIRED])
    _prepare_out(out, profiles)
    snapshot.createOrReplaceTempView(VIEW)
    register_functions(spark)
    result = SparkMatch(out, as_of, chosen)
    started = time.perf_counter()
    snapshot.write.mode("overwrite").parquet(str(out / "profiles-0.parquet"))
    columns: list[PolicyColumns] = []
    for i, statement in enumerate(assembly.statements):
        name = f"results-0-{i}.parquet"
        spark.sql(statement.sql).write.mode("overwrite").parquet(str(out / name))
        columns += [PolicyColumns.of(s, name) for s in statement.slots]
    result.seconds = time.perf_counter() - started
    result.enterprises = snapshot.count()
    result.layer = Layer(
        out.name, "profiles-0.parquet", result.enterprises, tuple(columns), presence_order(), complete=True
    )
    meta = read_meta(profiles)
    write_layer_meta(out, result.layer, as_of.isoformat(), meta.last_batch if meta else None, str(profiles))
    if summarize:
        _summarize(spark, result)
    return result


def _summarize(spark: Any, result: SparkMatch) -> None:
    assert result.layer is not None
    for file in dict.fromkeys(c.file for c in result.layer.policies):
        members = [c for c in result.layer.policies if c.file == file]
        df = spark.read.parquet(str(result.out / file))
        df.createOrReplaceTempView("mianshen_results")
        parts = ", ".join(
            f"count_if(s_{c.column} = {code}) AS n_{c.column}_{code}" for c in members for code in range(len(STATUSES))
        )
        sums = ", ".join(f"sum(CASE WHEN s_{c.column} = 1 THEN a_{c.column} END) AS t_{c.column}" for c in members)
        row = spark.sql(f"SELECT {parts}, {sums} FROM mianshen_results").collect()[0].asDict()
        for c in members:
            result.counts[c.policy_id] = {s: int(row[f"n_{c.column}_{k}"]) for k, s in enumerate(STATUSES)}
            result.totals[c.policy_id] = row[f"t_{c.column}"] or Decimal(0)
