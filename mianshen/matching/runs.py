"""A match run (匹配): the active policy versions over the enterprises whose result may have moved,
written as a layer of the columnar match library (library.py), with the store receiving only what
the workflow acts on: changes, cases, data requests and the run's manifest.

Scope rule. A run is *full* (every enterprise × every active version) when asked (`--full`), when
there is no earlier library, when the as-of date differs from the library's (relative dates, ages
and parameters move with the date) or when the library's view has grown too deep. `--policy`
evaluates that policy for everyone. Otherwise it is *incremental*: enterprises with observations
in import batches newer than the library's, for every active version, and every enterprise for a
version the library does not have yet (published, or come into force, since).

The store's part of a run is one transaction; the run's folder is written before it commits and
read only through the manifest it commits, so a run killed at any point leaves the library and
the store as they were (the next run removes the orphaned folder).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select, text

from mianshen.audit.log import SYSTEM, Actor, record
from mianshen.cases.exclusive import settle_run
from mianshen.clock import now as platform_now
from mianshen.errors import InputError
from mianshen.matching import library as lib
from mianshen.matching.changes import compare, write_changes
from mianshen.matching.evaluation import run_duckdb, write_layer, write_profiles
from mianshen.matching.outcomes import open_cases, totals_after, write_totals
from mianshen.matching.plan import Plan, plan
from mianshen.matching.publish import active_versions
from mianshen.matching.requests import RequestCounts, needs_of, sync, waiting_after, write_needs
from mianshen.matching.summary import PolicyTally, RunReport, review_items
from mianshen.matching.view import remember
from mianshen.profiles.snapshot import build, last_batch
from mianshen.rules.ast import Policy
from mianshen.rules.periods import benefit_period
from mianshen.sqlgen.compile import needed_fields
from mianshen.store.db import refresh_statistics
from mianshen.store.schema import match_runs

__all__ = ["NoPolicyInForce", "benefit_period", "run_match"]


STEPS = ("画像快照与评估", "比较上次结果、立案与数据请求", "提交")


class NoPolicyInForce(InputError):
    """No published policy (other than list policies) is in force on the date: nothing to match."""


ANALYZE_AFTER = 10_000  # cases opened by a run before the store's statistics are refreshed


def run_match(
    engine: Engine,
    as_of: dt.date,
    policy_id: str | None = None,
    full: bool = False,
    actor: Actor = SYSTEM,
    layer_from: Path | None = None,
    progress: Callable[[int, str], None] | None = None,
) -> RunReport:
    """`layer_from`: a folder `match-spark` wrote (a library layer of every active policy over every
    enterprise) taken as this run's result instead of evaluating here. `progress(step, label)` as
    each of the STEPS starts."""
    said = progress or (lambda _step, _label: None)
    started = time.monotonic()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(727114)"))  # one match run at a time
        active = [p for _, p in active_versions(conn, as_of) if p.kind != "名单类"]
        if not active:
            raise NoPolicyInForce(
                f"{as_of.isoformat()} 没有生效的已发布政策（名单类政策不参与匹配），无从匹配："
                "请先发布政策，或检查评估日期是否在政策有效期内"
            )
        previous = lib.latest(conn)
        top = last_batch(conn)
        run_id = _start(conn, as_of, policy_id, top)
        folder = lib.new_folder(conn, run_id)
        duck = run_duckdb(folder / "spill")
        try:
            if layer_from is not None:
                said(0, STEPS[0])
                todo, produced = _external(conn, folder, layer_from, as_of, active, top)
            else:
                said(0, STEPS[0])
                todo = plan(conn, duck, previous, as_of, active, policy_id, full, top)
                produced = _produce(conn, duck, folder, as_of, top, todo)
            said(1, STEPS[1])
            manifest, report = _evaluate(conn, duck, folder, run_id, as_of, active, previous, todo, produced)
            said(2, STEPS[2])
            _finish(conn, run_id, manifest, report, actor)
            committing = time.monotonic()
        finally:
            duck.close()
            shutil.rmtree(folder / "spill", ignore_errors=True)
    report.stages["commit"] = time.monotonic() - committing
    report.seconds = time.monotonic() - started
    with engine.begin() as conn:
        lib.clean(conn)  # after the commit: a failure here leaves only folders nothing reads
    if report.cases_created >= ANALYZE_AFTER:
        # fresh statistics (about 0.06 s per 100,000 cases on SQLite), so the queue's pages are
        # planned on its indexes at once rather than after autovacuum's next round
        refresh_statistics(engine, "cases")
    return report


def _start(conn: Connection, as_of: dt.date, policy_id: str | None, top: int) -> int:
    return int(
        conn.execute(
            match_runs.insert().values(
                as_of=as_of,
                scope="full",
                policy_filter=policy_id,
                last_batch_id=top,
                evaluated=0,
                changed=0,
                cases_created=0,
                data_requests=0,
                started_at=platform_now(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    )


@dataclass
class Produced:
    """A run's new layers and what it read to make them."""

    layers: list[lib.Layer]
    written: list[Path]
    enterprises: int
    last_batch: int
    clock: Stopwatch


