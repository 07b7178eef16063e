"""Profile snapshots (画像快照) as Parquet: the wide table that DuckDB screens, written to files.

A snapshot has one row per enterprise: `id` (the USCC) and one column per catalogue field, typed as
`load_profiles` types them for DuckDB (DECIMAL(38,10), DATE, BOOLEAN, BIGINT, VARCHAR; tags as
"|a|b|" text), so the same compiled SQL reads a snapshot on DuckDB and on Spark; with the match
library's sort key `city` and per-enterprise `input_hash` (profiles/snapshot.py) beside them. DuckDB writes the
files (it is already a dependency; pyarrow is not). Rows are streamed through a CSV file, so a million
profiles never sit in memory at once.

Layout: `part-0.parquet`, or with `partition=True` Hive directories `province=41/bucket=7/…` —
province from the USCC (characters 3–4, the registering authority's province), bucket from the MD5
of the USCC, stable across runs so that an incremental export can replace single buckets. A
`_mianshen.json` beside the data records the as-of date, the fields and the row count; Spark and
DuckDB skip files whose names start with "_".
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mianshen.catalogue import Catalogue, load_catalogue
from mianshen.errors import InputError
from mianshen.profiles.snapshot import input_hash_sql, present_sql
from mianshen.sqlgen.dialects import DIALECTS
from mianshen.sqlgen.engines import csv_text, duckdb_connect, storage_value

META = "_mianshen.json"
BUCKETS = 16
_NULL = "\\N"


@dataclass(frozen=True)
class Snapshot:
    path: Path
    as_of: dt.date | None
    fields: tuple[str, ...]
    rows: int
    partitioned: bool = False
    last_batch: int | None = None  # the store's newest import batch: where an incremental export starts


def parquet_files(path: Path) -> list[Path]:
    """Data files under `path`, without Spark/DuckDB hidden files ("_…", ".…")."""
    if not path.is_dir():
        return []
    return sorted(
        p for p in path.rglob("*.parquet") if not any(part.startswith(("_", ".")) for part in p.relative_to(path).parts)
    )


def read_meta(path: Path) -> Snapshot | None:
    meta = path / META
    if not meta.is_file():
        return None
    doc = json.loads(meta.read_text(encoding="utf-8"))
    as_of = dt.date.fromisoformat(doc["as_of"]) if doc.get("as_of") else None
    fields, rows, partitioned = tuple(doc["fields"]), int(doc["rows"]), bool(doc.get("partitioned"))
    return Snapshot(path, as_of, fields, rows, partitioned, doc.get("last_batch"))


def _prepare(out: Path) -> None:
    """Refuse to overwrite a directory that is not a snapshot (a mistyped --out must not lose data)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"输出位置已存在且不是目录：{out}")
    if out.is_dir() and any(out.iterdir()):
        if read_meta(out) is None:
            raise InputError(f"输出目录 {out} 非空且不是画像快照，拒绝覆盖；请指定新目录")
        for old in parquet_files(out):
            old.unlink()
        (out / META).unlink()
    out.mkdir(parents=True, exist_ok=True)


def _text(value: Any) -> str:
    return _NULL if value is None else csv_text(value)


