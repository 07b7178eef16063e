"""The store a benchmark imports into: a fresh SQLite file by default, or an empty PostgreSQL
database (production's store) given by URL.

A benchmark must start from nothing — counts are compared with the hand-written query, and a
first full run is what is timed — so a database that already holds data is refused, never
emptied: a mistyped URL must not cost anyone their data.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, text

from mianshen.errors import InputError
from mianshen.store.db import open_store
from mianshen.store.schema import enterprises, matches, observations, policy_versions


def fresh_store(url: str | None, sqlite_file: Path) -> str:
    """The URL to import into: `sqlite_file` recreated, or `url` once checked to be empty."""
    if url is None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite_file}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{sqlite_file}"
    if not url.startswith(("postgresql://", "postgresql+psycopg://")):
        raise InputError("基准测试的 --db 只接受 PostgreSQL 地址（postgresql://…）；不给则新建 SQLite 文件", url)
    engine = open_store(url)  # brings an empty database up to the current schema
    try:
        with engine.connect() as conn:
            held = {
                "企业": conn.execute(select(func.count()).select_from(enterprises)).scalar_one(),
                "观测值": conn.execute(select(func.count()).select_from(observations)).scalar_one(),
                "政策版本": conn.execute(select(func.count()).select_from(policy_versions)).scalar_one(),
                "匹配结果": conn.execute(select(func.count()).select_from(matches)).scalar_one(),
            }
    finally:
        engine.dispose()
    if any(held.values()):
        found = "、".join(f"{k} {v:,}" for k, v in held.items() if v)
        raise InputError(f"数据库已有数据（{found}）；基准测试需要一个空库，例如先 createdb mianshen_bench", url)
    return url


def store_mib(url: str) -> int:
    """The store's size on disk in MiB (the SQLite file, or the PostgreSQL database)."""
    if url.startswith("sqlite:///"):
        return round(Path(url[len("sqlite:///") :]).stat().st_size / 2**20)
    engine = open_store(url, migrate=False)
    try:
        with engine.connect() as conn:
            return round(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one() / 2**20)
    finally:
        engine.dispose()