def _produce(conn: Connection, duck: Any, folder: Path, as_of: dt.date, top: int, todo: Plan) -> Produced:
    """The snapshot, then a layer of the policies evaluated for everyone and one of those evaluated
    for the changed enterprises only."""
    root = lib.root(conn)
    clock = Stopwatch()
    fields = {f for p in todo.everyone + todo.changed_only for f in needed_fields(p)}
    snapshot = build(conn, duck, as_of, fields, scope=None if todo.everyone else todo.changed, upto=top)
    clock.lap("snapshot")
    out = Produced([], [], snapshot.enterprises, top, clock)
    scoped = "profiles"
    if todo.changed is not None and todo.everyone:
        duck.execute(
            "CREATE OR REPLACE TEMP VIEW scoped AS SELECT * FROM profiles WHERE id IN (SELECT id FROM changed)"
        )
        scoped = "scoped"
    for number, (chosen, source) in enumerate(((todo.everyone, "profiles"), (todo.changed_only, scoped))):
        if not chosen:
            continue
        path = folder / f"profiles-{number}.parquet"
        write_profiles(duck, source, path)
        rows = int(duck.execute(f"SELECT count(*) FROM {source}").fetchone()[0])
        # the layer of the policies evaluated for everyone reads the whole snapshot
        profiles = str(path.relative_to(root))
        layer = write_layer(duck, root, folder, number, chosen, as_of, profiles, rows, source, complete=number == 0)
        out.layers.append(layer)
        out.written += [path, *{root / c.file for c in layer.policies}]
    clock.lap("evaluate")
    return out


def _external(
    conn: Connection, folder: Path, source: Path, as_of: dt.date, active: list[Policy], top: int
) -> tuple[Plan, Produced]:
    """A layer written elsewhere (Spark), checked against the store's active versions and date and
    copied into the run's folder."""
    clock = Stopwatch()
    described = lib.read_layer_meta(source)
    layer: lib.Layer = described["layer"]
    if described["as_of"] != as_of.isoformat():
        raise InputError(f"{source} 的评估日为 {described['as_of']}，与本次匹配的评估日 {as_of} 不同")
    theirs = {(c.policy_id, c.version) for c in layer.policies}
    ours = {(p.id, p.version) for p in active}
    if theirs != ours:
        differ = "、".join(f"{pid} v{v}" for pid, v in sorted(theirs ^ ours))
        raise InputError(f"{source} 中的政策版本与政策库现行版本不一致（{differ}）；请用现行政策重新运行 match-spark")
    batch = described.get("last_batch")
    if batch is None or batch > top:
        raise InputError(f"{source} 不是由本画像库导出的快照匹配而来（导入批次 {batch}，画像库最新 {top}）")
    for item in source.iterdir():
        if item.name.endswith(".parquet"):
            shutil.copytree(item, folder / item.name) if item.is_dir() else shutil.copy2(item, folder / item.name)
    prefix = folder.name
    copied = lib.Layer(
        prefix,
        f"{prefix}/{layer.profiles}",
        layer.enterprises,
        tuple(dataclasses.replace(c, file=f"{prefix}/{c.file}") for c in layer.policies),
        layer.presence,
        complete=True,  # the whole exported snapshot
    )
    root = lib.root(conn)
    written = [root / copied.profiles, *{root / c.file for c in copied.policies}]
    clock.lap("evaluate")
    todo = Plan("full", f"导入 Spark 匹配结果 {source}", list(active))
    return todo, Produced([copied], written, layer.enterprises, int(batch), clock)


