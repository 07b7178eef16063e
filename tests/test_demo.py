"""`mianshen demo`: the README's main job, end to end on a small population."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import mianshen.cli.demo  # noqa: F401  (registers the commands)
from mianshen.cli.main import cli

from .conftest import ROOT


def test_demo_runs_the_main_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "policies").symlink_to(ROOT / "policies")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MIANSHEN_FAST_HASH", "1")
    result = CliRunner().invoke(cli, ["demo", "--enterprises", "1000", "--no-serve"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "72 passed, 0 failed" in out  # the policy catalogue's own tests
    assert "接收" in out and "拒收" in out  # departmental files went through the real import path
    assert "结论：符合" in out  # one enterprise explained condition by condition
    assert "拨付到账 → 已拨付" in out and "对账：" in out and "一致" in out
    assert "审计链：完整" in out
    assert "用户名 hrss" in out and "统一社会信用代码" in out  # demo accounts printed
    assert (tmp_path / "var" / "demo.sqlite").exists()
