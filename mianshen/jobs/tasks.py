"""The jobs themselves. Each takes the store and the day, does what is due, and is idempotent:
it selects only rows still in the state it changes (and changes them conditionally), so a second
run — or a run racing another worker — finds nothing left to do.

Case jobs call the case services directly; the matcher is looked up by name (a seam the tests use).
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from sqlalchemy import Engine, func, select

from mianshen.audit.log import SYSTEM, record
from mianshen.cases import bulk, review, transitions
from mianshen.notify.reminders import run_reminders
from mianshen.notify.sender import send_due
from mianshen.store.schema import import_batches, match_runs, policy_versions


@dataclass(frozen=True)
class Outcome:
    message: str
    changed: int = 0
    skipped: bool = False  # the job could not run (a package it needs is missing), not a failure
    errors: tuple[str, ...] = ()  # per-item failures; the other items were still done


def _optional(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):  # the module itself is missing, not one of its imports
            return None
        raise


def expire_policies(engine: Engine, today: dt.date) -> Outcome:
    """Retire published policy versions whose valid_to has passed (valid through valid_to itself)."""
    with engine.connect() as conn:
        due = conn.execute(
            select(
                policy_versions.c.id, policy_versions.c.policy_id, policy_versions.c.version, policy_versions.c.valid_to
            )
            .where(policy_versions.c.state == "published", policy_versions.c.valid_to < today)
            .order_by(policy_versions.c.id)
        ).all()
    retired = 0
    for row_id, policy_id, version, valid_to in due:
        with engine.begin() as conn:  # one version per transaction: the audit row commits with its change
            done = conn.execute(
                policy_versions.update()
                .where(policy_versions.c.id == row_id, policy_versions.c.state == "published")
                .values(state="retired")
            ).rowcount
            if done == 1:
                reason = f"有效期至 {valid_to} 已届满"
                before = {"version": version, "state": "published"}
                record(
                    conn,
                    SYSTEM,
                    "policy.retire",
                    "policy",
                    policy_id,
                    before,
                    {**before, "state": "retired", "reason": reason},
                )
                retired += 1
    return Outcome(f"退役政策版本 {retired} 个", retired)


def _per_case(engine: Engine, ids: list[int], act: Callable[[Any, int], Any]) -> tuple[int, tuple[str, ...]]:
    """Run `act` on each case in its own transaction: one case that fails does not hold up the rest."""
    done, errors = 0, []
    for case_id in ids:
        try:
            with engine.begin() as conn:
                act(conn, case_id)
            done += 1
        except Exception as exc:  # reported per case; the job goes on with the next one
            errors.append(f"案件 {case_id}：{exc}")
    return done, tuple(errors)


def close_publicity(engine: Engine, today: dt.date) -> Outcome:
    """Cases whose 公示 ended (publicity_to < today) are decided: approved, or budget_wait / blocked."""
    with engine.connect() as conn:
        ids = review.publicity_due(conn, today)
    done, errors = _per_case(engine, ids, lambda conn, cid: review.decide(conn, cid, SYSTEM, today))
    return Outcome(f"公示期满处理案件 {done} 件", done, errors=errors)


def expire_confirmations(engine: Engine, today: dt.date) -> Outcome:
    """Cases `notified` whose confirmation deadline has passed become `expired` (逾期未确认)."""
    with engine.connect() as conn:
        ids = review.confirmations_due(conn, today)
    done, errors = _per_case(engine, ids, lambda conn, cid: transitions.expire(conn, cid, SYSTEM))
    return Outcome(f"逾期未确认案件 {done} 件", done, errors=errors)


def reminders(engine: Engine, today: dt.date) -> Outcome:
    report = run_reminders(engine, today)
    return Outcome(report.summary(), report.confirmations + report.data_requests + report.invitations)


def send_outbox(engine: Engine, today: dt.date) -> Outcome:
    report = send_due(engine)  # due-ness is by the clock, not by `today`: retries are minutes apart
    return Outcome(report.summary(), report.sent, errors=tuple(report.errors))


def publish_events(engine: Engine, today: dt.date) -> Outcome:
    """Events for department systems from what the audit log recorded since the last pass."""
    from mianshen.integration.events import publish

    made = publish(engine)
    return Outcome(f"生成对接事件 {made} 个", made)


def deliver_webhooks(engine: Engine, today: dt.date) -> Outcome:
    """Signed posts to the subscribed department systems (retries by elapsed time, not `today`)."""
    from mianshen.integration.delivery import deliver_due

    report = deliver_due(engine)
    return Outcome(report.summary(), report.sent, errors=tuple(report.errors))


RUN_FUNCTIONS = ("run_match", "run_incremental", "incremental_match")  # run_match(engine, as_of) plans the scope itself


def rematch_after_imports(engine: Engine, today: dt.date) -> Outcome:
    """Re-match when an import batch is newer than what the last finished match run saw."""
    with engine.connect() as conn:
        newest = conn.execute(select(func.max(import_batches.c.id))).scalar()
        seen = conn.execute(
            select(match_runs.c.last_batch_id)
            .where(match_runs.c.finished_at.is_not(None))
            .order_by(match_runs.c.id.desc())
            .limit(1)
        ).scalar()
    if newest is None or (seen is not None and newest <= seen):
        return Outcome("没有新的导入批次，无需重新匹配")
    runs = _optional("mianshen.matching.runs")
    run = next((getattr(runs, n) for n in RUN_FUNCTIONS if runs is not None and hasattr(runs, n)), None)
    if run is None:
        return Outcome(
            f"有新的导入批次（至 {newest}），但匹配模块未提供 mianshen.matching.runs 的增量匹配函数，跳过", skipped=True
        )
    try:
        result = _call_run(run, engine, today)
    except getattr(runs, "NoPolicyInForce", ()) as exc:  # data came in before any policy was published
        return Outcome(f"有新的导入批次（至 {newest}），但{exc}", skipped=True)
    changed = int(getattr(result, "changed", 0) or 0)
    reason = getattr(result, "reason", "") or "已重新匹配"
    return Outcome(f"导入批次 {seen or 0} → {newest}：{reason}，结果变化 {changed} 项", changed)


def _call_run(run: Callable[..., Any], engine: Engine, today: dt.date) -> Any:
    """Call the matcher's run function with whichever of (engine | conn, as_of) it takes."""
    params = inspect.signature(run).parameters
    kwargs: dict[str, Any] = {}
    for name in ("as_of", "today", "on"):
        if name in params:
            kwargs[name] = today
            break
    if "scope" in params:
        kwargs["scope"] = "incremental"
    first = next(iter(params), "")
    if first in ("conn", "connection"):
        with engine.begin() as conn:
            return run(conn, **kwargs)
    return run(engine, **kwargs)


