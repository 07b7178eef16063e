"""The one settings object: read from the environment and a TOML file, shown masked, documented."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from mianshen import clock, settings
from mianshen.cli.config import markdown
from mianshen.cli.main import cli
from mianshen.errors import InputError

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_docs_are_generated_from_the_settings() -> None:
    assert (ROOT / "docs" / "settings.md").read_text(encoding="utf-8") == markdown(), (
        "运行 mianshen settings --markdown > docs/settings.md"
    )


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "mianshen").rglob("*.py")
        if re.search(r"os\.environ|getenv", path.read_text(encoding="utf-8"))
    ]
    assert readers == ["mianshen/settings.py"]


def test_settings_command_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIANSHEN_SM4_KEY", "00112233445566778899aabbccddeeff")
    monkeypatch.setenv("MIANSHEN_DATABASE_URL", "postgresql://app:s3cret@db.example:5432/mianshen")
    monkeypatch.setenv("MIANSHEN_SESSION_HOURS", "8")
    code, output = run("settings")
    assert code == 0
    assert "00112233" not in output and "s3cret" not in output
    assert re.search(r"MIANSHEN_DATABASE_URL +postgresql://\*\*\*@db\.example:5432/mianshen", output)
    assert re.search(r"MIANSHEN_SESSION_HOURS +8 ", output)


def test_a_bad_value_is_one_chinese_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIANSHEN_SESSION_HOURS", "两小时")
    code, output = run("settings")
    assert code == 2
    assert output.strip().count("\n") == 0 and "MIANSHEN_SESSION_HOURS “两小时”无效：应为整数" in output
    assert "Traceback" not in output


def test_a_settings_file_is_read_and_the_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    file = tmp_path / "mianshen.toml"
    file.write_text('var_dir = "/srv/mianshen"\ntoday = 2025-06-30\nsession_hours = 4\n', encoding="utf-8")
    monkeypatch.setenv("MIANSHEN_SETTINGS_FILE", str(file))
    monkeypatch.setenv("MIANSHEN_SESSION_HOURS", "6")
    now = settings.current()
    assert (now.var_dir, now.today, now.session_hours) == (Path("/srv/mianshen"), dt.date(2025, 6, 30), 6)
    assert clock.today() == dt.date(2025, 6, 30)
    file.write_text("sesion_hours = 4\n", encoding="utf-8")
    settings.reset()
    with pytest.raises(InputError, match="未知的设置“sesion_hours”"):
        settings.current()


def test_read_once_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIANSHEN_TODAY", "2025-01-02")
    assert clock.today() == dt.date(2025, 1, 2)
    os.environ["MIANSHEN_TODAY"] = "2025-03-04"  # monkeypatch restores it; the process keeps what it read
    assert clock.today() == dt.date(2025, 1, 2)
    settings.reset()
    assert clock.today() == dt.date(2025, 3, 4)


def test_configure_reaches_child_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIANSHEN_TODAY", "2025-01-02")
    settings.configure(today=dt.date(2025, 6, 30))
    assert clock.today() == dt.date(2025, 6, 30)
    assert os.environ["MIANSHEN_TODAY"] == "2025-06-30"
    assert settings.child_env(var_dir=Path("/x"))["MIANSHEN_VAR_DIR"] == "/x"
