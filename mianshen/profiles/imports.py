"""Import batches (导入批次): a file from a data source becomes observations, in one transaction.

Every row is validated; bad rows go to the reject report with their row number and reason; good
rows become observations. Either the whole batch is written or nothing is (a killed import leaves
the store as it was), and importing the same file again from the same source changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from mianshen.profiles.readers import read_rows
from mianshen.profiles.sources import get_source
from mianshen.profiles.validate import CheckedRow, check_row
from mianshen.store.schema import enterprises, import_batches, import_rejects

CHUNK = 20000


@dataclass
class ImportReport:
    batch_id: int | None
    source_id: str
    file_name: str
    duplicate_of: int | None = None  # the earlier batch when this file was already imported
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    warnings: int = 0
    observations: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def import_file(engine: Engine, source_id: str, path: str | Path, as_of: dt.date) -> ImportReport:
    file = Path(path)
    report = ImportReport(None, source_id, file.name)
    digest = file_digest(file) if file.is_file() else ""
    with engine.begin() as conn:
        source = get_source(conn, source_id)
        rows = read_rows(file)  # raises a clear error for a missing or unreadable file
        earlier = conn.execute(
            select(import_batches.c.id).where(
                import_batches.c.source_id == source_id, import_batches.c.file_sha256 == digest
            )
        ).scalar()
        if earlier is not None:
            report.duplicate_of = earlier
            return report
        batch_id: int = conn.execute(
            import_batches.insert().values(
                source_id=source_id,
                file_name=file.name,
                file_sha256=digest,
                as_of=as_of,
                rows_read=0,
                rows_accepted=0,
                rows_rejected=0,
                warnings=0,
                imported_at=dt.datetime.now(dt.UTC),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        report.batch_id = batch_id
        seen: set[str] = set()
        pending: list[tuple[CheckedRow, dict[str, Any]]] = []
        for number, raw in rows:
            checked = check_row(source, number, raw, as_of)
            if checked.uscc in seen and not checked.errors:
                checked.errors.append(f"统一社会信用代码 {checked.uscc} 在本文件中重复出现")
            pending.append((checked, raw))
            if len(pending) >= CHUNK:
                _write(conn, batch_id, source_id, pending, seen, report)
                pending = []
        _write(conn, batch_id, source_id, pending, seen, report)
        conn.execute(
            import_batches.update()
            .where(import_batches.c.id == batch_id)
            .values(
                rows_read=report.rows_read,
                rows_accepted=report.accepted,
                rows_rejected=report.rejected,
                warnings=report.warnings,
            )
        )
    return report


def _write(
    conn: Connection,
    batch_id: int,
    source_id: str,
    pending: list[tuple[CheckedRow, dict[str, Any]]],
    seen: set[str],
    report: ImportReport,
) -> None:
    if not pending:
        return
    obs: list[tuple[Any, ...]] = []
    rejects: list[dict[str, Any]] = []
    firms: dict[str, dict[str, Any]] = {}
    for checked, raw in pending:
        report.rows_read += 1
        text = json.dumps(raw, ensure_ascii=False, default=str) if checked.errors or checked.warnings else ""
        if checked.errors:
            report.rejected += 1
            rejects.append(
                {
                    "batch_id": batch_id,
                    "row_number": checked.number,
                    "severity": "error",
                    "uscc": checked.uscc,
                    "reason": "；".join(checked.errors + checked.warnings),
                    "raw": text,
                }
            )
            continue
        assert checked.uscc is not None and checked.as_of is not None
        seen.add(checked.uscc)
        report.accepted += 1
        if checked.warnings:
            report.warnings += 1
            rejects.append(
                {
                    "batch_id": batch_id,
                    "row_number": checked.number,
                    "severity": "warning",
                    "uscc": checked.uscc,
                    "reason": "；".join(checked.warnings),
                    "raw": text,
                }
            )
        firms[checked.uscc] = {
            "uscc": checked.uscc,
            "name": checked.name,
            "first_batch_id": batch_id,
            "uscc_status": "check_failed" if checked.warnings else "valid",
            "uscc_problems": "；".join(checked.warnings) or None,
        }
        obs.extend(
            (checked.uscc, name, value, source_id, checked.as_of, batch_id) for name, value in checked.values.items()
        )
    _add_enterprises(conn, list(firms.values()))
    _add_observations(conn, obs)
    if rejects:
        conn.execute(import_rejects.insert(), rejects)
    report.observations += len(obs)
    report.rejects.extend(rejects)


def _add_observations(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Bulk insert at the driver level: the per-row cost of SQLAlchemy parameters dominated imports."""
    if not rows:
        return
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    if sqlite:  # SQLAlchemy's Date type keeps ISO text in SQLite; write the same
        rows = [(u, f, v, s, d.isoformat(), b) for u, f, v, s, d, b in rows]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.executemany(
        f"INSERT INTO observations (uscc, field, value, source_id, as_of, batch_id) VALUES ({', '.join([mark] * 6)})",
        rows,
    )


def _add_enterprises(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert enterprises not yet known; a known one keeps its record (and any override)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(enterprises).on_conflict_do_nothing(index_elements=["uscc"]), rows)
        return
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    conn.execute(sqlite_insert(enterprises).on_conflict_do_nothing(index_elements=["uscc"]), rows)
