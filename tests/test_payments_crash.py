"""A payment batch killed mid-way (SIGKILL, or a crash between chunks) and rerun pays each case exactly once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from mianshen.cases import payments as pay
from mianshen.cases.payments import create_batch, mark_batch_paid, reconcile
from mianshen.store.db import open_store
from mianshen.store.schema import case_events, cases, payment_batches, payments

from .store_fixtures import STORES, fresh_store, store_url
from .test_cases_fixtures import FINANCE, LISTED, firm, publish, sm4_key  # noqa: F401

MIANSHEN = str(Path(sys.executable).parent / "mianshen")


def approved_cases(engine: Engine, n: int) -> Decimal:
    """n approved cases inserted directly (the steps before approval are tested elsewhere); their total."""
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "policy_id": LISTED,
            "policy_version": 1,
            "uscc": firm(i),
            "period": "2025",
            "origin": "list",
            "state": "approved",
            "amount": f"{1000 + i}.50",
            "confirmed_amount": f"{1000 + i}.50",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]
    with engine.begin() as conn:
        publish(conn, LISTED)
        conn.execute(cases.insert(), rows)
    return sum((Decimal(r["amount"]) for r in rows), Decimal(0))  # type: ignore[arg-type]


def count(engine: Engine, table: object, *where: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]


def assert_paid_once(engine: Engine, n: int, total: Decimal, state: str) -> None:
    assert count(engine, payments) == n
    assert count(engine, cases, cases.c.state == state) == n
    assert count(engine, payment_batches) == 1  # the rerun resumed the batch, it did not start a second
    with engine.connect() as conn:
        report = reconcile(conn, LISTED)
    assert report["ok"], report["problems"]
    assert report["approved_total"] == total


def test_crash_between_chunks_then_rerun(store: Engine) -> None:
    total = approved_cases(store, 250)

    def crash(done: int) -> None:
        if done >= 100:
            raise RuntimeError("模拟进程崩溃")

    with pytest.raises(RuntimeError):
        create_batch(store, LISTED, FINANCE, chunk=50, after_chunk=crash)
    assert count(store, payments) == 100
    report = create_batch(store, LISTED, FINANCE, chunk=50)
    assert report.resumed and report.added == 150 and report.total == total
    assert_paid_once(store, 250, total, "in_payment")
    assert create_batch(store, LISTED, FINANCE).added == 0  # a third run finds nothing to add

    original = pay.CHUNK
    pay.CHUNK = 40
    try:
        assert mark_batch_paid(store, report.batch_id, FINANCE, chunk=40) == 250
        assert mark_batch_paid(store, report.batch_id, FINANCE) == 0
    finally:
        pay.CHUNK = original
    assert_paid_once(store, 250, total, "paid")
    assert count(store, case_events, case_events.c.to_state == "paid") == 250


def observer(engine: Engine) -> Engine:
    """The test's own watcher: on SQLite a plain (deferred) connection, so that watching does not take
    the store's write lock (the store begins every transaction IMMEDIATE) and slow the command down."""
    if engine.dialect.name != "sqlite":
        return engine
    from sqlalchemy import create_engine

    return create_engine(engine.url)


def run_and_kill(args: list[str], engine: Engine, progress: object, env: dict[str, str]) -> None:
    """Start the command, wait until it has committed some work, and SIGKILL it."""
    proc = subprocess.Popen([MIANSHEN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 120
    watcher = observer(engine)
    while count(watcher, payments, progress) == 0 and time.monotonic() < deadline:  # type: ignore[arg-type]
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("kind", STORES)
def test_sigkill_during_batch_and_mark_paid_then_rerun(kind: str, tmp_path: Path) -> None:
    n = 600
    engine = fresh_store(kind, tmp_path)
    url = store_url(kind, tmp_path)
    total = approved_cases(engine, n)
    env = {**os.environ, "MIANSHEN_ACTOR": "赵会计", "MIANSHEN_ROLE": "finance"}

    run_and_kill(["pay", "batch", "--policy", LISTED, "--db", url], engine, payments.c.id > 0, env)
    engine.dispose()
    engine = open_store(url)
    partial = count(engine, payments)
    assert 0 < partial < n  # killed mid-way
    assert count(engine, cases, cases.c.state == "in_payment") == partial  # whole chunks only
    rerun = subprocess.run(
        [MIANSHEN, "pay", "batch", "--policy", LISTED, "--db", url], env=env, capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stderr
    assert_paid_once(engine, n, total, "in_payment")

    with engine.connect() as conn:
        batch_id = conn.execute(select(payment_batches.c.id)).scalar_one()
    run_and_kill(["pay", "mark-paid", str(batch_id), "--db", url], engine, payments.c.paid_at.is_not(None), env)
    rerun = subprocess.run(
        [MIANSHEN, "pay", "mark-paid", str(batch_id), "--db", url], env=env, capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stderr
    assert_paid_once(engine, n, total, "paid")
    assert count(engine, case_events, case_events.c.to_state == "paid") == n
    engine.dispose()
