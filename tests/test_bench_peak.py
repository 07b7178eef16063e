"""The peak memory a benchmark reports for a command is the command's own, not the benchmark's."""

from __future__ import annotations

import sys

import pytest

from mianshen.benchmarks.peak import run_with_peak


def test_peak_is_the_commands_own_even_when_the_caller_is_big() -> None:
    ballast = bytearray(300 * 2**20)  # the benchmark process holding a generated population
    ballast[::4096] = b"x" * len(ballast[::4096])  # touched, so it is resident
    small, _ = run_with_peak([sys.executable, "-c", "pass"])
    big, _ = run_with_peak([sys.executable, "-c", "b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096])"])
    assert small < 100 and 200 <= big < 300
    del ballast


def test_a_failing_command_is_reported_with_its_error() -> None:
    with pytest.raises(RuntimeError, match="退出码 3"):
        run_with_peak([sys.executable, "-c", "import sys; sys.exit(3)"])
