"""守信激励 in review (trust/routing.py): the green channel, routine and focus routes, sampling at the
configured rate, a clawback lowering the enterprise's route for the configured time, and the on-site
check a focus case needs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.cases.payments import create_batch, mark_batch_paid
from mianshen.errors import MianshenError
from mianshen.jobs.tasks import close_publicity, green_channel
from mianshen.profiles.imports import import_file
from mianshen.profiles.sources import load_source_file, register_source
from mianshen.trust import routing

from .test_cases_fixtures import ACCOUNT, FINANCE, KJ, LISTED, enterprise, firm, open_listed, publish, sm4_key

__all__ = ["sm4_key"]

RULES = """\
default:
  green: {credit_grades: [A], max_amount: "50000.00", max_clawbacks: 0}
  focus: {credit_grades: [C, D], min_amount: "200000.00", min_clawbacks: 1}
  clawback_days: 365
  sample_rate: "0.25"
"""
TAX = """\
sources:
  - id: tax
    name: 纳税信用评价
    department: 税务局
    refresh: 每年
    freshness_days: 400
    priority: 1
    columns:
      统一社会信用代码: uscc
      纳税信用等级: tax_credit_grade
"""
GRADES = {1: "A", 2: "B", 3: "A", 4: "D"} | {i: "A" for i in range(10, 18)}


@pytest.fixture
def world(store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    (tmp_path / "routing.yaml").write_text(RULES, encoding="utf-8")
    monkeypatch.setenv("MIANSHEN_ROUTING_FILE", str(tmp_path / "routing.yaml"))
    (tmp_path / "tax.yaml").write_text(TAX, encoding="utf-8")
    with store.begin() as conn:
        publish(conn, LISTED)
        for source in load_source_file(tmp_path / "tax.yaml"):
            register_source(conn, source)
    rows = "\n".join(f"{firm(i)},{g}" for i, g in GRADES.items())
    (tmp_path / "tax.csv").write_text(f"统一社会信用代码,纳税信用等级\n{rows}\n", encoding="utf-8")
    import_file(store, "tax", tmp_path / "tax.csv", dt.date(2025, 9, 1))
    return store


def confirmed(engine: Engine, i: int, amount: str) -> int:
    with engine.begin() as conn:
        case_id = open_listed(conn, i, amount)
        tr.confirm(conn, case_id, enterprise(i), Decimal(amount), ACCOUNT, "承诺")
    return case_id


def route(engine: Engine, case_id: int) -> dict[str, object]:
    with engine.connect() as conn:
        found = routing.route_of(conn, case_id)
    assert found is not None
    return found


def test_each_enterprise_gets_its_route_with_reasons(world: Engine) -> None:
    green, routine, big, poor, unknown = (
        confirmed(world, 1, "3000.00"),
        confirmed(world, 2, "3000.00"),
        confirmed(world, 3, "300000.00"),
        confirmed(world, 4, "3000.00"),
        confirmed(world, 5, "3000.00"),
    )
    assert route(world, green)["label"] == "免审直达"
    assert route(world, routine)["label"] == "常规审核"
    assert route(world, routine)["reasons_list"] == ["纳税信用等级为 B（免审直达须为 A）"]
    assert route(world, big)["label"] == "重点审核"
    assert "金额 300000.00 元不低于 200000.00 元" in route(world, big)["reasons_list"]
    assert route(world, poor)["reasons_list"][0] == "纳税信用等级 D"
    assert route(world, unknown)["reasons_list"] == ["纳税信用等级为 未知（免审直达须为 A）"]  # unknown is never A


def test_green_channel_is_announced_and_approved_by_the_platform(world: Engine) -> None:
    case_id = confirmed(world, 1, "3000.00")
    assert green_channel(world, dt.date(2025, 9, 30)).changed == 1
    with world.connect() as conn:
        case = tr.load_case(conn, case_id)
    assert case["state"] == "publicity"
    assert close_publicity(world, case["publicity_to"] + dt.timedelta(days=1)).changed == 1
    with world.connect() as conn:
        assert tr.load_case(conn, case_id)["state"] == "approved"
    routine = confirmed(world, 2, "3000.00")
    assert green_channel(world, dt.date(2025, 9, 30)).changed == 0  # routine cases wait for the department
    with world.connect() as conn:
        assert tr.load_case(conn, routine)["state"] == "confirmed"


def test_focus_needs_an_on_site_check_before_publicity(world: Engine) -> None:
    case_id = confirmed(world, 4, "3000.00")
    with world.begin() as conn:
        review.begin_review(conn, case_id, KJ, dt.date(2025, 9, 29))
    with world.begin() as conn, pytest.raises(MianshenError, match="本案为重点审核，须先登记通过的现场核验"):
        review.open_publicity(conn, case_id, KJ, dt.date(2025, 9, 30), stale_reason="测试")
    with world.begin() as conn:
        review.record_onsite(conn, case_id, KJ, passed=True, note="经营场所与执照一致")
        assert (
            review.open_publicity(conn, case_id, KJ, dt.date(2025, 9, 30), stale_reason="测试")["state"] == "publicity"
        )


def test_green_cases_are_sampled_at_the_configured_rate(world: Engine) -> None:
    ids = [confirmed(world, i, "1000.00") for i in range(10, 18)]
    drawn = [case_id for case_id in ids if route(world, case_id)["sampled"]]
    assert len(drawn) == 2  # 8 green cases × 0.25
    with world.begin() as conn:
        with pytest.raises(MianshenError, match="不是被抽中复查"):
            routing.record_sample(conn, next(i for i in ids if i not in drawn), KJ, True, "核对无误")
        routing.record_sample(conn, drawn[0], KJ, False, "实地核查发现人数不实")
        rows = routing.summary(conn)
    assert rows == [
        {
            "policy_id": LISTED,
            "route": "green",
            "cases": 8,
            "sampled": 2,
            "checked": 1,
            "failed": 1,
            "label": "免审直达",
        }
    ]


def test_a_clawback_lowers_the_route_for_the_configured_time(world: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    first = confirmed(world, 1, "3000.00")
    assert green_channel(world, dt.date(2025, 9, 30)).changed == 1
    with world.begin() as conn:
        review.decide(conn, first, KJ, tr.load_case(conn, first)["publicity_to"] + dt.timedelta(days=1))
    mark_batch_paid(world, create_batch(world, LISTED, FINANCE).batch_id, FINANCE)
    with world.begin() as conn:
        review.clawback(conn, first, KJ, "承诺的研发投入不实")
        case = tr.load_case(conn, first)
    assert case["state"] == "clawback"
    again = dict(case, state="confirmed")  # the enterprise's next confirmed case, as the router sees it
    with world.begin() as conn:
        lowered = routing.decide_route(conn, again, dt.date(2025, 12, 1))
    assert lowered.route == "focus" and "近 365 天内有 1 次承诺不实被追回" in lowered.reasons
    monkeypatch.setenv("MIANSHEN_TODAY", (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=366)).isoformat())
    with world.begin() as conn:
        assert routing.decide_route(conn, again, dt.date(2025, 12, 1)).route == "green"


def test_unknown_keys_in_the_rules_are_refused(world: Engine, tmp_path: Path) -> None:
    (tmp_path / "routing.yaml").write_text(RULES.replace("max_clawbacks", "max_clawback"), encoding="utf-8")
    with pytest.raises(MianshenError, match="不认识的键 max_clawback"):
        routing.rules(LISTED)


def test_routes_commands(world: Engine) -> None:
    import json

    from click.testing import CliRunner

    from mianshen.cli.main import cli, load_commands

    ids = [confirmed(world, i, "1000.00") for i in range(10, 14)]
    load_commands(("routes",))
    url = str(world.url)
    shown = CliRunner().invoke(cli, ["routes", "summary", "--json", "--db", url])
    assert shown.exit_code == 0 and json.loads(shown.output)[0]["sampled"] == 1, shown.output
    drawn = next(i for i in ids if route(world, i)["sampled"])
    who = ["--actor", "李处长", "--department", "河南省科学技术厅", "--db", url]
    done = CliRunner().invoke(cli, ["routes", "sample-check", str(drawn), "--passed", "--note", "核对无误", *who])
    assert done.exit_code == 0 and "通过" in done.output, done.output
    other = CliRunner().invoke(cli, ["routes", "sample-check", str(ids[0] + 100), "--failed", "--note", "x", *who])
    assert other.exit_code == 2 and "不是被抽中复查的免审直达案件" in other.output
