"""The state machine's rules: roles, working days over 国庆, budget, blocking, clawback, stale data, lists."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, select

from mianshen.audit.log import SYSTEM, Actor
from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.cases.banking import decrypt_account, encrypt_account, mask_account
from mianshen.cases.lists import upload_list
from mianshen.cases.payments import create_batch, mark_batch_paid
from mianshen.store.schema import cases as case_table
from mianshen.store.schema import dishonesty_records, policy_versions

from .test_cases_fixtures import (
    ACCOUNT,
    AFTER_PUBLICITY,
    AUDITOR,
    CONDITION,
    FINANCE,
    HR,
    KJ,
    LISTED,
    enterprise,
    firm,
    load_data,
    match,
    open_listed,
    publish,
    sm4_key,  # noqa: F401  (autouse)
    to_publicity,
)


def test_publicity_over_national_day_counts_chinese_working_days() -> None:
    # 2025: 10-01..10-08 off; Sun 09-28 and Sat 10-11 are make-up working days
    assert review.publicity_end(dt.date(2025, 9, 30), 5) == dt.date(2025, 10, 14)
    assert review.publicity_end(dt.date(2025, 9, 26), 1) == dt.date(2025, 9, 28)


def test_roles_are_checked(store: Engine) -> None:
    with store.begin() as conn:
        publish(conn, LISTED)
        case_id = open_listed(conn, 1, "100000")
    with store.begin() as conn, pytest.raises(tr.NotAllowed, match="只能办理本企业"):
        tr.confirm(conn, case_id, enterprise(2), Decimal("100000"), ACCOUNT, "承诺")
    with store.begin() as conn, pytest.raises(tr.NotAllowed, match="政策执行部门"):
        review.begin_review(conn, case_id, HR)  # a department, but not this policy's
    case_id = to_publicity(store, 2, "100000")
    with store.begin() as conn, pytest.raises(tr.NotAllowed, match="auditor"):
        review.decide(conn, case_id, AUDITOR, AFTER_PUBLICITY)
    with store.begin() as conn, pytest.raises(tr.CaseError, match="公示期至"):
        review.decide(conn, case_id, KJ, dt.date(2025, 10, 14))
    with store.begin() as conn, pytest.raises(tr.StaleState, match="不能"):
        tr.confirm(conn, case_id, enterprise(2), Decimal("100000"), ACCOUNT, "承诺")


def test_budget_exhaustion_waits_then_resumes_after_top_up(store: Engine) -> None:
    with store.begin() as conn:
        publish(conn, LISTED, budget=Decimal("400000"))
    cases = [to_publicity(store, i, amount) for i, amount in ((1, "300000"), (2, "150000"), (3, "50000"))]
    with store.begin() as conn:
        states = [review.decide(conn, c, KJ, AFTER_PUBLICITY)["state"] for c in cases]
    assert states == ["approved", "budget_wait", "approved"]
    with store.begin() as conn, pytest.raises(tr.CaseError, match="预算仍不足"):
        review.decide(conn, cases[1], KJ, AFTER_PUBLICITY)
    with store.begin() as conn:
        publish(conn, LISTED, budget=Decimal("500000"), version=2)
        assert review.decide(conn, cases[1], KJ, AFTER_PUBLICITY)["state"] == "approved"
        assert review.budget_used(conn, LISTED) == Decimal("500000")


def test_a_renewal_has_its_own_budget(store: Engine) -> None:
    """A renewal (a version for a later period) starts a new budget: the earlier period's approvals do
    not use it up. Without periods, the 300,000 approved in 2025 would leave 2026's 200,000 short."""
    with store.begin() as conn:
        publish(conn, LISTED, budget=Decimal("400000"))
        conn.execute(policy_versions.update().values(valid_to=dt.date(2025, 12, 31)))
    first = to_publicity(store, 1, "300000")
    with store.begin() as conn:
        assert review.decide(conn, first, KJ, AFTER_PUBLICITY)["state"] == "approved"
        publish(conn, LISTED, budget=Decimal("200000"), version=2)
        conn.execute(
            policy_versions.update()
            .where(policy_versions.c.version == 2)
            .values(valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2026, 12, 31))
        )
    second = to_publicity(store, 2, "150000")
    with store.begin() as conn:
        conn.execute(case_table.update().where(case_table.c.id == second).values(policy_version=2))
        decided = review.decide(conn, second, KJ, AFTER_PUBLICITY)
        assert decided["state"] == "approved"
        assert review.period_budget(conn, LISTED, 2) == (Decimal("200000"), Decimal("150000"))
        assert review.period_budget(conn, LISTED, 1) == (Decimal("400000"), Decimal("300000"))


def test_enterprise_on_serious_dishonesty_list_is_blocked(store: Engine, tmp_path: Path) -> None:
    load_data(store, tmp_path, {1: {"主体类型": "企业", "严重失信": "true"}}, dt.date(2025, 9, 25))
    with store.begin() as conn:
        publish(conn, LISTED)
        case_id = open_listed(conn, 1, "100000")
        tr.confirm(conn, case_id, enterprise(1), Decimal("100000"), ACCOUNT, "承诺")
        assert review.begin_review(conn, case_id, KJ, dt.date(2025, 9, 29))["state"] == "blocked"
        with pytest.raises(tr.StaleState):
            review.open_publicity(conn, case_id, KJ, dt.date(2025, 9, 30))
        assert tr.unblock(conn, case_id, KJ, "信用修复完成")["state"] == "under_review"


