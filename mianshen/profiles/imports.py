"""Import batches (导入批次): a file from a data source becomes observations, in one transaction.

Every row is validated; bad rows go to the reject report with their row number and reason; good
rows become observations. Either the whole batch is written or nothing is (a killed import leaves
the store as it was), and importing the same file again from the same source changes nothing.

The file is checked as a whole in a private DuckDB (bulk_check: column-wise SQL, the row checker
for whatever SQL does not certify) and written in chunks of accepted rows (bulk_write).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from mianshen.audit.log import SYSTEM, Actor, record
from mianshen.clock import now as platform_now
from mianshen.profiles import mirror
from mianshen.profiles.bulk_check import check_file
from mianshen.profiles.bulk_write import Writer
from mianshen.profiles.readers import read_rows
from mianshen.profiles.sources import get_source
from mianshen.sqlgen.duck import duckdb_connect
from mianshen.store.schema import import_batches, import_rejects

CHUNK = 50_000  # accepted rows per write: bounds the memory of one rendered chunk
DUCKDB_MEMORY = "256MB"  # beyond it DuckDB spills to disk; bounds the peak of an import


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


def import_file(
    engine: Engine,
    source_id: str,
    path: str | Path,
    as_of: dt.date,
    actor: Actor = SYSTEM,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import one file as a batch, audited with `actor` (who brought the data in) in the same
    transaction; the same file imported again is a no-op. `progress(written, accepted)` after each chunk."""
    file = Path(path)
    report = ImportReport(None, source_id, file.name)
    digest = file_digest(file) if file.is_file() else ""
    pending: Path | None = None
    with _transaction(engine) as conn:
        source = get_source(conn, source_id)
        read_rows(file)  # a clear error for a missing file or an unknown format, before any write
        earlier = conn.execute(
            select(import_batches.c.id).where(
                import_batches.c.source_id == source_id, import_batches.c.file_sha256 == digest
            )
        ).scalar()
        if earlier is not None:
            report.duplicate_of = earlier
            return report
        imported_at = platform_now()
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
                imported_at=imported_at,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        report.batch_id = batch_id
        with duckdb_session() as duck:
            checked = check_file(duck, source, file, as_of)
            report.rows_read, report.accepted = checked.rows_read, checked.accepted
            report.rejected, report.warnings = checked.rows_read - checked.accepted, checked.warnings
            report.rejects = [{"batch_id": batch_id, **entry} for entry in checked.rejects]
            writer = Writer(duck, conn, checked.fields, source_id, batch_id)
            for lo in range(0, checked.accepted, CHUNK):
                _write(writer, lo, lo + CHUNK, report)
                if progress:
                    progress(min(lo + CHUNK, checked.accepted), checked.accepted)
            writer.finish()
            key = mirror.token(batch_id, source_id, digest, as_of, imported_at)
            pending = mirror.write_pending(
                duck, writer.mirror_sql(), mirror.folder(conn) / mirror.file_name(batch_id, key)
            )
        if report.rejects:
            conn.execute(import_rejects.insert(), report.rejects)
        conn.execute(
            import_batches.update()
            .where(import_batches.c.id == batch_id)
            .values(
                rows_read=report.rows_read,
                rows_accepted=report.accepted,
                rows_rejected=report.rejected,
                warnings=report.warnings,
                observations=report.observations,
            )
        )
        counts = {"rows": report.rows_read, "accepted": report.accepted, "rejected": report.rejected}
        done = {"source": source_id, "file": file.name, "sha256": digest, "as_of": as_of.isoformat()} | counts
        record(conn, actor, "data.import", "import_batch", batch_id, None, done)
    if pending is not None:
        mirror.publish(pending)  # committed: the file is the batch's mirror from now on
    return report


def _write(writer: Writer, lo: int, hi: int, report: ImportReport) -> None:
    """One chunk of accepted rows (enterprises and observations), still inside the transaction;
    a function of its own so a test can make the second chunk fail."""
    report.observations += writer.write(lo, hi)


@contextmanager
def _transaction(engine: Engine) -> Iterator[Connection]:
    """engine.begin(), on SQLite without the per-row foreign-key lookups for this transaction.

    Every key this import writes is one it has just checked or made: the source (get_source, in
    the same transaction) and the batch (inserted first). SQLite would still look both up for
    each of millions of observations, about 3 s per 5M rows. The setting is per connection and
    can only change outside a transaction, so it is switched off before BEGIN and restored after
    COMMIT or ROLLBACK, before the connection goes back to the pool."""
    with engine.connect() as conn:
        raw: Any = conn.connection.driver_connection if conn.dialect.name == "sqlite" else None
        previous = int(raw.execute("PRAGMA foreign_keys").fetchone()[0]) if raw is not None else 0
        if raw is not None:
            raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with conn.begin():
                yield conn
        finally:
            if raw is not None:
                raw.execute(f"PRAGMA foreign_keys = {previous}")


@contextmanager
def duckdb_session() -> Iterator[Any]:
    """A private DuckDB for the checks, spilling to a temporary directory beyond its memory limit.
    DuckDB makes the directory only when it spills, so a killed import rarely leaves one behind."""
    spill = Path(tempfile.gettempdir()) / f"mianshen-import-{uuid.uuid4().hex}"
    duck = duckdb_connect()
    try:
        duck.execute(f"SET temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")
        duck.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
        yield duck
    finally:
        duck.close()
        shutil.rmtree(spill, ignore_errors=True)
