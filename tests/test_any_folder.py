"""Every command works from any folder, with only the installed package: the policy catalogue ships
inside it and whatever a command writes goes to the var directory (./var or MIANSHEN_VAR_DIR).

Each test runs `python -m mianshen` in a new process whose current folder is an empty temporary one,
so nothing is read from the checkout by a relative path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mianshen.rules.loader import SHIPPED


def mianshen(folder: Path, *args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "mianshen", *map(str, args)],
        cwd=folder,
        env={**os.environ, "MIANSHEN_FAST_HASH": "1", **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-2000:]
    return proc


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def test_policy_list_check_and_test_read_the_shipped_catalogue(empty: Path) -> None:
    listed = mianshen(empty, "policy", "list")
    assert listed.returncode == 0, listed.stderr
    shipped = sorted(p.stem for p in SHIPPED.glob("*.yaml"))  # a renewal's file is <id>.v2: one line per version
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()[:-1]] == [s.split(".")[0] for s in shipped]
    assert "失业保险稳岗返还" in listed.stdout and f"共 {len(shipped)} 项政策" in listed.stdout
    checked = mianshen(empty, "policy", "check")
    assert checked.returncode == 0 and f"{len(shipped)} 项政策通过检查，0 个错误" in checked.stdout
    tested = mianshen(empty, "policy", "test")
    assert tested.returncode == 0 and tested.stdout.strip().endswith(", 0 failed")
    shown = mianshen(empty, "policy", "show", "wengang-fanhuan", "--as-of", "2025-06-30")
    assert shown.returncode == 0 and "《失业保险稳岗返还" in shown.stdout
    assert list(empty.iterdir()) == []  # reading the catalogue writes nothing


def test_demo_runs_from_an_empty_folder_and_writes_to_the_var_directory(empty: Path) -> None:
    proc = mianshen(empty, "demo", "--enterprises", "100", "--no-serve")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "109 passed, 0 failed" in proc.stdout and "审计链：完整" in proc.stdout
    assert (empty / "var" / "demo.sqlite").is_file() and (empty / "var" / "outbox.log").is_file()
    assert "━" not in proc.stdout + proc.stderr  # output captured, not a terminal: no progress bar


def test_var_directory_setting_moves_every_default_file(empty: Path, tmp_path: Path) -> None:
    by_env = tmp_path / "by-env"
    proc = mianshen(empty, "audit", "verify", MIANSHEN_VAR_DIR=str(by_env))
    assert proc.returncode == 0, proc.stderr
    assert (by_env / "mianshen.sqlite").is_file()
    by_option = tmp_path / "by-option"
    proc = mianshen(empty, "--var-dir", by_option, "audit", "verify")
    assert proc.returncode == 0, proc.stderr
    assert (by_option / "mianshen.sqlite").is_file()
    assert list(empty.iterdir()) == []


def test_bench_runs_from_an_empty_folder(empty: Path) -> None:
    # `mianshen bench --quick` (5,000 enterprises, 100 variants) takes over a minute on a busy machine;
    # the same command path at its smallest size keeps the suite fast.
    args = ["bench", "run", "--quick", "--enterprises", "200", "--policies", "10", "--repetitions", "2"]
    proc = mianshen(empty, *args, "--no-compare")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "(a) " in proc.stdout and "导入 200 家" in proc.stdout
    assert (empty / "var" / "bench" / "import-200.sqlite").is_file()
