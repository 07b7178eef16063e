"""A killed import (SIGKILL mid-way) leaves the store exactly as before, and can simply be rerun."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mianshen.reference.uscc import make_uscc
from mianshen.store.db import open_store
from mianshen.store.schema import enterprises, import_batches, observations

from .store_fixtures import STORES, fresh_store, store_url
from .test_profiles_import import SOURCES

MIANSHEN = str(Path(sys.executable).parent / "mianshen")
ROWS = 200_000  # several write chunks, so the kill lands between two of them


def big_market_file(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("统一社会信用代码,企业名称,主体类型,成立日期,行业代码,从业人数\n")
        for i in range(rows):
            out.write(f"{make_uscc('9', '1', '410102', f'{i:08d}')},企业{i},企业,2020-01-01,C3011,{i % 500}\n")


def counts(engine) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (import_batches, observations, enterprises)
        )  # type: ignore[return-value]


def writing(kind: str, tmp_path: Path) -> bool:
    """Whether the import has begun writing observations (not merely checking the file)."""
    if kind == "sqlite":  # dirty pages spill into the write-ahead log long before the commit
        wal = tmp_path / "store.sqlite-wal"
        return wal.exists() and wal.stat().st_size > 4 << 20
    import psycopg

    with psycopg.connect(store_url(kind, tmp_path).replace("postgresql+psycopg://", "postgresql://")) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY observations%'"
        ).fetchone()
    return bool(found and found[0])


@pytest.mark.parametrize("kind", STORES)
def test_sigkill_mid_import_leaves_store_unchanged(kind: str, tmp_path: Path) -> None:
    engine = fresh_store(kind, tmp_path)
    url = store_url(kind, tmp_path)
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    subprocess.run(
        [MIANSHEN, "data", "sources", str(tmp_path / "sources.yaml"), "--db", url], check=True, capture_output=True
    )
    small = tmp_path / "small.csv"
    big_market_file(small, 10)
    subprocess.run(
        [MIANSHEN, "data", "import", "--source", "market", str(small), "--as-of", "2025-06-30", "--db", url],
        check=True,
        capture_output=True,
    )
    before = counts(engine)
    big = tmp_path / "big.csv"
    big_market_file(big, ROWS)
    proc = subprocess.Popen(
        [MIANSHEN, "data", "import", "--source", "market", str(big), "--as-of", "2025-06-30", "--db", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while proc.poll() is None and not writing(kind, tmp_path) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the import finished before it could be killed; use a bigger file"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    engine.dispose()
    engine = open_store(url)
    assert counts(engine) == before
    rerun = subprocess.run(
        [MIANSHEN, "data", "import", "--source", "market", str(big), "--as-of", "2025-06-30", "--db", url],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert counts(engine) == (
        before[0] + 1,
        before[1] + ROWS * 4,
        before[2] + ROWS - 10,
    )  # the first 10 were known already