def resume_bulk(engine: Engine, today: dt.date) -> Outcome:
    """Finish bulk jobs left queued or stopped mid-way (a server restarted while one ran)."""
    ran = bulk.resume_stale(engine)
    return Outcome(f"续办批量任务 {ran} 个" if ran else "没有待续办的批量任务", ran)


def anchor_audit(engine: Engine, today: dt.date) -> Outcome:
    """A keyed checkpoint of the audit chain's head, every INTERVAL while the log grows (M8)."""
    from mianshen.audit.anchors import INTERVAL, checkpoint

    with engine.begin() as conn:
        made = checkpoint(conn, every=INTERVAL)
    return Outcome(f"写入审计检查点 {made}" if made else "审计链无新记录或未到检查点间隔", int(made is not None))


def supervise(engine: Engine, today: dt.date) -> Outcome:
    """督办: raise items for stages overdue beyond the threshold and for data requests past their
    reply deadline; open items past their own deadline become 逾期."""
    from mianshen.supervision import items

    raised = items.raise_due(engine, today)
    late = items.mark_overdue(engine, today)
    return Outcome(f"新交办督办事项 {raised} 项，转为逾期 {late} 项", raised + late)


def green_channel(engine: Engine, today: dt.date) -> Outcome:
    """免审直达 (trust/routing.py): confirmed green-channel cases are re-checked and announced by the platform."""
    from mianshen.trust import routing

    with engine.connect() as conn:
        ids = routing.green_due(conn)
    done, errors = _per_case(engine, ids, lambda conn, cid: routing.run_green(conn, cid, today))
    return Outcome(f"免审直达进入公示 {done} 件", done, errors=errors)


def archive_cases(engine: Engine, today: dt.date) -> Outcome:
    """电子档案: seal a package for every ended case (trust/archive.py); rotate seal keys near their end."""
    from mianshen.trust import archive, keys

    with engine.begin() as conn:
        rotated = keys.rotate_expiring(conn)
        ids = archive.due(conn)
    done, errors = _per_case(engine, ids, lambda conn, cid: archive.archive_case(conn, cid))
    note = f"，轮换印章密钥 {len(rotated)} 个" if rotated else ""
    return Outcome(f"归档已办结案件 {done} 件{note}", done + len(rotated), errors=errors)


JOBS: dict[str, Callable[[Engine, dt.date], Outcome]] = {
    # order matters within one pass: matching and case changes enqueue messages the last job sends
    "expire_policies": expire_policies,
    "rematch_after_imports": rematch_after_imports,
    "expire_confirmations": expire_confirmations,
    "green_channel": green_channel,
    "close_publicity": close_publicity,
    "reminders": reminders,
    "resume_bulk": resume_bulk,
    "supervise": supervise,
    "archive_cases": archive_cases,
    "send_outbox": send_outbox,
    "publish_events": publish_events,
    "deliver_webhooks": deliver_webhooks,
    "anchor_audit": anchor_audit,  # last: anchors what this pass recorded
}
