"""同一事项不重复享受 and 就高 (docs/policy-language.md §1 跨政策规则): a case of a policy conflicting
with one the enterprise already has is refused when cases are opened by a match run, when it is
approved and when it is paid, with the reason on the case; on SQLite and PostgreSQL (`store`)."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Connection, Engine, event, select

import mianshen.cli.explain  # noqa: F401  (registers `explain`)
from mianshen.audit.log import SYSTEM
from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.cases.exclusive import settle_run
from mianshen.cases.payments import create_batch
from mianshen.cli.main import cli
from mianshen.rules.loader import SHIPPED
from mianshen.store.schema import case_events, cases, policy_versions

from .test_cases_fixtures import (
    ACCOUNT,
    AFTER_PUBLICITY,
    FINANCE,
    KJ,
    LISTED,
    enterprise,
    firm,
    load_data,
    open_for,
    open_listed,
    sm4_key,  # noqa: F401  (autouse)
)

CITY = "gaoqi-rending-shiji"  # a city's own award for the same 首次认定 (the same 事项)
SOURCE = (SHIPPED / "gaoqi-rending-jiangli.yaml").read_text(encoding="utf-8")


def publish(conn: Connection, policy_id: str, extra: str = "", version: int = 1) -> None:
    text = SOURCE.replace("id: gaoqi-rending-jiangli", f"id: {policy_id}") + extra
    title = "市级首次认定高新技术企业奖补" if policy_id == CITY else "河南省首次认定高新技术企业奖补"
    conn.execute(policy_versions.update().where(policy_versions.c.policy_id == policy_id).values(state="retired"))
    conn.execute(
        policy_versions.insert().values(
            policy_id=policy_id,
            version=version,
            kind="名单类",
            title=title,
            department="河南省科学技术厅",
            region="410000",
            valid_from=dt.date(2025, 1, 1),
            budget=None,
            sha256=hashlib.sha256(text.encode()).hexdigest(),
            source_yaml=text,
            state="published",
            published_by="测试",
            published_at=dt.datetime.now(dt.UTC),
        )
    )


MATTER = "\nmatter: 高企首次认定奖补\n"


def to_publicity(engine: Engine, policy_id: str, amount: str, i: int = 1) -> int:
    with engine.begin() as conn:
        case_id = open_listed(conn, i, amount, policy_id)
        tr.confirm(conn, case_id, enterprise(i), Decimal(amount), ACCOUNT, "承诺")
        review.begin_review(conn, case_id, KJ, dt.date(2025, 9, 30))
        review.open_publicity(conn, case_id, KJ, dt.date(2025, 9, 30))
    return case_id


def state_and_reason(conn: Connection, case_id: int) -> tuple[str, str | None]:
    row = conn.execute(select(cases.c.state, cases.c.reason).where(cases.c.id == case_id)).one()
    return row.state, row.reason


def test_the_second_of_a_matter_is_refused_at_approval(store: Engine) -> None:
    with store.begin() as conn:
        publish(conn, LISTED, MATTER)
        publish(conn, CITY, MATTER)
    province, city = to_publicity(store, LISTED, "200000"), to_publicity(store, CITY, "50000")
    other = to_publicity(store, CITY, "50000", i=2)  # another enterprise is not affected
    with store.begin() as conn:
        assert review.decide(conn, province, KJ, AFTER_PUBLICITY)["state"] == "approved"
        assert review.decide(conn, city, KJ, AFTER_PUBLICITY)["state"] == "rejected"
        assert review.decide(conn, other, KJ, AFTER_PUBLICITY)["state"] == "approved"
        state, reason = state_and_reason(conn, city)
        note = conn.execute(
            select(case_events.c.note).where(case_events.c.case_id == city).order_by(case_events.c.id.desc())
        ).scalar()
    assert state == "rejected" and reason == note
    assert reason == (
        f"同一事项不重复享受：本企业已有事项“高企首次认定奖补”《河南省首次认定高新技术企业奖补》（案件 {province}，审核通过），本政策不予重复享受"
    )


def test_a_case_paid_in_between_blocks_the_payment(store: Engine) -> None:
    with store.begin() as conn:  # both approved while the city's policy named no matter yet
        publish(conn, LISTED, "\nexclusive_with: [gaoqi-rending-shiji]\n")
        publish(conn, CITY)
    province, city = to_publicity(store, LISTED, "200000"), to_publicity(store, CITY, "50000")
    with store.begin() as conn:
        publish(conn, LISTED, version=2)  # the rule is not yet published …
        assert review.decide(conn, province, KJ, AFTER_PUBLICITY)["state"] == "approved"
        assert review.decide(conn, city, KJ, AFTER_PUBLICITY)["state"] == "approved"
        publish(conn, LISTED, "\nexclusive_with: [gaoqi-rending-shiji]\n", version=3)  # … and now it is
    assert create_batch(store, LISTED, FINANCE).added == 1
    report = create_batch(store, CITY, FINANCE)
    with store.begin() as conn:
        state, reason = state_and_reason(conn, city)
    assert report.added == 0 and state == "rejected"
    assert reason == (
        f"同一事项不重复享受：本企业已有以下政策《河南省首次认定高新技术企业奖补》（案件 {province}，拨付中），本政策不予重复享受"
    )


def opened(conn: Connection, policy_id: str, amount: str, run: int, i: int = 1) -> int:
    """A case opened by match run `run`."""
    case_id = open_for(conn, policy_id, i, Decimal(amount), "match", SYSTEM)
    conn.execute(cases.update().where(cases.c.id == case_id).values(opened_run=run))
    return case_id


def test_a_match_run_keeps_the_first_and_refuses_the_second(store: Engine) -> None:
    with store.begin() as conn:
        publish(conn, LISTED, MATTER)
        publish(conn, CITY, MATTER)
        first = opened(conn, LISTED, "200000", run=1)
        assert settle_run(conn, 1) == 0
        second = opened(conn, CITY, "50000", run=2)
        assert settle_run(conn, 2) == 1
        assert state_and_reason(conn, first) == ("matched", None)
        assert state_and_reason(conn, second)[0] == "rejected"
        assert f"《河南省首次认定高新技术企业奖补》（案件 {first}，已匹配）" in str(state_and_reason(conn, second)[1])


def test_a_run_weighs_only_the_enterprises_where_two_policies_meet(store: Engine) -> None:
    """A first run opens millions of cases: those of enterprises holding no conflicting case are let
    through by one set statement, not looked at one by one (which took minutes a province)."""
    with store.begin() as conn:
        publish(conn, LISTED, MATTER)
        publish(conn, CITY, MATTER)
        met = opened(conn, LISTED, "200000", run=1, i=1)
        alone = [opened(conn, CITY, "50000", run=2, i=i) for i in range(2, 42)]
        second = opened(conn, CITY, "50000", run=2, i=1)
        statements: list[str] = []

        def seen(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(conn, "before_cursor_execute", seen)
        assert settle_run(conn, 2) == 1
        event.remove(conn, "before_cursor_execute", seen)
        weighed = [s for s in statements if "FROM cases" in s]
        assert len(weighed) < 10, len(weighed)  # 40 cases alone: none read one at a time
        assert state_and_reason(conn, second)[0] == "rejected"
        assert state_and_reason(conn, met) == ("matched", None)
        assert {state_and_reason(conn, c)[0] for c in alone} == {"matched"}


def test_highest_of_a_matter_is_the_one_kept(store: Engine) -> None:
    highest = MATTER + "matter_rule: 就高\n"
    with store.begin() as conn:
        publish(conn, LISTED, highest)
        publish(conn, CITY, highest)
        low = opened(conn, CITY, "50000", run=1)
        high = opened(conn, LISTED, "200000", run=2)
        assert settle_run(conn, 2) == 1  # the new, higher case refuses the lower one not yet approved
        assert state_and_reason(conn, high) == ("matched", None)
        state, reason = state_and_reason(conn, low)
    assert state == "rejected"
    assert reason == (
        f"同一事项就高享受：本企业《河南省首次认定高新技术企业奖补》（案件 {high}，已匹配）金额 200000.00 元，不低于本政策的 50000.00 元，只享受其一"
    )


def test_explain_says_why_an_eligible_enterprise_is_not_paid_twice(store: Engine, tmp_path: Path) -> None:
    kuogang = (SHIPPED / "kuogang-buzhu.yaml").read_text(encoding="utf-8")
    load_data(store, tmp_path, {1: {"主体类型": "企业", "扩岗人数": "3"}}, dt.date(2025, 6, 1))
    with store.begin() as conn:
        publish(conn, LISTED, MATTER)
        first = opened(conn, LISTED, "200000", run=1)
    city = tmp_path / "city.yaml"
    city.write_text(kuogang.replace("id: kuogang-buzhu", f"id: {CITY}") + MATTER, encoding="utf-8")
    url = store.url.render_as_string(hide_password=False)
    args = ["explain", "--policy", str(city), "--uscc", firm(1), "--db", url, "--as-of", "2025-06-30"]
    shown = CliRunner().invoke(cli, args)
    assert shown.exit_code == 0, shown.output
    assert "结论：符合" in shown.output
    assert (
        f"不予重复享受：同一事项不重复享受：本企业已有事项“高企首次认定奖补”《河南省首次认定高新技术企业奖补》（案件 {first}，已匹配）"
        in shown.output
    )
