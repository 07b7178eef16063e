"""The store a benchmark imports into: a fresh SQLite file by default, or an empty PostgreSQL
database (production's store) given by URL.

A benchmark must start from nothing — counts are compared with the hand-written query, and a
first full run is what is timed — so a database that already holds data is refused, never
emptied: a mistyped URL must not cost anyone their data.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import OperationalError

from mianshen.errors import InputError
from mianshen.store.db import open_store
from mianshen.store.schema import enterprises, match_runs, metadata, observations, policy_versions

_HOLDERS = {"企业": enterprises, "观测值": observations, "政策版本": policy_versions, "匹配运行": match_runs}


def fresh_store(url: str | None, sqlite_file: Path) -> str:
    """The URL to import into: `sqlite_file` recreated, or `url` once checked to be empty."""
    if url is None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite_file}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(sqlite_file.with_name(f"{sqlite_file.stem}-data"), ignore_errors=True)  # its mirror and library
        return f"sqlite:///{sqlite_file}"
    if not url.startswith(("postgresql://", "postgresql+psycopg://")):
        raise InputError("基准测试的 --db 只接受 PostgreSQL 地址（postgresql://…）；不给则新建 SQLite 文件", url)
    engine = open_store(url, migrate=False)  # looked at first: a refused database is left exactly as it was
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            foreign = sorted(tables - set(metadata.tables) - {"alembic_version"})
            held = {
                label: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for label, table in _HOLDERS.items()
                if table.name in tables
            }
    except OperationalError as exc:
        raise InputError(f"无法连接数据库：{str(exc).splitlines()[0]}", url) from exc
    finally:
        engine.dispose()
    if foreign:
        raise InputError(f"数据库中有不属于本平台的表（{'、'.join(foreign[:5])}）；基准测试需要一个空库", url)
    if any(held.values()):
        found = "、".join(f"{k} {v:,}" for k, v in held.items() if v)
        raise InputError(f"数据库已有数据（{found}）；基准测试需要一个空库，例如先 createdb mianshen_bench", url)
    open_store(url).dispose()  # empty: brought up to the current schema
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
