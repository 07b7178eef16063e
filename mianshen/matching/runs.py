"""A match run (匹配): every active policy version over the enterprises whose result may have moved.

Scope rule. A run is *full* (every enterprise × every active version) when asked (`--full`, or
`--policy`), when there is no earlier unfiltered run, or when the as-of date differs from that
run's (relative dates, ages and parameters move with the date, so every result may). Otherwise it
is *incremental*: (a) enterprises with observations in import batches newer than the previous
run's `last_batch_id`, for every active version, and (b) every enterprise for active versions that
have no match rows yet (published — or come into force — since the previous run).

The whole run is one transaction: the match library, the cases it opens, the data requests and
the audit rows commit together or not at all, and the next run starts from a consistent state.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, and_, exists, select, text

from mianshen.audit.log import SYSTEM, Actor, record
from mianshen.cases.open import NewCase, open_cases
from mianshen.matching.evaluation import ENGINES, evaluate_into_store, match_engine
from mianshen.matching.inputs import ProfileFeed, changed_enterprises, last_batch, stream_profiles
from mianshen.matching.library import cases_to_open, write_matches
from mianshen.matching.publish import active_versions
from mianshen.matching.requests import write_requests
from mianshen.matching.staging import drop_staging
from mianshen.matching.summary import PolicyTally, RunReport, fill_totals, review_items
from mianshen.profiles.quality import inputs_by_condition
from mianshen.rules.ast import Policy
from mianshen.sqlgen.compile import needed_fields
from mianshen.store.schema import match_runs, matches

__all__ = ["ENGINES", "benefit_period", "match_engine", "plan", "run_match"]


def benefit_period(policy: Policy) -> str:
    """The period a case is for: the policy's validity in years ("2025", "2023-2027", "2023-").

    One case per enterprise per policy per validity window, whatever the version: republishing a
    policy (a corrected text) must never open the same benefit again.
    """
    start, end = policy.valid_from.year, policy.valid_to.year if policy.valid_to else None
    if end == start:
        return str(start)
    return f"{start}-{end}" if end is not None else f"{start}-"


def _previous(conn: Connection) -> Any:
    """The last finished run over all policies: the base an incremental run starts from."""
    return conn.execute(
        select(match_runs)
        .where(match_runs.c.policy_filter.is_(None), match_runs.c.finished_at.is_not(None))
        .order_by(match_runs.c.id.desc())
        .limit(1)
    ).first()


def _never_matched(conn: Connection, policy: Policy) -> bool:
    found = exists().where(and_(matches.c.policy_id == policy.id, matches.c.policy_version == policy.version))
    return not conn.execute(select(found)).scalar()


def plan(
    conn: Connection, as_of: dt.date, versions: list[tuple[Any, Policy]], policy_id: str | None, full: bool
) -> tuple[str, str, dict[str, set[str] | None]]:
    """(scope, reason, policy id → enterprises to evaluate; None = all)."""
    prev = _previous(conn)
    reason = ""
    if full:
        reason = "按要求全量匹配"
    elif policy_id is not None:
        reason = f"指定政策 {policy_id}，对全部企业匹配"
    elif prev is None or prev.last_batch_id is None:
        reason = "首次匹配，全量"
    elif prev.as_of != as_of:
        reason = f"评估日由 {prev.as_of} 改为 {as_of}，全量匹配"
    if reason:
        return "full", reason, {p.id: None for _, p in versions}
    changed = changed_enterprises(conn, prev.last_batch_id)
    targets: dict[str, set[str] | None] = {}
    for _, p in versions:
        targets[p.id] = None if _never_matched(conn, p) else changed
    new = [pid for pid, t in targets.items() if t is None]
    reason = f"增量：批次 {prev.last_batch_id} 之后数据有变化的企业 {len(changed)} 家"
    if new:
        reason += f"；新发布或新生效的政策 {'、'.join(new)} 对全部企业匹配"
    return "incremental", reason, targets


def run_match(
    engine: Engine,
    as_of: dt.date,
    policy_id: str | None = None,
    full: bool = False,
    actor: Actor = SYSTEM,
) -> RunReport:
    started = time.monotonic()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(727114)"))  # one match run at a time
        versions = active_versions(conn, as_of, policy_id)
        scope, reason, targets = plan(conn, as_of, versions, policy_id, full)
        top = last_batch(conn)
        run_id = int(
            conn.execute(
                match_runs.insert().values(
                    as_of=as_of,
                    scope=scope,
                    policy_filter=policy_id,
                    last_batch_id=top,
                    evaluated=0,
                    changed=0,
                    cases_created=0,
                    data_requests=0,
                    started_at=dt.datetime.now(dt.UTC),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        todo = [p for _, p in versions if targets[p.id] is None or targets[p.id]]
        fields = {f for p in todo for f in needed_fields(p)}
        everyone = any(targets[p.id] is None for p in todo)
        wanted: set[str] = {u for p in todo for u in (targets[p.id] or ())}
        feed = ProfileFeed(stream_profiles(conn, as_of, fields, None if everyone else wanted) if todo else ())
        limited = {p.id for p in todo if targets[p.id] is not None}
        batch = evaluate_into_store(conn, todo, feed.rows(), as_of, wanted if everyone and limited else None, limited)
        report = RunReport(run_id, as_of, scope, reason, feed.finish(), last_batch_id=top)
        written = write_matches(conn, run_id, as_of, batch.conditions if batch else {})
        opened = _open_cases(conn, versions)
        inputs = {p.id: inputs_by_condition(p) for p in todo}
        asked, answered = write_requests(conn, run_id, inputs, feed.present)
        for _, policy in versions:
            tally = PolicyTally(policy.id, policy.version, policy.title, benefit_period(policy))
            tally.evaluated, tally.changed = written.evaluated[policy.id], written.changed[policy.id]
            tally.new_eligible = written.new_eligible[policy.id]
            lost = [c for c in written.lost if c["policy_id"] == policy.id]
            tally.lost_eligible, tally.cases_created = len(lost), opened.get(policy.id, 0)
            tally.requests_opened, tally.requests_resolved = asked[policy.id], answered[policy.id]
            report.review += review_items(conn, tally.period, lost)
            report.add(tally)
        fill_totals(conn, report.policies)
        drop_staging(conn)
        report.seconds = time.monotonic() - started
        conn.execute(
            match_runs.update()
            .where(match_runs.c.id == run_id)
            .values(
                evaluated=report.evaluated,
                changed=report.changed,
                cases_created=report.cases_created,
                data_requests=report.requests_opened,
                finished_at=dt.datetime.now(dt.UTC),
            )
        )
        record(conn, actor, "match.run", "match_run", run_id, None, report.counts())
    return report


def _open_cases(conn: Connection, versions: list[tuple[Any, Policy]]) -> dict[str, int]:
    """Cases for the pairs this run wrote as eligible that have none for the policy's period.

    Cases are opened only for 条件类 benefits with money to pay: 暂难数据化类 matches mean "likely
    eligible" (the enterprise is invited to apply, see notify/reminders.py), and an amount of 0
    is a qualification the department applies itself (e.g. tax relief), shown but not paid.
    """
    paying = {p.id: benefit_period(p) for _, p in versions if p.kind == "条件类"}
    new = [
        NewCase(row.policy_id, row.policy_version, row.uscc, paying[row.policy_id], Decimal(row.amount), row.input_hash)
        for row in cases_to_open(conn, paying)
        if row.amount is not None and Decimal(row.amount) > 0
    ]
    by_policy: dict[str, list[NewCase]] = {}
    for case in new:
        by_policy.setdefault(case.policy_id, []).append(case)
    # one policy at a time: cases and audit rows in policy order
    return {pid: open_cases(conn, by_policy[pid], "match", SYSTEM) for pid in sorted(by_policy)}
