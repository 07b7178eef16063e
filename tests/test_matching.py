"""Match runs on a store (SQLite, and PostgreSQL when configured) with a columnar library: cases for
every eligible pair, nothing twice, incremental re-evaluation of only what changed, changes
between runs, the same results as the evaluator, and totals equal to the library's to the fen."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, select, text

from mianshen.audit.batches import verify_batches
from mianshen.matching import library as lib
from mianshen.matching.read import Pair, pairs
from mianshen.matching.runs import benefit_period, run_match
from mianshen.profiles.current import read_profile
from mianshen.profiles.demo_data import DemoSummary
from mianshen.profiles.imports import import_file
from mianshen.rules.evaluate import evaluate
from mianshen.rules.loader import SHIPPED, load_policy
from mianshen.store.schema import audit_log, cases, match_changes, match_policies, match_runs

from . import matching_fixtures as fx
from .matching_fixtures import ACTIVE, AS_OF, N, count, publish

demo, populated = fx.demo, fx.populated  # fixtures shared with test_matching_publish.py

# 条件类 policies with money to pay; 暂难数据化类 matches invite an application, amount-0 ones are shown only
PAYING = ("wengang-fanhuan", "kuogang-buzhu")


def library(engine: Engine) -> dict[tuple[str, int, str], Pair]:
    with engine.connect() as conn:
        return {(p.policy_id, p.version, p.uscc): p for p in pairs(conn)}


def content(found: dict[tuple[str, int, str], Pair]) -> dict[tuple[str, int, str], tuple[object, ...]]:
    return {k: (p.status, p.amount, p.unknown) for k, p in found.items()}


def test_first_run_opens_a_case_for_every_eligible_pair(populated: Engine, demo: DemoSummary) -> None:
    publish(populated)
    report = run_match(populated, AS_OF)
    assert report.scope == "full" and report.evaluated == ACTIVE * N
    found = library(populated)
    assert len(found) == ACTIVE * N
    payable = {(p.policy_id, p.uscc) for p in found.values() if p.status == "eligible" and p.policy_id in PAYING}
    assert payable and report.cases_created == len(payable) == count(populated, cases)
    for pid in ("chuangye-kaiye-butie", "xiaowei-liushui-lianfei"):  # shown, never paid by a case
        assert any(p.status == "eligible" and p.policy_id == pid for p in found.values())
    with populated.connect() as conn:
        opened = {(r.policy_id, r.uscc) for r in conn.execute(select(cases))}
        run = conn.execute(select(match_runs)).one()
        actions = [r.action for r in conn.execute(select(audit_log.c.action))]
        hashes = {r.uscc: r.data_hash for r in conn.execute(select(cases))}
        assert verify_batches(conn) == []
    assert payable == opened
    assert count(populated, match_changes) == report.changed == 0  # a first run is the baseline
    assert (run.evaluated, run.cases_created, run.last_batch_id) == (ACTIVE * N, len(payable), len(demo.files))
    # one audit row per policy's batch of cases (its hash tree covers them), not one per case
    assert actions.count("case.open_batch") == len(PAYING) and actions.count("match.run") == 1
    assert all(h and len(h) == 64 for h in hashes.values())


def test_running_again_creates_nothing(populated: Engine) -> None:
    publish(populated)
    run_match(populated, AS_OF)
    before, n_cases = content(library(populated)), count(populated, cases)
    again = run_match(populated, AS_OF)
    assert (again.scope, again.evaluated, again.changed, again.cases_created) == ("incremental", 0, 0, 0)
    full = run_match(populated, AS_OF, full=True)
    assert (full.evaluated, full.changed, full.cases_created, full.requests_opened) == (ACTIVE * N, 0, 0, 0)
    assert content(library(populated)) == before and count(populated, cases) == n_cases


def _flip_dishonesty(
    demo: DemoSummary, usccs: set[str] | None, tmp_path: Path, name: str, every: int = 0, flip: bool = True
) -> int:
    """A file of 严重失信 for some enterprises with the value flipped (or as it was); returns its rows."""
    with (demo.out / "credit.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    column = rows[0].index("是否列入严重失信主体名单")
    chosen = [r for r in rows[1:] if (usccs is not None and r[0] in usccs)]
    if every:
        chosen = [r for r in rows[1::every] if r[column] in ("是", "否")]
    for r in chosen if flip else []:
        r[column] = {"是": "否", "否": "是"}.get(r[column], "是")
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([rows[0], *chosen])
    return len(chosen)


def test_changing_one_enterprise_re_evaluates_only_it(populated: Engine, demo: DemoSummary, tmp_path: Path) -> None:
    publish(populated)
    run_match(populated, AS_OF)
    before = library(populated)
    uscc = next(p.uscc for p in before.values() if p.policy_id == "wengang-fanhuan" and p.status == "eligible")
    _flip_dishonesty(demo, {uscc}, tmp_path, "credit-fix.csv")  # newly listed: loses 稳岗返还
    assert import_file(populated, "credit", tmp_path / "credit-fix.csv", AS_OF).accepted == 1
    report = run_match(populated, AS_OF)
    assert report.scope == "incremental" and report.evaluated == ACTIVE * 1 and report.enterprises == 1
    after = library(populated)
    assert content({k: v for k, v in after.items() if k[2] != uscc}) == content(
        {k: v for k, v in before.items() if k[2] != uscc}
    )
    assert after[("wengang-fanhuan", 1, uscc)].status == "ineligible"
    assert [(i["uscc"], i["state"], i["new_status"]) for i in report.review] == [(uscc, "matched", "ineligible")]
    assert count(populated, cases, cases.c.uscc == uscc, cases.c.policy_id == "wengang-fanhuan") == 1  # kept
    with populated.connect() as conn:
        changes = conn.execute(select(match_changes).where(match_changes.c.run_id == report.run_id)).all()
    assert [
        (c.uscc, c.old_status, c.new_status, c.policy_version) for c in changes if c.policy_id == "wengang-fanhuan"
    ] == [(uscc, "eligible", "ineligible", 1)]


def test_a_full_run_hides_every_older_layer(populated: Engine, demo: DemoSummary, tmp_path: Path) -> None:
    """A full run's view is its own layer: the layers of earlier runs are neither read nor kept
    (before, a full run after incremental ones still unioned every one of them — a province's
    view grew by a layer a run and was never rewritten)."""
    publish(populated)
    run_match(populated, AS_OF)
    uscc = next(p.uscc for p in library(populated).values() if p.status == "eligible")
    _flip_dishonesty(demo, {uscc}, tmp_path, "credit-fix.csv")
    import_file(populated, "credit", tmp_path / "credit-fix.csv", AS_OF)
    assert run_match(populated, AS_OF).scope == "incremental"
    with populated.connect() as conn:
        assert len(lib.latest(conn).layers) == 2  # type: ignore[union-attr]
    before = content(library(populated))
    assert run_match(populated, AS_OF, full=True).scope == "full"
    with populated.connect() as conn:
        view = lib.latest(conn)
    assert view is not None and len(view.layers) == 1 and view.layers[0].complete
    assert content(library(populated)) == before


def test_a_policy_published_later_is_matched_for_everyone_alone(populated: Engine) -> None:
    publish(populated, "wengang-fanhuan", "xiaowei-liushui-lianfei", "chuangye-kaiye-butie")
    first = run_match(populated, AS_OF)
    assert first.evaluated == (ACTIVE - 1) * N
    before = content(library(populated))
    publish(populated, "kuogang-buzhu")
    later = run_match(populated, AS_OF)
    assert later.scope == "incremental" and later.evaluated == N
    assert {t.policy_id for t in later.policies if t.evaluated} == {"kuogang-buzhu"}
    after = library(populated)
    assert content({k: v for k, v in after.items() if k[0] != "kuogang-buzhu"}) == before
    eligible = [p for p in after.values() if p.policy_id == "kuogang-buzhu" and p.status == "eligible"]
    assert count(populated, cases, cases.c.policy_id == "kuogang-buzhu") == len(eligible) == later.cases_created > 0


def test_results_equal_the_python_evaluator(populated: Engine) -> None:
    publish(populated)
    run_match(populated, AS_OF)
    policies = {p.id: p for p in (load_policy(f) for f in sorted((SHIPPED).glob("*.yaml")))}
    found = library(populated)
    with populated.connect() as conn:
        profiles = {u: read_profile(conn, u, AS_OF).to_profile() for u in {k[2] for k in found}}
    assert len(found) == ACTIVE * N
    for (pid, _, uscc), pair in found.items():
        result = evaluate(policies[pid], profiles[uscc], AS_OF)
        amount = None if result.amount is None else Decimal(result.amount).quantize(Decimal("0.01"))
        assert (pair.status, pair.amount) == (result.status, amount), (pid, uscc)
        assert pair.unknown == (tuple(result.unknown) if result.status == "unknown" else ())


def test_period_is_the_validity_in_years() -> None:
    periods = {p.stem: benefit_period(load_policy(p)) for p in sorted((SHIPPED).glob("*.yaml"))}
    assert periods["kuogang-buzhu"] == "2025"
    assert periods["xiaowei-liushui-lianfei"] == "2023-2027"
    assert periods["chuangye-kaiye-butie"] == "2023-"


def _sums(found: dict[tuple[str, int, str], Pair]) -> dict[str, tuple[int, int, int, Decimal]]:
    out = {}
    for pid in {k[0] for k in found}:
        mine = [p for k, p in found.items() if k[0] == pid]
        total = sum((p.amount for p in mine if p.status == "eligible" and p.amount), Decimal(0))
        out[pid] = tuple(sum(p.status == s for p in mine) for s in ("eligible", "ineligible", "unknown")) + (total,)
    return out  # type: ignore[return-value]


def test_report_totals_are_the_library_sums_to_the_fen(populated: Engine, demo: DemoSummary, tmp_path: Path) -> None:
    """After a full run and after incremental ones that change statuses and amounts (严重失信 flipped
    for every 7th enterprise, then back), each policy's totals equal a count of the library."""
    publish(populated)
    for step in range(3):
        if step:  # flipped, then back as they were
            rows = _flip_dishonesty(demo, None, tmp_path, f"credit-{step}.csv", every=7, flip=step == 1)
            assert import_file(populated, "credit", tmp_path / f"credit-{step}.csv", AS_OF).accepted == rows
        report = run_match(populated, AS_OF)
        assert report.scope == ("full" if step == 0 else "incremental")
        assert step == 0 or 0 < report.changed < report.evaluated
        sums = _sums(library(populated))
        with populated.connect() as conn:
            kept = {
                r.policy_id: r
                for r in conn.execute(select(match_policies).where(match_policies.c.run_id == report.run_id))
            }
        for tally in report.policies:
            got = (tally.eligible, tally.ineligible, tally.unknown, tally.total)
            assert got == sums.get(tally.policy_id, (0, 0, 0, Decimal(0))), (step, tally.policy_id)
            row = kept[tally.policy_id]
            assert (row.eligible, row.ineligible, row.unknown, Decimal(row.total)) == got


def test_a_changed_or_removed_case_breaks_its_batch_record(populated: Engine) -> None:
    """One audit row covers a run's cases of a policy through a hash tree: changing the amount of one
    case, or deleting one, is found and the batch named."""
    publish(populated)
    run_match(populated, AS_OF)
    with populated.begin() as conn:
        first, second = conn.execute(select(cases.c.id).order_by(cases.c.id).limit(2)).scalars().all()
        conn.execute(cases.update().where(cases.c.id == first).values(amount="999999.00"))
    with populated.connect() as conn:
        (problem,) = verify_batches(conn)
        assert "案件被改动" in problem.problem
    with populated.begin() as conn:
        conn.execute(cases.update().where(cases.c.id == first).values(amount=None))
        conn.execute(text("DELETE FROM case_events WHERE case_id = :c").bindparams(c=second))
        conn.execute(cases.delete().where(cases.c.id == second))
    with populated.connect() as conn:
        problems = {p.problem for p in verify_batches(conn)}
    assert any("现有" in p for p in problems)  # one case fewer than the record covers
