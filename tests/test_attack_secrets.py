"""Issue 16, M11: SMS login codes stayed in plain text in `outbox.payload` and `var/outbox.log`, and
the store, logs and uploads were world-readable (0644)."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select

from mianshen.notify.channels import ConsoleChannel
from mianshen.notify.sender import RetryPolicy, send_due
from mianshen.store.db import open_store
from mianshen.store.schema import outbox
from mianshen.web.signin import request_code

from .test_attack_signin import USCCS, site

ROOT = Path(__file__).resolve().parent.parent
__all__ = ["site"]


def later() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)  # the code's row is due


def ask_code(engine: Engine) -> str:
    with engine.begin() as conn:
        assert isinstance(request_code(conn, USCCS[0], "203.0.113.5"), str)
    with engine.connect() as conn:
        payload = conn.execute(select(outbox.c.payload).where(outbox.c.template == "login_code")).scalar_one()
    return str(json.loads(payload)["code"])  # kept until it is sent: the sender needs it


def stored_payload(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(outbox.c.payload).where(outbox.c.template == "login_code")).scalar_one())


def test_a_sent_code_is_in_neither_the_store_nor_the_log(
    site: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MIANSHEN_DEMO_SHOW_CODES", raising=False)
    code = ask_code(site)
    log = tmp_path / "outbox.log"
    sms = ConsoleChannel(str(log), label="sms→console", name="sms")
    assert send_due(site, later(), {"sms": sms}, RetryPolicy()).sent == 1
    line = log.read_text(encoding="utf-8")
    assert code not in line and "登录验证码 ******" in line
    assert code not in stored_payload(site) and json.loads(stored_payload(site))["code"] == "******"
    assert code not in capsys.readouterr().err  # a captured stderr is no terminal


def test_without_a_gateway_the_demo_terminal_shows_the_code(
    site: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIANSHEN_DEMO_SHOW_CODES", "1")
    code = ask_code(site)
    sms = ConsoleChannel(str(tmp_path / "outbox.log"), label="sms→console", name="sms")
    send_due(site, later(), {"sms": sms}, RetryPolicy())
    shown = capsys.readouterr().err
    assert f"登录验证码 {code}" in shown and "仅本机演示" in shown
    assert code not in (tmp_path / "outbox.log").read_text(encoding="utf-8")


def test_a_code_that_cannot_be_sent_is_forgotten_too(site: Engine) -> None:
    code = ask_code(site)
    gone = {"sms": ConsoleChannel("/proc/no/such/folder/outbox.log", name="sms")}  # every write fails
    send_due(site, later(), gone, RetryPolicy(max_attempts=1))
    with site.connect() as conn:
        assert conn.execute(select(outbox.c.status).where(outbox.c.template == "login_code")).scalar_one() == "failed"
    assert code not in stored_payload(site)


def run_cli(tmp_path: Path, url: str, *args: str) -> None:
    env = {**os.environ, "MIANSHEN_DATABASE_URL": url, "MIANSHEN_OUTBOX_LOG": str(tmp_path / "logs" / "outbox.log")}
    env |= {"PYTHONPATH": str(ROOT), "MIANSHEN_DEMO_SHOW_CODES": "0"}
    done = subprocess.run(
        [sys.executable, "-c", "from mianshen.cli.main import main; main()", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_store_and_the_outbox_log_are_the_owner_s_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'store.sqlite'}"
    run_cli(tmp_path, url, "notify", "send", "--once")  # creates and migrates the store
    engine = create_engine(url)
    from mianshen.store.outbox import enqueue

    with engine.begin() as conn:
        enqueue(conn, USCCS[0], "login:1", "login_code", {"code": "123456", "minutes": 5}, channels=("sms",))
    engine.dispose()
    run_cli(tmp_path, url, "notify", "send", "--once")
    assert mode(tmp_path / "var") == 0o700 and mode(tmp_path / "var" / "store.sqlite") == 0o600
    log = tmp_path / "logs" / "outbox.log"
    assert mode(tmp_path / "logs") == 0o700 and mode(log) == 0o600
    assert "123456" not in log.read_text(encoding="utf-8")


def test_the_web_application_keeps_its_uploads_private(tmp_path: Path) -> None:
    from mianshen.web.app import create_app

    previous = os.umask(0o022)
    try:
        create_app(f"sqlite:///{tmp_path / 'store.sqlite'}").state.engine.dispose()
        folder = tmp_path / "uploads" / "ab"
        folder.mkdir(parents=True)
        (folder / "x.pdf").write_bytes(b"%PDF")
        assert mode(folder) == 0o700 and mode(folder / "x.pdf") == 0o600
        assert mode(tmp_path / "store.sqlite") == 0o600
    finally:
        os.umask(previous)
    assert open_store  # the same store code the CLI uses
