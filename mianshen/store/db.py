"""Opening the store: one URL (SQLite file by default, or PostgreSQL), migrated to the latest schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

from mianshen.errors import InputError
from mianshen.settings import current as settings
from mianshen.store.paths import var_dir


def database_url(explicit: str | None = None) -> str:
    return explicit or settings().database_url or f"sqlite:///{var_dir() / 'mianshen.sqlite'}"


def _normalise(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def open_store(url: str | None = None, migrate: bool = True) -> Engine:
    """An engine on the store at `url`, with the schema brought up to date."""
    target = _normalise(database_url(url))
    if target.startswith("sqlite:///") and not target.startswith("sqlite:///:memory:"):
        Path(target[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(target, future=True)
    except Exception as exc:  # a malformed URL or a missing driver
        raise InputError(f"数据库地址无效：{target}（{exc}）") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    if migrate:
        from mianshen.store.migrate import upgrade

        upgrade(engine)
    from mianshen.store.fields import install

    install(engine)  # the fields departments declared are part of this process's catalogue
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL: the server, the CLI and the scheduler write at once; a killed writer leaves the store
    # as it was (its transaction is rolled back from the journal on next open).
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
    # Python's sqlite3 starts transactions on its own schedule (and a SAVEPOINT as the first
    # statement commits on release); let SQLAlchemy say BEGIN itself so transactions and
    # nested savepoints mean what they say (SQLAlchemy's documented recipe for pysqlite).
    dbapi_conn.isolation_level = None


def reading(engine: Engine) -> Connection:
    """A connection that only reads: on SQLite its transactions do not take the write lock, so web
    pages read side by side instead of one at a time (writers still go one at a time)."""
    return engine.connect().execution_options(read_only=True)


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE: take the write lock at the start, so a transaction that reads and then writes
    # waits its turn (busy_timeout) instead of failing with "database is locked" when another
    # writer committed in between — which under concurrent web requests failed most portal reads.
    # A connection marked read-only (`reading`) never writes, so it begins deferred (a WAL reader).
    read_only = conn.get_execution_options().get("read_only", False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def refresh_statistics(engine: Engine, table: str) -> None:
    """Fresh planner statistics after a bulk write, so pages are planned on their indexes at once.
    On PostgreSQL also VACUUM: until the visibility map covers the new rows every index-only scan
    (the queue's counts and pages) visits the table as well — twice to three times slower at
    100,000 cases; autovacuum gets there only minutes later. VACUUM cannot run in a transaction."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
    else:  # a full ANALYZE (SQLite's sampled statistics misjudge how selective a policy is)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"ANALYZE {table}")
