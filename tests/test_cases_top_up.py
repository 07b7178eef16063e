"""扩岗补助 per hire (docs/policy-language.md §6 享受周期与补发): an enterprise's qualifying hires grow
within the benefit period; the next match run opens a top-up case for the difference — audited, then
reviewed, approved and paid like any case — and never a second one for the same increase; on SQLite
and PostgreSQL (`store`)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, select

from mianshen.audit.log import SYSTEM, verify
from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.cases.payments import create_batch, mark_batch_paid, reconcile
from mianshen.matching.publish import publish_policy
from mianshen.matching.runs import run_match
from mianshen.profiles.imports import import_file
from mianshen.profiles.sources import load_source_file, register_source
from mianshen.rules.loader import SHIPPED
from mianshen.store.schema import audit_log, case_events, cases

from .test_cases_fixtures import (
    ACCOUNT,
    CONDITION,
    FINANCE,
    HR,
    SOURCES,
    enterprise,
    firm,
    publish,
    sm4_key,  # noqa: F401  (autouse)
)


def hires(engine: Engine, tmp_path: Path, count: int, on: dt.date) -> None:
    """The month's files: enterprise 1 (registered) has `count` qualifying hires so far this year."""
    market = tmp_path / f"market-{on}.csv"
    market.write_text(f"统一社会信用代码,企业名称,主体类型\n{firm(1)},甲{on.month}号,企业\n", encoding="utf-8")
    import_file(engine, "market", market, on)
    path = tmp_path / f"hrss-{on}.csv"
    path.write_text(f"统一社会信用代码,扩岗人数\n{firm(1)},{count}\n", encoding="utf-8")
    import_file(engine, "hrss", path, on)


def benefit(engine: Engine) -> list[tuple[str, str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(cases).where(cases.c.policy_id == CONDITION).order_by(cases.c.id)).mappings()
        return [(r["period"], r["amount"], r["origin"], r["state"]) for r in rows]


def pay(engine: Engine, case_id: int, amount: str, on: dt.date) -> None:
    """Notified, confirmed, reviewed on `on` (the data fresh), 公示 of 5 working days, approved, paid."""
    with engine.begin() as conn:
        tr.notify(conn, case_id, SYSTEM, on + dt.timedelta(days=20))
        tr.confirm(conn, case_id, enterprise(1), Decimal(amount), ACCOUNT, "承诺")
        review.begin_review(conn, case_id, HR, on)
        review.open_publicity(conn, case_id, HR, on)
        assert review.decide(conn, case_id, HR, on + dt.timedelta(days=20))["state"] == "approved"
    batch = create_batch(engine, CONDITION, FINANCE)
    assert batch.count == 1  # only this case: the one paid before is never listed again
    assert mark_batch_paid(engine, batch.batch_id, FINANCE) == 1


def test_hires_growing_within_the_period_are_topped_up_once(store: Engine, tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    with store.begin() as conn:
        for source in load_source_file(tmp_path / "sources.yaml"):
            register_source(conn, source)
        publish(conn, CONDITION)

    hires(store, tmp_path, 1, dt.date(2025, 3, 31))  # 1 hire in March: a 1,500 case
    assert run_match(store, dt.date(2025, 3, 31)).cases_created == 1
    assert benefit(store) == [("2025", "1500.00", "match", "matched")]
    with store.connect() as conn:
        first = int(conn.execute(select(cases.c.id)).scalar_one())
    pay(store, first, "1500.00", dt.date(2025, 4, 1))  # paid before the later hires are known

    hires(store, tmp_path, 5, dt.date(2025, 6, 30))  # 5 hires by June: 7,500 in all, 6,000 still due
    assert run_match(store, dt.date(2025, 6, 30)).cases_created == 1
    assert benefit(store) == [("2025", "1500.00", "match", "paid"), ("2025补1", "6000.00", "top_up", "matched")]

    # running again, fully or for the policy, opens nothing more for the same increase
    assert run_match(store, dt.date(2025, 6, 30)).cases_created == 0
    assert run_match(store, dt.date(2025, 6, 30), full=True).cases_created == 0
    assert run_match(store, dt.date(2025, 7, 31), policy_id=CONDITION).cases_created == 0
    assert len(benefit(store)) == 2

    with store.connect() as conn:
        top = conn.execute(select(cases.c.id, cases.c.region).where(cases.c.period == "2025补1")).one()
        audit = conn.execute(select(audit_log.c.after).where(audit_log.c.action == "case.top_up")).scalar_one()
        note = conn.execute(select(case_events.c.note).where(case_events.c.case_id == top.id)).scalar_one()
    assert json.loads(audit) == {
        "benefit_cases": [first],
        "held": "1500.00",
        "amount_now": "7500.00",
        "difference": "6000.00",
    }
    assert note == "立案（期内金额增加，补发差额）"
    pay(store, top.id, "6000.00", dt.date(2025, 7, 1))
    assert [s for *_, s in benefit(store)] == ["paid", "paid"]

    hires(store, tmp_path, 6, dt.date(2025, 9, 30))  # one more hire: a second top-up of 1,500
    run_match(store, dt.date(2025, 9, 30))
    assert benefit(store)[2:] == [("2025补2", "1500.00", "top_up", "matched")]
    with store.begin() as conn:
        recon = reconcile(conn)
        assert recon["ok"] and recon["paid_total"] == Decimal("7500.00")  # 1,500 + 6,000, each paid once
        assert verify(conn).first_broken is None


def test_a_monthly_benefit_opens_a_case_each_month_up_to_its_maximum(store: Engine, tmp_path: Path) -> None:
    # illustrative: the same 补助 paid per month, at most 2 months (`period: {every: monthly, max: 2}`)
    text = (SHIPPED / "kuogang-buzhu.yaml").read_text(encoding="utf-8")
    assert text.count("  every: once\n  top_up: true\n") == 1
    monthly = tmp_path / "kuogang-buzhu.yaml"
    monthly.write_text(
        text.replace("  every: once\n  top_up: true\n", "  every: monthly\n  max: 2\n"), encoding="utf-8"
    )
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    with store.begin() as conn:
        for source in load_source_file(tmp_path / "sources.yaml"):
            register_source(conn, source)
        publish_policy(conn, monthly, HR)
    hires(store, tmp_path, 2, dt.date(2025, 3, 31))
    for day in (dt.date(2025, 3, 31), dt.date(2025, 4, 30), dt.date(2025, 5, 31)):  # nothing changes after March
        run_match(store, day)
    run_match(store, dt.date(2025, 5, 31), full=True)
    assert benefit(store) == [("2025-03", "3000.00", "match", "matched"), ("2025-04", "3000.00", "match", "matched")]