def test_stale_data_stops_publicity_unless_explained(store: Engine, tmp_path: Path) -> None:
    load_data(store, tmp_path, {1: {"企业名称": "甲", "主体类型": "企业", "扩岗人数": "2"}}, dt.date(2025, 6, 1))
    with store.begin() as conn:
        publish(conn, CONDITION)
        case_id = match(conn, CONDITION, 1, dt.date(2025, 6, 2))
        tr.notify(conn, case_id, SYSTEM, dt.date(2025, 10, 20))
        tr.confirm(conn, case_id, enterprise(1), Decimal("3000"), ACCOUNT, "承诺")
        report = review.begin_review(conn, case_id, HR, dt.date(2025, 9, 29))["freshness"]
        assert set(report["stale"]) == {"qualified_youth_hires", "subject_type"}
        with pytest.raises(tr.CaseError, match="超过时效"):
            review.open_publicity(conn, case_id, HR, dt.date(2025, 9, 30))
        assert (
            review.open_publicity(conn, case_id, HR, dt.date(2025, 9, 30), "人社系统实时核对无变化")["state"]
            == "publicity"
        )


def test_failed_onsite_check_stops_publicity(store: Engine) -> None:
    with store.begin() as conn:
        publish(conn, LISTED)
        case_id = open_listed(conn, 1, "100000")
        tr.confirm(conn, case_id, enterprise(1), Decimal("100000"), ACCOUNT, "承诺")
        review.begin_review(conn, case_id, KJ)
        review.record_onsite(conn, case_id, KJ, passed=False, note="经营场所无人")
        with pytest.raises(tr.CaseError, match="现场核验未通过"):
            review.open_publicity(conn, case_id, KJ)
        assert tr.reject(conn, case_id, KJ, "现场核验未通过")["reason"] == "现场核验未通过"


def test_clawback_writes_a_dishonesty_record(store: Engine) -> None:
    with store.begin() as conn:
        publish(conn, LISTED)
    case_id = to_publicity(store, 1, "100000")
    with store.begin() as conn:
        review.decide(conn, case_id, KJ, AFTER_PUBLICITY)
    batch = create_batch(store, LISTED, FINANCE)
    mark_batch_paid(store, batch.batch_id, FINANCE)
    with store.begin() as conn:
        review.clawback(conn, case_id, KJ, "经核查非首次认定，信用承诺不实")
        row = conn.execute(select(dishonesty_records)).mappings().one()
    assert (row["uscc"], row["case_id"]) == (firm(1), case_id)


def test_expired_and_declined(store: Engine) -> None:
    with store.begin() as conn:
        publish(conn, LISTED)
        first, second = open_listed(conn, 1, "1000"), open_listed(conn, 2, "1000")
        assert tr.decline(conn, first, enterprise(1), "不需要")["state"] == "declined"
        with pytest.raises(tr.NotAllowed):
            tr.expire(conn, second, KJ)
        assert review.expire_due(conn, dt.date(2025, 10, 31)) == []  # the deadline day itself still counts
        assert review.expire_due(conn, dt.date(2025, 11, 1)) == [second]
        assert review.expire_due(conn, dt.date(2025, 11, 1)) == []


def test_xlsx_list_with_rejects(store: Engine, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["统一社会信用代码", "金额", "备注"])
    sheet.append([firm(1), 200000, "甲"])
    sheet.append([firm(2), 1234.567, "三位小数"])
    sheet.append(["", 1000, "缺代码"])
    book.save(tmp_path / "list.xlsx")
    with store.begin() as conn:
        publish(conn, LISTED)
        publish(conn, CONDITION)
        report = upload_list(conn, LISTED, tmp_path / "list.xlsx", KJ)
        with pytest.raises(tr.CaseError, match="只有名单类"):
            upload_list(conn, CONDITION, tmp_path / "list.xlsx", HR)
        with pytest.raises(tr.NotAllowed):
            upload_list(conn, LISTED, tmp_path / "list.xlsx", Actor("某人", "department", "其他厅"))
    assert len(report.case_ids) == 1
    assert [r["reason"] for r in report.rejects] == ["金额“1234.567”超过两位小数（精确到分）", "缺少统一社会信用代码"]


def test_bank_accounts_are_encrypted_and_masked() -> None:
    stored = encrypt_account(ACCOUNT)
    assert stored.startswith("sm4gcm:") and "1234" not in stored
    assert decrypt_account(stored) == "6222021001123451234"
    assert mask_account(ACCOUNT) == "6222 **** **** 1234"


def test_scheduled_approval_after_publicity(store: Engine) -> None:
    with store.begin() as conn:
        publish(conn, LISTED)
    first, second = to_publicity(store, 1, "1000"), to_publicity(store, 2, "1000")
    with store.begin() as conn:
        assert review.approve_due(conn, dt.date(2025, 10, 14)) == []  # the last 公示 day is still open
        assert review.approve_due(conn, AFTER_PUBLICITY) == [first, second]
        assert review.approve_due(conn, AFTER_PUBLICITY) == []


def test_failed_application_leaves_nothing(store: Engine, tmp_path: Path) -> None:
    from mianshen.cases.applications import submit_application
    from mianshen.cases.banking import BankingError
    from mianshen.store.schema import cases

    from .test_cases_fixtures import APPLIED

    with store.begin() as conn:
        publish(conn, APPLIED)
    form = {"bank_account": "not-an-account", "commitment": "承诺"}
    with pytest.raises(BankingError), store.begin() as conn:
        submit_application(conn, APPLIED, firm(1), form, [], enterprise(1), files_dir=tmp_path)
    with store.connect() as conn:
        assert conn.execute(select(cases)).first() is None
    with store.begin() as conn, pytest.raises(tr.NotAllowed):
        submit_application(conn, APPLIED, firm(1), {}, [], enterprise(2), files_dir=tmp_path)
