"""Policy language v2 item 6: a department declares a field the catalogue lacks — as data, through
`mianshen fields declare` — then its observations are imported, a policy using it is checked,
published and matched, with no code change; declarations are versioned and audited; on SQLite and
PostgreSQL (`store`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, select

import mianshen.cli.data  # noqa: F401  (registers `data`)
import mianshen.cli.fields  # noqa: F401  (registers `fields`)
import mianshen.cli.match  # noqa: F401  (registers `policy publish`, `match`)
import mianshen.cli.policy  # noqa: F401  (registers `policy check`)
from mianshen.catalogue.fields import load_catalogue, use_declared
from mianshen.cli.main import cli
from mianshen.matching.read import pairs
from mianshen.reference.uscc import make_uscc
from mianshen.store.schema import audit_log, cases, declared_fields

from .test_cases_fixtures import SOURCES as MARKET_AND_OTHERS
from .test_checker import make_policy

# 高新技术企业认定管理办法（国科发火〔2016〕32号）第十一条（四）：近三个会计年度研究开发费用总额占同期销售收入
# 总额的比例符合要求（最近一年销售收入在5,000万元以下的企业，比例不低于5%）——科技部门按年提供的比例，
# 字段目录中没有
DECLARATION = """\
fields:
  rd_expense_ratio:
    label: 近三年研发费用占销售收入比例
    type: ratio
    unit: "%"
    source: 河南省科学技术厅
    refresh: 每年
    basis: 高新技术企业认定管理办法（国科发火〔2016〕32号）第十一条
"""
SOURCES = (  # the registered sources of the case tests, and the 科技厅's file of the declared field
    MARKET_AND_OTHERS
    + """\
  - id: keji
    name: 研发费用比例
    department: 河南省科学技术厅
    refresh: 每年
    freshness_days: 400
    priority: 4
    columns: {统一社会信用代码: uscc, 研发费用占比: rd_expense_ratio}
"""
)
CONDITION = """\
- id: rd-ratio
  label: 近三年研发费用占销售收入比例不低于5%
  basis: 国科发火〔2016〕32号第十一条（四）
  field: rd_expense_ratio
  ge: 5%
"""
TESTS = """\
tests:
  - name: 比例6%
    as_of: 2025-06-30
    profile: {subject_type: 企业, rd_expense_ratio: 6%}
    expect: {status: eligible, amount: "1000.00"}
  - name: 比例恰为5%
    as_of: 2025-06-30
    profile: {subject_type: 企业, rd_expense_ratio: 5%}
    expect: {status: eligible, amount: "1000.00"}
  - name: 比例4.99%
    as_of: 2025-06-30
    profile: {subject_type: 企业, rd_expense_ratio: 4.99%}
    expect: {status: ineligible, failed: [rd-ratio]}
  - name: 缺数据
    as_of: 2025-06-30
    profile: {subject_type: 企业}
    expect: {status: unknown, unknown: [rd-ratio]}
