"""A small demo population imported through the real path, and the shipped policies published."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from mianshen.audit.log import Actor
from mianshen.matching.publish import publish_policy
from mianshen.profiles.demo_data import DemoSummary, generate
from mianshen.profiles.imports import import_file
from mianshen.profiles.sources import load_source_file, register_source
from mianshen.rules.loader import SHIPPED, policy_files

AS_OF = dt.date(2025, 6, 30)
N = 300
ACTIVE = 4  # 条件类 + 暂难数据化类 shipped policies in force on AS_OF
ADMIN = Actor("测试发布人", "department")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    return generate(N, tmp_path_factory.mktemp("match-demo"), seed=11, as_of=AS_OF, progress=lambda _: None)


def import_demo(engine: Engine, demo: DemoSummary) -> None:
    with engine.begin() as conn:
        for source in load_source_file(demo.out / "sources.yaml"):
            register_source(conn, source)
    for f in demo.files:
        import_file(engine, f["source"], demo.out / f["file"], AS_OF)


def publish(engine: Engine, *names: str) -> None:
    """Publish the shipped policies (all, or those whose file stem is named)."""
    with engine.begin() as conn:
        for path in policy_files([SHIPPED]):
            if not names or path.stem in names:
                publish_policy(conn, path, ADMIN)


def copy_policy(tmp_path: Path, stem: str) -> Path:
    target = tmp_path / f"{stem}.yaml"
    shutil.copy(SHIPPED / f"{stem}.yaml", target)
    return target


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


@pytest.fixture
def populated(store: Engine, demo: DemoSummary) -> Engine:
    import_demo(store, demo)
    return store
