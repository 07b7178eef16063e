"""Evaluating a run's policies into a library layer: the assembler's statements over the profile
snapshot in DuckDB, each written straight to Parquet in the run's folder (library.py).

DuckDB works within a memory limit and spills to the run's folder beyond it, so a province's run
needs memory for a vector of rows, not for the results. Rows keep the snapshot's order (city,
USCC) within each morsel a writer takes, which keeps a region or one enterprise quick to read back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mianshen.errors import InputError
from mianshen.matching.library import Layer, PolicyColumns, quoted
from mianshen.profiles.snapshot import CITY, PRESENT, presence_order
from mianshen.rules.ast import Policy
from mianshen.settings import current as settings
from mianshen.sqlgen.assemble import assemble
from mianshen.sqlgen.duck import duckdb_connect

ROW_GROUP = 65_536  # rows per Parquet row group: the unit a region or enterprise lookup reads
MEMORY = "2GB"  # DuckDB's limit for a run (MIANSHEN_MATCH_MEMORY); it spills to disk beyond
CARRY = (CITY, PRESENT)  # snapshot columns every results file keeps beside the policies' columns


def run_duckdb(spill: Path) -> Any:
    duck = duckdb_connect()
    duck.execute(f"SET memory_limit = '{settings().match_memory or MEMORY}'")
    duck.execute(f"SET temp_directory = '{quoted(spill)}'")
    # Parallel writers take the snapshot's (city, USCC)-sorted rows a morsel at a time: each row
    # group still covers a narrow range of the sort key, and writing takes half the time.
    duck.execute("SET preserve_insertion_order = false")
    return duck


def write_layer(
    duck: Any,
    library: Path,
    folder: Path,
    number: int,
    policies: Sequence[Policy],
    as_of: dt.date,
    profiles: str,
    enterprises: int,
    source: str = "profiles",
    complete: bool = False,
) -> Layer:
    """Evaluate `policies` over the rows of `source` (a table or view of the snapshot) into
    results files; `profiles` is the layer's snapshot file (already written)."""
    assembly = assemble(policies, as_of, "duckdb", source, carry=CARRY)
    columns: list[PolicyColumns] = []
    for i, statement in enumerate(assembly.statements):
        path = folder / f"results-{number}-{i}.parquet"
        copy(duck, statement.sql, path)
        name = str(path.relative_to(library))
        columns += [PolicyColumns.of(s, name) for s in statement.slots]
    return Layer(folder.name, profiles, enterprises, tuple(columns), presence_order(), complete)


def copy(duck: Any, sql: str, path: Path) -> None:
    """COPY a query to a Parquet file; an amount beyond the library's DECIMAL(18, 2) is a clear error."""
    import duckdb

    try:
        duck.execute(f"COPY ({sql}) TO '{quoted(path)}' (FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP})")
    except (duckdb.ConversionException, duckdb.OutOfRangeException) as exc:
        raise InputError(f"匹配结果无法写入匹配库：{exc}（金额须小于 10¹⁶ 元，请检查政策的金额算式与封顶）") from exc


def write_profiles(duck: Any, source: str, path: Path, where: str = "") -> None:
    copy(duck, f"SELECT * FROM {source}{where}", path)
