"""Progress bars of long commands: drawn on a terminal, silent otherwise."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from mianshen.cli import progress as bars
from mianshen.cli.main import cli
from mianshen.rules.loader import SHIPPED


def test_on_a_terminal_the_bar_moves_and_nested_commands_share_it(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(bars, "_terminal", lambda: True)
    monkeypatch.setattr(bars, "_console", lambda: Console(file=screen, force_terminal=True, width=100))
    with bars.progress("演示", total=10) as outer:
        outer(3, description="4. 登记数据源并导入")
        with bars.progress("导入 企业登记.csv", total=200) as inner:  # a command the demo invokes
            inner(100)
            assert bars._active is not None and len(bars._active.tasks) == 2
    assert bars._active is None
    drawn = screen.getvalue()
    assert "4. 登记数据源并导入" in drawn and "导入 企业登记.csv" in drawn and "100/200" in drawn


def test_without_a_terminal_nothing_is_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bars, "_terminal", lambda: False)
    monkeypatch.setattr(bars, "_console", lambda: pytest.fail("a bar was drawn without a terminal"))
    with bars.progress("匹配", total=3) as moved:
        moved(1, description="匹配：比较")


def test_match_without_a_terminal_prints_its_summary_only(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    published = CliRunner().invoke(cli, ["policy", "publish", str(SHIPPED), "--actor", "张三", "--db", db])
    assert published.exit_code == 0, published.output
    result = CliRunner().invoke(cli, ["match", "--db", db, "--as-of", "2025-06-30"])
    assert result.exit_code == 0, result.output
    assert "首次匹配" in result.output and "━" not in result.output and "\r" not in result.output