def write_snapshot(
    rows: Iterable[tuple[str, Mapping[str, Any]]],
    fields: Sequence[str],
    out: str | Path,
    as_of: dt.date | None = None,
    partition: bool = False,
    catalogue: Catalogue | None = None,
    last_batch: int | None = None,
) -> Snapshot:
    """Write (id, values) rows as a Parquet snapshot holding `fields`; returns what was written."""
    catalogue = catalogue or load_catalogue()
    unknown = [f for f in fields if f not in catalogue.fields]
    if unknown:
        raise InputError(f"字段目录中没有这些字段：{'、'.join(unknown)}")
    out = Path(out)
    _prepare(out)
    kinds = [catalogue.fields[f].type for f in fields]
    duck_types = [DIALECTS["duckdb"].column_type(k) for k in kinds]
    count = 0
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        staging = Path(tmp) / "profiles.csv"
        with staging.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            for ident, values in rows:
                stored = (storage_value(values.get(f), k, "duckdb") for f, k in zip(fields, kinds, strict=True))
                writer.writerow([ident, *(_text(v) for v in stored)])
                count += 1
        conn = duckdb_connect()
        try:
            ddl = ", ".join(["id VARCHAR PRIMARY KEY"] + [f"{f} {t}" for f, t in zip(fields, duck_types, strict=True)])
            conn.execute(f"CREATE TABLE snapshot ({ddl})")
            if count:  # DuckDB cannot sniff an empty CSV file; an empty snapshot is still a valid one
                conn.execute(
                    f"COPY snapshot FROM '{staging}' (FORMAT csv, HEADER false, NULLSTR '{_NULL}', QUOTE '\"')"
                )
            city = "COALESCE(substr(region_code, 1, 4), '0000')" if "region_code" in fields else "'0000'"
            library = (
                f"{city} AS city, {input_hash_sql(fields, as_of or dt.date.min)} AS input_hash, "
                f"{present_sql(fields)} AS present"
            )
            if partition:
                # md5, not DuckDB's hash(): the bucket of a USCC must not change with the DuckDB version
                conn.execute(
                    f"COPY (SELECT *, {library}, substr(id, 3, 2) AS province, "
                    f"CAST(('0x' || left(md5(id), 8)) AS BIGINT) % {BUCKETS} AS bucket FROM snapshot) "
                    f"TO '{out}' (FORMAT parquet, PARTITION_BY (province, bucket), OVERWRITE_OR_IGNORE true)"
                )
            else:
                conn.execute(
                    f"COPY (SELECT *, {library} FROM snapshot ORDER BY city, id) TO '{out / 'part-0.parquet'}' (FORMAT parquet)"
                )
        except Exception as exc:  # duckdb.Error: a duplicate USCC, a value out of range
            raise InputError(f"写入画像快照失败：{str(exc).strip().splitlines()[0]}") from exc
        finally:
            conn.close()
    meta = {"as_of": as_of.isoformat() if as_of else None, "fields": list(fields), "rows": count}
    meta.update(partitioned=partition, last_batch=last_batch)
    (out / META).write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return Snapshot(out, as_of, tuple(fields), count, partition, last_batch)


def export_store(
    conn: Any, out: str | Path, as_of: dt.date, fields: Sequence[str], partition: bool, changed_after: int | None
) -> Snapshot:
    """The store's profile snapshot (profiles/snapshot.py: pivoted by DuckDB from the observation
    mirror), written as a Parquet snapshot; `changed_after`: only enterprises with data in a later batch."""
    from mianshen.matching.plan import changed_enterprises
    from mianshen.profiles.snapshot import build, last_batch

    out = Path(out)
    _prepare(out)
    duck = duckdb_connect()
    try:
        top = last_batch(conn)
        scope = None if changed_after is None else changed_enterprises(conn, duck, changed_after, top)
        snap = build(conn, duck, as_of, set(fields), scope=scope, upto=top)
        if partition:
            duck.execute(
                f"COPY (SELECT *, substr(id, 3, 2) AS province, CAST(('0x' || left(md5(id), 8)) AS BIGINT) % {BUCKETS} "
                f"AS bucket FROM {snap.table}) TO '{out}' (FORMAT parquet, PARTITION_BY (province, bucket), "
                "OVERWRITE_OR_IGNORE true)"
            )
        else:
            duck.execute(f"COPY {snap.table} TO '{out / 'part-0.parquet'}' (FORMAT parquet)")
    finally:
        duck.close()
    meta = {"as_of": as_of.isoformat(), "fields": list(snap.fields), "rows": snap.enterprises}
    meta.update(partitioned=partition, last_batch=top)
    (out / META).write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return Snapshot(out, as_of, snap.fields, snap.enterprises, partition, top)
