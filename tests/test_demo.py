"""`mianshen demo`: the README's main job, end to end on a small population."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import mianshen.cli.demo  # noqa: F401  (registers the commands)
from mianshen.cli.main import cli
from mianshen.clock import beijing
from mianshen.store.db import open_store
from mianshen.store.schema import case_events, cases


def test_demo_runs_the_main_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MIANSHEN_FAST_HASH", "1")
    monkeypatch.setenv("MIANSHEN_TODAY", "2025-06-30")  # the demo pins the platform clock; restored afterwards
    result = CliRunner().invoke(cli, ["demo", "--enterprises", "1000", "--no-serve"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "109 passed, 0 failed" in out  # the policy catalogue's own tests
    assert "接收" in out and "拒收" in out  # departmental files went through the real import path
    assert "结论：符合" in out  # one enterprise explained condition by condition
    assert "拨付到账 → 已拨付" in out and "对账：" in out and "一致" in out
    assert "审计链：完整" in out
    assert "用户名 hrss" in out and "统一社会信用代码" in out  # demo accounts printed
    assert (tmp_path / "var" / "demo.sqlite").exists()
    # work waiting for each role on the site: a 公示 that has ended (department) and an approval (finance)
    assert "→ 公示中" in out and "→ 审核通过" in out
    # one clock: every recorded moment of the demo is on the demo date, not the machine's date
    engine = open_store(f"sqlite:///{tmp_path / 'var' / 'demo.sqlite'}", migrate=False)
    with engine.connect() as conn:
        days = {beijing(at).date() for at in conn.execute(select(case_events.c.at)).scalars()}
        opened = {beijing(at).date() for at in conn.execute(select(cases.c.created_at)).scalars()}
    assert days == {dt.date(2025, 6, 30)} and opened == {dt.date(2025, 6, 30)}