"""
FIRMS = [make_uscc("9", "1", "410102", f"{i:08d}") for i in (1, 2, 3)]


@pytest.fixture(autouse=True)
def shipped_catalogue() -> Iterator[None]:
    yield
    use_declared({})  # the next test's store brings its own declared fields


def run(*args: str | Path) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def test_a_declared_field_is_imported_and_used_by_a_policy_without_code_change(store: Engine, tmp_path: Path) -> None:
    url = store.url.render_as_string(hide_password=False)
    policy = tmp_path / "rd-award.yaml"
    policy.write_text(make_policy(CONDITION, pid="rd-award", after=TESTS), encoding="utf-8")
    before = run("policy", "check", policy)
    assert before.exit_code != 0 and "rd_expense_ratio" in before.output and "未知" in before.output

    (tmp_path / "fields.yaml").write_text(DECLARATION, encoding="utf-8")
    declared = run("fields", "declare", tmp_path / "fields.yaml", "--db", url, "--actor", "科技厅数据员")
    assert declared.exit_code == 0 and "rd_expense_ratio：已声明第1版" in declared.output, declared.output

    use_declared({})  # another process: it knows the field from the store it opens
    checked = run("policy", "check", policy, "--db", url)
    assert checked.exit_code == 0 and "1 项政策通过检查，0 个错误" in checked.output, checked.output

    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    assert run("data", "sources", tmp_path / "sources.yaml", "--db", url).exit_code == 0
    market = tmp_path / "market.csv"
    market.write_text(
        "统一社会信用代码,企业名称,主体类型,从业人员\n"
        + "".join(f"{u},企业{i},企业,20\n" for i, u in enumerate(FIRMS)),
        encoding="utf-8",
    )
    keji = tmp_path / "keji.csv"
    keji.write_text(f"统一社会信用代码,研发费用占比\n{FIRMS[0]},6%\n{FIRMS[1]},0.03\n", encoding="utf-8")
    for source, path in (("market", market), ("keji", keji)):
        imported = run("data", "import", "--source", source, "--as-of", "2025-06-30", path, "--db", url)
        assert imported.exit_code == 0, imported.output
    bad = tmp_path / "keji-bad.csv"
    bad.write_text(f"统一社会信用代码,研发费用占比\n{FIRMS[2]},很高\n", encoding="utf-8")
    report = tmp_path / "rejects.csv"
    rejected = run("data", "import", "--source", "keji", "--as-of", "2025-06-30", bad, "--rejects", report, "--db", url)
    # checked by the declared type, said with the declared label
    assert "拒收 1 行" in rejected.output and "近三年研发费用占销售收入比例应为数字：“很高”不是数字" in rejected.output

    assert run("policy", "publish", policy, "--actor", "科技厅", "--db", url).exit_code == 0
    matched = run("match", "--as-of", "2025-06-30", "--db", url, "--json")
    assert matched.exit_code == 0, matched.output
    assert json.loads(matched.output)["cases_created"] == 1
    with store.connect() as conn:
        found = {p.uscc: p.status for p in pairs(conn) if p.policy_id == "rd-award"}
        opened = conn.execute(select(cases.c.uscc, cases.c.amount)).all()
        audit = conn.execute(select(audit_log.c.entity_id).where(audit_log.c.action == "field.declare")).scalars()
        assert list(audit) == ["rd_expense_ratio/v1"]
    # 6% eligible and paid 1,000; 3% not; no observation (the bad value was refused): unknown, not "no"
    assert found == {FIRMS[0]: "eligible", FIRMS[1]: "ineligible", FIRMS[2]: "unknown"}
    assert [(u, a) for u, a in opened] == [(FIRMS[0], "1000.00")]


def test_declarations_are_versioned_and_a_type_cannot_change(store: Engine, tmp_path: Path) -> None:
    url = store.url.render_as_string(hide_password=False)
    path = tmp_path / "fields.yaml"
    path.write_text(DECLARATION, encoding="utf-8")
    assert "第1版" in run("fields", "declare", path, "--db", url).output
    assert "未变化，仍为第1版" in run("fields", "declare", path, "--db", url).output
    path.write_text(DECLARATION.replace("每年", "每半年"), encoding="utf-8")
    assert "rd_expense_ratio：已声明第2版" in run("fields", "declare", path, "--db", url).output
    listed = json.loads(run("fields", "--json", "--db", url).output)
    mine = [f for f in listed if f["name"] == "rd_expense_ratio"]
    assert mine == [{**mine[0], "refresh": "每半年", "declared_version": 2, "source": "河南省科学技术厅"}]
    assert load_catalogue().get("employees") is not None  # the shipped fields are all still there

    path.write_text(DECLARATION.replace("type: ratio", "type: integer"), encoding="utf-8")
    changed = run("fields", "declare", path, "--db", url)
    assert changed.exit_code != 0 and "类型不能改为“整数”" in changed.output
    with store.connect() as conn:
        assert conn.execute(select(declared_fields.c.version)).scalars().all() == [1, 2]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("    type: ratio\n", "    type: percent\n", "类型“percent”无效"),
        ("    source: 河南省科学技术厅\n", "", "缺少 source（来源部门）"),
        ("    refresh: 每年\n", "    refesh: 每年\n", '未知的键“refesh”。是否想写 "refresh"？'),
        ("  rd_expense_ratio:\n", "  employees:\n", "已是字段目录中的字段"),
        ("  rd_expense_ratio:\n", "  研发比例:\n", "名称应为小写字母开头"),
    ],
    ids=["type", "source", "typo", "shipped", "name"],
)
def test_a_bad_declaration_says_what_and_where(store: Engine, tmp_path: Path, old: str, new: str, message: str) -> None:
    path = tmp_path / "fields.yaml"
    path.write_text(DECLARATION.replace(old, new), encoding="utf-8")
    result = run("fields", "declare", path, "--db", store.url.render_as_string(hide_password=False))
    assert result.exit_code != 0 and message in result.output and str(path) in result.output, result.output
    with store.connect() as conn:
        assert conn.execute(select(declared_fields)).first() is None
