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
import os
import time
from typing import Any

from sqlalchemy import Connection, Engine, and_, exists, select, text

from mianshen.audit.log import SYSTEM, Actor, record
from mianshen.cases.open import open_case
from mianshen.errors import InputError
from mianshen.matching.inputs import changed_enterprises, input_hash, last_batch, read_profiles
from mianshen.matching.library import missing_fields, write_matches, write_requests
from mianshen.matching.publish import active_versions
from mianshen.matching.summary import PolicyTally, RunReport, fill_totals, review_items
from mianshen.profiles.derive import with_inputs
from mianshen.profiles.quality import inputs_by_condition
from mianshen.rules.ast import Policy
from mianshen.sqlgen.compile import needed_fields
from mianshen.sqlgen.engines import MatchRow, duckdb_connect, register_sqlite_functions
from mianshen.sqlgen.screen import screen
from mianshen.store.schema import cases, match_runs, matches


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
        todo = [(row, p) for row, p in versions if targets[p.id] is None or targets[p.id]]
        fields = {f for _, p in todo for f in needed_fields(p)}
        everyone = any(targets[p.id] is None for _, p in todo)
        wanted: set[str] = {u for _, p in todo for u in (targets[p.id] or ())}
        profiles = read_profiles(conn, as_of, fields, None if everyone else wanted) if todo else {}
        report = RunReport(run_id, as_of, scope, reason, len(profiles), last_batch_id=top)
        results = _evaluate(conn, [p for _, p in todo], profiles, as_of)
        for _, policy in versions:
            tally = PolicyTally(policy.id, policy.version, policy.title, benefit_period(policy))
            if any(p is policy for _, p in todo):
                _apply(conn, run_id, policy, results[policy.id], targets[policy.id], profiles, as_of, tally, report)
            fill_totals(conn, tally)
            report.policies.append(tally)
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


ENGINES = ("duckdb", "store")


def match_engine() -> str:
    """Where the compiled SQL runs: an in-memory DuckDB (default, fastest) or the store's own
    database (`MIANSHEN_MATCH_ENGINE=store`: inside PostgreSQL in production, or SQLite)."""
    engine = os.environ.get("MIANSHEN_MATCH_ENGINE", "duckdb")
    if engine not in ENGINES:
        raise InputError(f"MIANSHEN_MATCH_ENGINE “{engine}”无效，可选：{'、'.join(ENGINES)}")
    return engine


def _evaluate(
    conn: Connection, policies: list[Policy], profiles: dict[str, Any], as_of: dt.date
) -> dict[str, list[MatchRow]]:
    """Compiled SQL over one profile table, one query per policy."""
    if not policies or not profiles:
        return {p.id: [] for p in policies}
    population = [p.to_profile() for p in profiles.values()]
    if match_engine() == "store":
        return _evaluate_in_store(conn, policies, population, as_of)
    duck = duckdb_connect()
    try:
        summaries = screen(duck, "duckdb", policies, population, as_of)
    finally:
        duck.close()
    return {s.policy.id: s.rows for s in summaries}


def _evaluate_in_store(
    conn: Connection, policies: list[Policy], population: list[Any], as_of: dt.date
) -> dict[str, list[MatchRow]]:
    """The same compiled SQL inside the store, in the run's own transaction (the input table is dropped
    before it commits, so nothing of it is left behind)."""
    dialect = {"postgresql": "postgres", "sqlite": "sqlite"}[conn.dialect.name]
    raw = conn.connection.driver_connection
    if dialect == "sqlite":
        register_sqlite_functions(raw)  # type: ignore[arg-type]  # exact decimals, as the compiler expects
    table = "match_input"
    try:
        summaries = screen(raw, dialect, policies, population, as_of, table=table)
    finally:
        cursor = raw.cursor()  # type: ignore[union-attr]
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
    return {s.policy.id: s.rows for s in summaries}


def _apply(
    conn: Connection,
    run_id: int,
    policy: Policy,
    rows: list[MatchRow],
    target: set[str] | None,
    profiles: dict[str, Any],
    as_of: dt.date,
    tally: PolicyTally,
    report: RunReport,
) -> None:
    """Write one version's results: matches and changes, cases, data requests."""
    # Cases are opened only for 条件类 benefits with money to pay: 暂难数据化类 matches mean "likely
    # eligible" (the enterprise is invited to apply, see notify/reminders.py), and an amount of 0
    # is a qualification the department applies itself (e.g. tax relief), shown but not paid.
    if target is not None:
        rows = [r for r in rows if r.id in target]
    reads = tuple(sorted(with_inputs(set(needed_fields(policy)))))
    hashed = [(r, input_hash(profiles[r.id], reads, as_of)) for r in rows]
    written = write_matches(conn, run_id, policy.id, policy.version, hashed, as_of, target)
    tally.evaluated, tally.changed = len(rows), len(written.changes)
    tally.new_eligible = sum(
        1 for c in written.changes if c["new_status"] == "eligible" and c["old_status"] != c["new_status"]
    )
    tally.lost_eligible = len(written.lost)
    have = {
        r.uscc
        for r in conn.execute(
            select(cases.c.uscc).where(cases.c.policy_id == policy.id, cases.c.period == tally.period)
        )
    }
    for row, digest in hashed:
        if row.status == "eligible" and row.id not in have and _pays_out(policy, row):
            opened = open_case(
                conn,
                policy_id=policy.id,
                version=policy.version,
                uscc=row.id,
                period=tally.period,
                origin="match",
                amount=row.amount,
                actor=SYSTEM,
                data_hash=digest,
            )
            tally.cases_created += opened is not None
    inputs = inputs_by_condition(policy)
    asks = {r.id: missing_fields(inputs, r.unknown, profiles[r.id]) for r in rows if r.status == "unknown"}
    known = {r.id for r in rows if r.status != "unknown"}
    write_requests(conn, run_id, policy.id, asks, known, target, written)
    tally.requests_opened, tally.requests_resolved = written.requests_opened, written.requests_resolved
    report.review += review_items(conn, tally.period, written.lost)
    report.evaluated += tally.evaluated
    report.changed += tally.changed
    report.cases_created += tally.cases_created
    report.requests_opened += tally.requests_opened
    report.requests_resolved += tally.requests_resolved


def _pays_out(policy: Policy, row: MatchRow) -> bool:
    return policy.kind == "条件类" and row.amount is not None and row.amount > 0
