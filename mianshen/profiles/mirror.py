"""The observation mirror (观测值列式副本): each committed import batch as a Parquet file, one row per
enterprise — its USCC, the row's data date and one text column per field the batch observed (empty
where it observed nothing) — so that DuckDB builds a province's profiles by joining a handful of
batches (snapshot.py) instead of reading tens of millions of observations out of the store.

The store stays the only source of truth. A batch's file is named by a token of the batch's own
row in `import_batches` (id, source, file digest, data date, time of import): a file left by a
rolled-back import, or by another store that used the same id, never carries a committed batch's
token. An import writes its file before its transaction commits, under a `.pending` name, and
renames it after the commit; a file that is missing, unreadable or holds another number of
observations than the store recorded is copied from the store again (`ensure`), so a crash at any
point costs time, never a wrong profile.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from mianshen.store.paths import data_dir
from mianshen.store.schema import import_batches, observations

FIXED = ("uscc", "as_of")  # every other column of a mirror file is a catalogue field
_FETCH = 100_000


def folder(conn: Connection) -> Path:
    return data_dir(conn) / "observations"


def token(batch_id: int, source_id: str, file_sha256: str, as_of: dt.date, imported_at: dt.datetime) -> str:
    stamp = imported_at.replace(tzinfo=None).isoformat()  # SQLite hands the time back without its zone
    text = f"{batch_id}|{source_id}|{file_sha256}|{as_of.isoformat()}|{stamp}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_name(batch_id: int, key: str) -> str:
    return f"batch-{batch_id:09d}-{key}.parquet"


def write_pending(duck: Any, select_sql: str, target: Path) -> Path:
    """Write the rows of `select_sql` (uscc, as_of, one column per field) to `target` + '.pending'."""
    target.parent.mkdir(parents=True, exist_ok=True)
    pending = target.with_name(target.name + ".pending")
    duck.execute(f"COPY ({select_sql}) TO '{quoted(pending)}' (FORMAT parquet)")
    return pending


def publish(pending: Path) -> None:
    """After the import committed: the file becomes the batch's mirror."""
    os.replace(pending, pending.with_name(pending.name.removesuffix(".pending")))


def fields_of(duck: Any, path: Path) -> list[str]:
    """The fields a mirror file holds (its columns besides USCC and date)."""
    rows = duck.execute(f"DESCRIBE SELECT * FROM read_parquet('{quoted(path)}')").fetchall()
    return [r[0] for r in rows if r[0] not in FIXED]


def ensure(conn: Connection, duck: Any, upto: int) -> dict[int, Path]:
    """The mirror file of every committed batch up to `upto` (batch id → path), made where missing
    or untrusted."""
    where = folder(conn)
    rows = conn.execute(
        select(
            import_batches.c.id,
            import_batches.c.source_id,
            import_batches.c.file_sha256,
            import_batches.c.as_of,
            import_batches.c.imported_at,
            import_batches.c.observations,
        )
        .where(import_batches.c.id <= upto)
        .order_by(import_batches.c.id)
    ).all()
    files: dict[int, Path] = {}
    missing = []
    for r in rows:
        path = where / file_name(r.id, token(r.id, r.source_id, r.file_sha256, r.as_of, r.imported_at))
        pending = path.with_name(path.name + ".pending")
        if not path.exists() and pending.exists():
            publish(pending)  # the import committed (its row is here) but stopped before renaming
        if not path.exists() or (r.observations is not None and _observed(duck, path) != r.observations):
            missing.append((r.id, path))
        files[r.id] = path
    if missing:
        _copy_from_store(conn, duck, missing)
    return files


def _observed(duck: Any, path: Path) -> int:
    """How many observations a file holds (non-empty field values), from its footer's statistics
    (every run checks every batch: reading the values would scan the province), -1 when unreadable."""
    try:
        fixed = ", ".join(f"'{f}'" for f in FIXED)
        found = duck.execute(
            "SELECT sum(num_values) - sum(stats_null_count), count(*) FILTER (WHERE stats_null_count IS NULL) "
            f"FROM parquet_metadata('{quoted(path)}') WHERE path_in_schema NOT IN ({fixed})"
        ).fetchone()
        if found[1]:  # a writer that kept no null counts: count the values themselves
            counted = " + ".join(f"count({n})" for n in fields_of(duck, path)) or "0"
            return int(duck.execute(f"SELECT {counted} FROM read_parquet('{quoted(path)}')").fetchone()[0])
        return int(found[0] or 0)
    except Exception:  # a truncated or foreign file: copied again
        return -1


def _copy_from_store(conn: Connection, duck: Any, missing: Sequence[tuple[int, Path]]) -> None:
    """One scan of the store's observations for all the batches without a trusted file."""
    paths = dict(missing)
    query = (
        select(observations.c.batch_id, observations.c.uscc, observations.c.field, observations.c.value)
        .add_columns(observations.c.as_of)
        .where(observations.c.batch_id.in_(sorted(paths)))
        .execution_options(stream_results=True, yield_per=_FETCH)
    )
    with tempfile.TemporaryDirectory(prefix="mianshen-mirror-") as scratch:
        writers: dict[int, tuple[Any, Any]] = {}
        try:
            for batch_id, uscc, field, value, as_of in conn.execute(query):
                if batch_id not in writers:
                    handle = open(Path(scratch) / f"{batch_id}.csv", "w", encoding="utf-8", newline="")  # noqa: SIM115
                    writers[batch_id] = (handle, csv.writer(handle, quoting=csv.QUOTE_ALL))
                writers[batch_id][1].writerow([uscc, field, value, as_of.isoformat()])
        finally:
            for handle, _ in writers.values():
                handle.close()
        for batch_id, path in paths.items():
            source = Path(scratch) / f"{batch_id}.csv"
            if not source.exists():
                source.write_text("", encoding="utf-8")
            long = (
                f"SELECT * FROM read_csv('{quoted(source)}', header = false, quote = '\"', escape = '\"', "
                "allow_quoted_nulls = false, columns = {'uscc': 'VARCHAR', 'field': 'VARCHAR', "
                "'value': 'VARCHAR', 'as_of': 'DATE'})"
            )
            names = [r[0] for r in duck.execute(f"SELECT DISTINCT field FROM ({long}) ORDER BY 1").fetchall()]
            columns = "".join(f", first(value) FILTER (WHERE field = '{n}') AS {n}" for n in names)
            publish(write_pending(duck, f"SELECT uscc, as_of{columns} FROM ({long}) GROUP BY uscc, as_of", path))


def quoted(path: Path | str) -> str:
    return str(path).replace("'", "''")
