"""Issue 16, M3: staff sign-in under attack — lockout after wrong passwords (atomic, also with threads
racing), the same work for unknown usernames as for known ones, and a password policy for
`mianshen user add`."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from sqlalchemy import Engine

from mianshen.cli.main import cli
from mianshen.errors import InputError
from mianshen.web.accounts import add_user
from mianshen.web.errors import WebError
from mianshen.web.signin import staff_sign_in

PASSWORD = "correct-horse-9"


@pytest.fixture
def staff(store: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("MIANSHEN_FAST_HASH", "1")
    with store.begin() as conn:
        add_user(conn, "hr", PASSWORD, "department", "经办人", "河南省人力资源和社会保障厅")
        add_user(conn, "fin", PASSWORD, "finance", "财政")
    yield store


def sign_in(engine: Engine, username: str, password: str, client: str = "10.0.0.1") -> dict[str, object] | WebError:
    with engine.begin() as conn:
        return staff_sign_in(conn, username, password, client, dt.datetime.now(dt.UTC))


def test_wrong_passwords_lock_the_account_for_a_while(staff: Engine) -> None:
    answers = [sign_in(staff, "hr", "wrong-guess", f"10.0.0.{n}") for n in range(7)]
    assert [a.status for a in answers if isinstance(a, WebError)] == [401] * 5 + [429] * 2
    locked = sign_in(staff, "hr", PASSWORD, "10.9.9.9")  # even the right password, from anywhere
    assert isinstance(locked, WebError) and locked.status == 429 and "15 分钟" in locked.message
    assert not isinstance(sign_in(staff, "fin", PASSWORD), WebError)  # others are not locked


def test_a_right_password_does_not_count(staff: Engine) -> None:
    for _ in range(8):
        assert not isinstance(sign_in(staff, "hr", PASSWORD), WebError)


def test_one_client_is_limited_across_usernames(staff: Engine) -> None:
    statuses = []
    for n in range(22):
        answer = sign_in(staff, f"guess{n % 5}", "wrong-guess", "203.0.113.4")
        assert isinstance(answer, WebError)
        statuses.append(answer.status)
    assert statuses.count(401) == 20 and statuses[20:] == [429, 429]
    assert not isinstance(sign_in(staff, "hr", PASSWORD, "203.0.113.5"), WebError)


def test_racing_wrong_passwords_count_exactly(staff: Engine) -> None:
    start, statuses = threading.Barrier(8), []

    def attempt(n: int) -> None:
        start.wait()
        answer = sign_in(staff, "hr", "wrong-guess", f"10.2.0.{n}")
        statuses.append(answer.status if isinstance(answer, WebError) else 200)

    workers = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(statuses) == [401] * 5 + [429] * 3


def test_unknown_usernames_cost_a_password_check(staff: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    checks = []
    real = PasswordHasher.verify

    def counted(self: PasswordHasher, hash: str, password: str) -> bool:
        checks.append(password)
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    for name in ("nobody", "hr"):
        assert isinstance(sign_in(staff, name, "wrong-guess"), WebError)
    assert checks == ["wrong-guess", "wrong-guess"]  # the same argon2 work whether the user exists or not


def test_a_huge_username_is_not_stored(staff: Engine) -> None:
    from sqlalchemy import func, select

    from mianshen.store.schema import audit_log

    assert isinstance(sign_in(staff, "x" * 1_000_000, "wrong-guess"), WebError)
    with staff.connect() as conn:
        longest = conn.execute(select(func.max(func.length(audit_log.c.actor)))).scalar_one()
    assert longest <= 100


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("zhang", "12345678", "过于常见"),
        ("zhang", "password", "过于常见"),
        ("zhang", "Password123", "过于常见"),
        ("zhangsan01", "zhangsan01", "不能与用户名相同"),
        ("zhang", "short", "至少 8 位"),
        ("", "correct-horse-9", "用户名不能为空"),
        ("   ", "correct-horse-9", "用户名不能为空"),
        ("zhang san", "correct-horse-9", "不能含空格"),
        ("z" * 65, "correct-horse-9", "最多 64"),
    ],
)
def test_password_policy(store: Engine, username: str, password: str, message: str) -> None:
    with store.begin() as conn, pytest.raises(InputError, match=message):
        add_user(conn, username, password, "auditor", "审计")


def test_user_add_command_refuses_weak_passwords(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIANSHEN_FAST_HASH", "1")
    db = f"sqlite:///{tmp_path}/store.sqlite"
    base = ["user", "add", "--name", "审计", "--role", "auditor", "--db", db]
    weak = CliRunner().invoke(cli, [*base, "--username", "audit1", "--password", "12345678"])
    assert weak.exit_code == 2 and "密码过于常见" in weak.output and "Traceback" not in weak.output
    same = CliRunner().invoke(cli, [*base, "--username", "audit1", "--password", "audit1"])
    assert same.exit_code != 0 and "密码" in same.output
    good = CliRunner().invoke(cli, [*base, "--username", "audit1", "--password", "long-enough-phrase"])
    assert good.exit_code == 0, good.output