def _evaluate(
    conn: Connection,
    duck: Any,
    folder: Path,
    run_id: int,
    as_of: dt.date,
    active: list[Policy],
    previous: lib.Manifest | None,
    todo: Plan,
    produced: Produced,
) -> tuple[lib.Manifest, RunReport]:
    root = lib.root(conn)
    clock, layers, written, top = produced.clock, produced.layers, produced.written, produced.last_batch
    manifest = lib.Manifest(run_id, as_of.isoformat(), top, folder.name, {p.id: p.version for p in active})
    manifest.layers = _keep(manifest, layers + (previous.layers if previous else []))
    lib.record_files(manifest, root, duck, written)
    report = RunReport(run_id, as_of, todo.scope, todo.reason, produced.enterprises, last_batch_id=top)
    report.stages = clock.laps
    affected = None if todo.everyone and todo.changed is None else "changed_all"
    if affected is not None:
        _remember(duck, root, affected, manifest, previous, layers)
    clock.lap("manifest")
    periodic = frozenset(p.id for p in active if p.period is not None and p.period.every != "once")
    moved = compare(duck, root, previous, layers, affected, periodic)
    write_changes(conn, duck, run_id)
    clock.lap("changes")
    periods = {p.id: benefit_period(p, as_of) for p in active}
    opened = open_cases(conn, duck, root, run_id, layers, {p.id: p for p in active}, periods)
    settle_run(conn, run_id)  # 同一事项不重复享受 / 就高: refuse the conflicting cases just opened
    duck.execute("DROP TABLE moved")  # every later step reads the library itself
    clock.lap("cases")
    policies = [p for p in active if manifest.chain(p.id)]
    ids = [p.id for p in policies]
    if layers:
        counts = needs_of(duck, manifest, root, policies, affected)
        requests = sync(conn, duck, run_id, affected)
        write_needs(conn, run_id, waiting_after(conn, duck, previous, root, counts, affected, active))
    else:  # nothing evaluated: every request and count stands
        requests = RequestCounts()
        write_needs(conn, run_id, waiting_after(conn, duck, previous, root, {}, affected, active))
    clock.lap("requests")
    totals = totals_after(conn, duck, manifest, previous, root, ids, affected, {p.id for p in todo.everyone})
    clock.lap("totals")
    for policy in active:
        tally = PolicyTally(policy.id, policy.version, policy.title, periods[policy.id])
        tally.eligible, tally.ineligible, tally.unknown, tally.total = totals.get(policy.id, (0, 0, 0, tally.total))
        tally.evaluated, tally.changed = moved.evaluated[policy.id], moved.changed[policy.id]
        tally.new_eligible, tally.cases_created = moved.new_eligible[policy.id], opened.get(policy.id, 0)
        tally.lost_eligible = sum(1 for c in moved.lost if c["policy_id"] == policy.id)
        report.add(tally)
    report.review = review_items(conn, periods, moved.lost)
    report.requests_opened, report.requests_resolved = requests.opened, requests.resolved
    write_totals(conn, run_id, report.policies, {p.id: p.kind for p in active})
    return manifest, report


def _remember(
    duck: Any, root: Path, scope: str, manifest: lib.Manifest, previous: lib.Manifest | None, layers: list[lib.Layer]
) -> None:
    """The enterprises a run looked at (DuckDB table `scope`), and their view before and after the
    run read once each: comparing, data requests and totals all read them, and each read of a view
    scans every layer's files, a province's rows. The run's one new layer holds all of them for
    every policy it evaluated, so the view after is read from it alone."""
    seen = " UNION ".join(f"SELECT id FROM {lib.read_files(root, [layer.profiles])}" for layer in layers)
    duck.execute(f"CREATE OR REPLACE TEMP TABLE {scope} AS {seen or 'SELECT NULL AS id WHERE false'}")
    if previous is not None:
        remember(duck, previous, root, [p for p in previous.active if previous.chain(p)], scope)
    after = [p for p in manifest.active if manifest.chain(p)]
    fresh = dataclasses.replace(manifest, layers=layers, remembered={})
    own = len(layers) == 1 and all(fresh.chain(p) for p in after)
    remember(duck, manifest, root, after, scope, reading=fresh if own else None)


class Stopwatch:
    """Seconds per stage of a run (the report shows them; `bench run` reads them)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.last = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps[name] = self.laps.get(name, 0.0) + now - self.last
        self.last = now


def _keep(manifest: lib.Manifest, layers: list[lib.Layer]) -> list[lib.Layer]:
    """The layers some active policy's current version is still read from."""
    probe = lib.Manifest(manifest.run, manifest.as_of, manifest.last_batch, manifest.folder, manifest.active, layers)
    used = {id(layer) for p in manifest.active for layer, _ in probe.chain(p)}
    return [layer for layer in layers if id(layer) in used]


def _finish(conn: Connection, run_id: int, manifest: lib.Manifest, report: RunReport, actor: Actor) -> None:
    conn.execute(
        match_runs.update()
        .where(match_runs.c.id == run_id)
        .values(
            scope=report.scope,
            last_batch_id=report.last_batch_id,
            evaluated=report.evaluated,
            changed=report.changed,
            cases_created=report.cases_created,
            data_requests=report.requests_opened,
            library=manifest.folder,
            manifest=manifest.to_json(),
            enterprises=report.enterprises,
            finished_at=platform_now(),
        )
    )
    record(conn, actor, "match.run", "match_run", run_id, None, report.counts())


def latest_run(conn: Connection) -> Any:
    return conn.execute(select(match_runs).order_by(match_runs.c.id.desc()).limit(1)).first()
