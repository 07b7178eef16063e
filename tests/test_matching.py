"""Match runs on a store (SQLite, and PostgreSQL when configured): cases for every eligible pair,
nothing twice, incremental re-evaluation, data requests, and the same results as the evaluator."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, select

from mianshen.matching.runs import benefit_period, run_match
from mianshen.profiles.current import read_profile
from mianshen.profiles.demo_data import DemoSummary
from mianshen.profiles.imports import import_file
from mianshen.rules.evaluate import evaluate
from mianshen.rules.loader import load_policy
from mianshen.store.schema import audit_log, cases, data_requests, match_changes, match_runs, matches

from . import matching_fixtures as fx
from .conftest import ROOT
from .matching_fixtures import ACTIVE, AS_OF, N, count, publish

demo, populated = fx.demo, fx.populated  # fixtures shared with test_matching_publish.py


def snapshot(engine: Engine) -> dict[tuple[str, int, str], tuple[object, ...]]:
    with engine.connect() as conn:
        return {
            (r.policy_id, r.policy_version, r.uscc): (r.status, r.amount, r.input_hash, r.run_id, r.updated_at)
            for r in conn.execute(select(matches))
        }


# 条件类 policies with money to pay; 暂难数据化类 matches invite an application, amount-0 ones are shown only
PAYING = ("wengang-fanhuan", "kuogang-buzhu")
payable = (matches.c.status == "eligible") & matches.c.policy_id.in_(PAYING)


def test_first_run_opens_a_case_for_every_eligible_pair(populated: Engine, demo: DemoSummary) -> None:
    publish(populated)
    report = run_match(populated, AS_OF)
    assert report.scope == "full" and report.evaluated == ACTIVE * N
    eligible = count(populated, matches, payable)
    assert eligible > 0 and report.cases_created == eligible == count(populated, cases)
    assert count(populated, matches, matches.c.status == "eligible", matches.c.policy_id == "chuangye-kaiye-butie") > 0
    assert (
        count(populated, matches, matches.c.status == "eligible", matches.c.policy_id == "xiaowei-liushui-lianfei") > 0
    )
    with populated.connect() as conn:
        pairs = {(r.policy_id, r.uscc) for r in conn.execute(select(matches).where(payable))}
        opened = {(r.policy_id, r.uscc) for r in conn.execute(select(cases))}
        run = conn.execute(select(match_runs)).one()
        actions = [r.action for r in conn.execute(select(audit_log.c.action))]
    assert pairs == opened
    assert count(populated, match_changes) == report.changed == ACTIVE * N  # every pair is new
    assert (run.evaluated, run.cases_created, run.last_batch_id) == (ACTIVE * N, eligible, len(demo.files))
    assert actions.count("case.open") == eligible and actions.count("match.run") == 1


def test_running_again_creates_nothing(populated: Engine) -> None:
    publish(populated)
    run_match(populated, AS_OF)
    before, n_cases = snapshot(populated), count(populated, cases)
    again = run_match(populated, AS_OF)
    assert (again.scope, again.evaluated, again.changed, again.cases_created) == ("incremental", 0, 0, 0)
    full = run_match(populated, AS_OF, full=True)
    assert (full.evaluated, full.changed, full.cases_created, full.requests_opened) == (ACTIVE * N, 0, 0, 0)
    assert snapshot(populated) == before and count(populated, cases) == n_cases


def test_changing_one_enterprise_re_evaluates_only_it(populated: Engine, demo: DemoSummary, tmp_path: Path) -> None:
    publish(populated)
    run_match(populated, AS_OF)
    with populated.connect() as conn:
        uscc = (
            conn.execute(
                select(matches.c.uscc).where(matches.c.policy_id == "wengang-fanhuan", matches.c.status == "eligible")
            )
            .scalars()
            .first()
        )
    assert uscc is not None
    with (demo.out / "credit.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    row = next(r for r in rows if r[0] == uscc)
    row[rows[0].index("是否列入严重失信主体名单")] = "是"  # newly listed: loses 稳岗返还
    one = tmp_path / "credit-fix.csv"
    with one.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([rows[0], row])
    before = snapshot(populated)
    assert import_file(populated, "credit", one, AS_OF).accepted == 1
    report = run_match(populated, AS_OF)
    assert report.scope == "incremental" and report.evaluated == ACTIVE * 1 and report.enterprises == 1
    after = snapshot(populated)
    assert {k: v for k, v in after.items() if k[2] != uscc} == {k: v for k, v in before.items() if k[2] != uscc}
    assert after[("wengang-fanhuan", 1, uscc)][0] == "ineligible"
    assert [(i["uscc"], i["state"], i["new_status"]) for i in report.review] == [(uscc, "matched", "ineligible")]
    assert count(populated, cases, cases.c.uscc == uscc, cases.c.policy_id == "wengang-fanhuan") == 1  # kept
    with populated.connect() as conn:
        changes = conn.execute(select(match_changes).where(match_changes.c.run_id == report.run_id)).all()
    assert [(c.uscc, c.old_status, c.new_status) for c in changes if c.policy_id == "wengang-fanhuan"] == [
        (uscc, "eligible", "ineligible")
    ]


def test_a_policy_published_later_is_matched_for_everyone_alone(populated: Engine) -> None:
    publish(populated, "wengang-fanhuan", "xiaowei-liushui-lianfei", "chuangye-kaiye-butie")
    first = run_match(populated, AS_OF)
    assert first.evaluated == (ACTIVE - 1) * N
    before = snapshot(populated)
    publish(populated, "kuogang-buzhu")
    later = run_match(populated, AS_OF)
    assert later.scope == "incremental" and later.evaluated == N
    assert {t.policy_id for t in later.policies if t.evaluated} == {"kuogang-buzhu"}
    after = snapshot(populated)
    assert {k: v for k, v in after.items() if k[0] != "kuogang-buzhu"} == before
    eligible = count(populated, matches, matches.c.policy_id == "kuogang-buzhu", matches.c.status == "eligible")
    assert count(populated, cases, cases.c.policy_id == "kuogang-buzhu") == eligible == later.cases_created


def test_unknown_pairs_open_data_requests_naming_the_missing_fields(populated: Engine) -> None:
    publish(populated)
    report = run_match(populated, AS_OF)
    with populated.connect() as conn:
        unknown = {(r.policy_id, r.uscc) for r in conn.execute(select(matches).where(matches.c.status == "unknown"))}
        requests = {(r.policy_id, r.uscc): r for r in conn.execute(select(data_requests))}
        assert unknown and set(requests) == unknown and report.requests_opened == len(unknown)
        for (_, uscc), request in list(requests.items())[:40]:
            names = request.fields.split(",")
            assert names and request.resolved_at is None and request.opened_run == report.run_id
            profile = read_profile(conn, uscc, AS_OF)
            assert any(name not in profile.fields for name in names), (uscc, names)


def test_results_equal_the_python_evaluator(populated: Engine) -> None:
    publish(populated)
    run_match(populated, AS_OF)
    policies = {p.id: p for p in (load_policy(f) for f in sorted((ROOT / "policies").glob("*.yaml")))}
    with populated.connect() as conn:
        rows = conn.execute(select(matches)).all()
        profiles = {u: read_profile(conn, u, AS_OF).to_profile() for u in {r.uscc for r in rows}}
    assert len(rows) == ACTIVE * N
    for r in rows:
        result = evaluate(policies[r.policy_id], profiles[r.uscc], AS_OF)
        expected = (result.status, None if result.amount is None else Decimal(result.amount).quantize(Decimal("0.01")))
        assert (r.status, None if r.amount is None else Decimal(r.amount)) == expected, (r.policy_id, r.uscc)
        assert (r.failed.split(",") if r.failed else []) == list(result.failed)
        assert (r.unknown.split(",") if r.unknown else []) == list(result.unknown)


def test_period_is_the_validity_in_years() -> None:
    periods = {p.stem: benefit_period(load_policy(p)) for p in sorted((ROOT / "policies").glob("*.yaml"))}
    assert periods["kuogang-buzhu"] == "2025"
    assert periods["xiaowei-liushui-lianfei"] == "2023-2027"
    assert periods["chuangye-kaiye-butie"] == "2023-"


def _library_sums(engine: Engine) -> dict[str, tuple[int, int, int, Decimal]]:
    with engine.connect() as conn:
        rows = conn.execute(select(matches.c.policy_id, matches.c.status, matches.c.amount)).all()
    out = {}
    for pid in {r.policy_id for r in rows}:
        mine = [r for r in rows if r.policy_id == pid]
        total = sum((Decimal(r.amount) for r in mine if r.status == "eligible" and r.amount), Decimal(0))
        out[pid] = tuple(sum(r.status == s for r in mine) for s in ("eligible", "ineligible", "unknown")) + (total,)
    return out  # type: ignore[return-value]


def test_report_totals_are_the_library_sums_to_the_fen(populated: Engine, demo: DemoSummary, tmp_path: Path) -> None:
    """Totals are kept between runs (match_totals) and moved by what each run writes: after a full run
    and after an incremental one that changes statuses and amounts, they equal a count of the library."""
    publish(populated)
    for step in range(3):
        if step:  # flip 严重失信 for every 7th enterprise (then back): eligible pairs become ineligible and return
            with (demo.out / "credit.csv").open(encoding="utf-8-sig") as handle:
                rows = list(csv.reader(handle))
            column = rows[0].index("是否列入严重失信主体名单")
            changed = [r for r in rows[1::7] if r[column] in ("是", "否")]
            for r in changed:
                r[column] = {"是": "否", "否": "是"}[r[column]] if step == 1 else r[column]
            flip = tmp_path / f"credit-{step}.csv"
            with flip.open("w", encoding="utf-8", newline="") as handle:
                csv.writer(handle).writerows([rows[0], *changed])
            assert import_file(populated, "credit", flip, AS_OF).accepted == len(changed)
        report = run_match(populated, AS_OF)
        assert report.scope == ("full" if step == 0 else "incremental")
        assert step == 0 or 0 < report.changed < report.evaluated
        library = _library_sums(populated)
        for tally in report.policies:
            got = (tally.eligible, tally.ineligible, tally.unknown, tally.total)
            assert got == library.get(tally.policy_id, (0, 0, 0, Decimal(0))), (step, tally.policy_id)
