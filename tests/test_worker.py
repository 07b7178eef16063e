"""`mianshen worker`: each job does what is due once; a second pass changes nothing; failures are contained."""

from __future__ import annotations

import datetime as dt
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from mianshen.cli import audit as _audit_cli  # noqa: F401  (registers the command)
from mianshen.cli import worker as _worker_cli  # noqa: F401  (registers the command)
from mianshen.cli.main import cli
from mianshen.jobs import tasks
from mianshen.jobs.runner import run_once
from mianshen.store.schema import (
    audit_log,
    case_events,
    cases,
    data_sources,
    import_batches,
    match_runs,
    outbox,
    policy_versions,
    portal_messages,
)

from .test_notify_reminders import NOW, case, policy

TODAY = dt.date(2025, 7, 14)
TABLES = (outbox, audit_log, case_events, portal_messages, policy_versions)


def _counts(store: Engine) -> dict[str, Any]:
    with store.connect() as conn:
        out: dict[str, Any] = {t.name: conn.execute(select(func.count()).select_from(t)).scalar() for t in TABLES}
        out["states"] = sorted(conn.execute(select(cases.c.id, cases.c.state)).all())
        out["sent"] = conn.execute(select(func.count()).where(outbox.c.status == "sent")).scalar()
    return out


def _worker(store: Engine, *args: str) -> Any:
    url = store.url.render_as_string(hide_password=False)
    return CliRunner().invoke(cli, ["worker", "--once", "--as-of", TODAY.isoformat(), "--db", url, *args])


def test_expire_policies_retires_with_an_audit_event(store: Engine) -> None:
    with store.begin() as conn:
        policy(conn, "old", valid_to=dt.date(2025, 7, 13))
        policy(conn, "today", valid_to=TODAY)  # valid through its last day
    assert tasks.expire_policies(store, TODAY).changed == 1
    assert tasks.expire_policies(store, TODAY).changed == 0
    with store.connect() as conn:
        states = dict(conn.execute(select(policy_versions.c.policy_id, policy_versions.c.state)).all())
        events = conn.execute(select(audit_log.c.action, audit_log.c.entity_id, audit_log.c.role)).all()
    assert states == {"old": "retired", "today": "published"}
    assert [tuple(e) for e in events] == [("policy.retire", "old", "system")]


def test_worker_once_twice_is_idempotent(store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIANSHEN_OUTBOX_LOG", str(tmp_path / "outbox.log"))
    monkeypatch.delenv("MIANSHEN_SMS_URL", raising=False)
    with store.begin() as conn:
        policy(conn, "liuliang", title="小微企业流量资费减免")
        policy(conn, "expired-policy", valid_to=dt.date(2025, 6, 30))
        late = case(conn, "liuliang", "91410100MA44XYZ12K", "notified", deadline=dt.date(2025, 7, 11))
        soon = case(conn, "liuliang", "91410100MA44XYZ13L", "notified", deadline=dt.date(2025, 7, 16))
        shown = case(
            conn,
            "liuliang",
            "91410100MA44XYZ14M",
            "publicity",
            publicity_from=dt.date(2025, 7, 4),
            publicity_to=dt.date(2025, 7, 11),
            deadline=dt.date(2025, 7, 11),
        )
    first = _worker(store)
    assert first.exit_code == 0, first.output
    assert "✓ expire_policies：退役政策版本 1 个" in first.output
    after_first = _counts(store)
    assert dict((cid, state) for cid, state in after_first["states"]) == {
        late: "expired",
        soon: "notified",
        shown: "approved",
    }
    assert after_first["sent"] == after_first["outbox"] > 0  # expiry, approval and reminder messages, all sent
    lines = (tmp_path / "outbox.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == after_first["sent"] - after_first["portal_messages"]
    assert any("逾期" in line for line in lines) and any("确认提醒" in line for line in lines)

    second = _worker(store)
    assert second.exit_code == 0, second.output
    assert _counts(store) == after_first
    assert "退役政策版本 0 个" in second.output and "已发送 0 条" in second.output
    verify = CliRunner().invoke(cli, ["audit", "verify", "--db", store.url.render_as_string(hide_password=False)])
    assert verify.exit_code == 0, verify.output


def _batch(store: Engine, seen: int | None) -> int:
    with store.begin() as conn:
        conn.execute(
            data_sources.insert().values(
                id="tax", name="纳税", department="税务局", mapping="{}", refresh="每月", freshness_days=40,
                priority=1, registered_at=NOW,
            )
        )  # fmt: skip
        batch = conn.execute(
            import_batches.insert().values(
                source_id="tax", file_name="a.csv", file_sha256="0" * 64, as_of=TODAY, rows_read=1,
                rows_accepted=1, rows_rejected=0, warnings=0, imported_at=NOW,
            )
        ).inserted_primary_key[0]  # fmt: skip
        if seen is not None:
            conn.execute(
                match_runs.insert().values(
                    as_of=TODAY, scope="full", last_batch_id=seen, evaluated=0, changed=0, cases_created=0,
                    data_requests=0, started_at=NOW, finished_at=NOW,
                )
            )  # fmt: skip
    return int(batch)


def test_rematch_runs_only_after_a_newer_import(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []

    def run_incremental(engine: Engine, as_of: dt.date) -> Any:
        calls.append(as_of)
        return types.SimpleNamespace(changed=4)

    fake = types.ModuleType("mianshen.matching.runs")
    fake.run_incremental = run_incremental  # type: ignore[attr-defined]
    monkeypatch.setattr(tasks, "_optional", lambda name: fake if name == "mianshen.matching.runs" else None)
    assert "没有新的导入批次" in tasks.rematch_after_imports(store, TODAY).message
    batch = _batch(store, seen=None)
    assert tasks.rematch_after_imports(store, TODAY).changed == 4 and calls == [TODAY]
    with store.begin() as conn:
        conn.execute(
            match_runs.insert().values(
                as_of=TODAY, scope="incremental", last_batch_id=batch, evaluated=0, changed=0, cases_created=0,
                data_requests=0, started_at=NOW, finished_at=NOW,
            )
        )  # fmt: skip
    assert tasks.rematch_after_imports(store, TODAY).changed == 0 and len(calls) == 1


def test_rematch_before_any_policy_is_published_is_skipped_clearly(store: Engine) -> None:
    """Data imported before any policy is published: the worker's re-match says why it did nothing
    (the real matcher, which used to fail with an index error)."""
    _batch(store, seen=None)
    outcome = tasks.rematch_after_imports(store, TODAY)
    assert outcome.skipped and "没有生效的已发布政策" in outcome.message
    assert [r.status for r in run_once(store, TODAY, ["rematch_after_imports"])] == ["skipped"]


def test_rematch_is_skipped_clearly_without_the_matcher(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "_optional", lambda name: None)
    _batch(store, seen=None)
    outcome = tasks.rematch_after_imports(store, TODAY)
    assert outcome.skipped and "mianshen.matching.runs" in outcome.message


def test_a_failing_job_does_not_stop_the_others(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(engine: Engine, today: dt.date) -> tasks.Outcome:
        raise RuntimeError("磁盘已满")

    monkeypatch.setitem(tasks.JOBS, "expire_policies", boom)
    monkeypatch.setenv("MIANSHEN_OUTBOX_LOG", "-")
    results = {r.name: r for r in run_once(store, TODAY)}
    assert results["expire_policies"].status == "failed" and "磁盘已满" in results["expire_policies"].message
    assert results["send_outbox"].status == "ok" and results["reminders"].status == "ok"
    assert list(results) == list(tasks.JOBS)
