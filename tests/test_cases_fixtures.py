"""Shared set-up for the case and payment tests (no tests here): published policies, data, actors.

Policies are published by inserting their `policy_versions` row from the YAML in mianshen/policies/, so
these tests do not depend on the publishing command.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Connection, Engine

from mianshen.audit.log import SYSTEM, Actor
from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.cases.open import open_case
from mianshen.profiles.current import read_profile
from mianshen.profiles.imports import import_file
from mianshen.profiles.sources import load_source_file, register_source
from mianshen.reference.uscc import make_uscc
from mianshen.rules.evaluate import evaluate
from mianshen.rules.loader import SHIPPED, load_policy
from mianshen.store.schema import policy_versions

ROOT = Path(__file__).resolve().parent.parent
HRSS = "河南省人力资源和社会保障厅"
KEJI = "河南省科学技术厅"
CONDITION, LISTED, APPLIED = "kuogang-buzhu", "gaoqi-rending-jiangli", "chuangye-kaiye-butie"
FILES = {CONDITION: "kuogang-buzhu.yaml", LISTED: "gaoqi-rending-jiangli.yaml", APPLIED: "chuangye-kaiye-butie.yaml"}
ACCOUNT = "6222 0210 0112 3451 234"

HR = Actor("王科长", "department", HRSS)
KJ = Actor("李处长", "department", KEJI)
FINANCE = Actor("赵会计", "finance", "河南省财政厅")
AUDITOR = Actor("纪检审计", "auditor")
PUBLIC = Actor("市民甲", "public")

SOURCES = """\
sources:
  - id: market
    name: 市场主体登记
    department: 市场监管局
    refresh: 每日
    freshness_days: 30
    priority: 1
    columns:
      统一社会信用代码: uscc
      企业名称: name
      主体类型: subject_type
  - id: hrss
    name: 就业参保
    department: 人社厅
    refresh: 每月
    freshness_days: 60
    priority: 2
    columns:
      统一社会信用代码: uscc
      扩岗人数: qualified_youth_hires
  - id: credit
    name: 信用中国
    department: 发展改革委
    refresh: 每日
    freshness_days: 7
    priority: 3
    columns:
      统一社会信用代码: uscc
      严重失信: serious_dishonesty
"""


def firm(i: int) -> str:
    return make_uscc("9", "1", "410102", f"{i:08d}")


def enterprise(i: int) -> Actor:
    return Actor(f"企业{i}经办人", "enterprise", None, firm(i))


@pytest.fixture(autouse=True)
def sm4_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MIANSHEN_SM4_KEY", "0123456789abcdeffedcba9876543210")
    yield


def publish(conn: Connection, policy_id: str, budget: Decimal | None = None, version: int = 1) -> None:
    text = (SHIPPED / FILES[policy_id]).read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    conn.execute(
        policy_versions.insert().values(
            policy_id=policy_id,
            version=version,
            kind=doc["kind"],
            title=doc["title"],
            department=doc["department"],
            region=str(doc["region"]),
            valid_from=doc["valid_from"],
            valid_to=doc.get("valid_to"),
            budget=None if budget is None else format(budget, "f"),
            sha256=hashlib.sha256(text.encode()).hexdigest(),
            source_yaml=text,
            state="published",
            published_by="测试",
            published_at=dt.datetime.now(dt.UTC),
        )
    )


def load_data(engine: Engine, tmp_path: Path, rows: dict[int, dict[str, str]], as_of: dt.date) -> None:
    """Register the sources and import one file per source for the given enterprises."""
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    with engine.begin() as conn:
        for source in load_source_file(tmp_path / "sources.yaml"):
            register_source(conn, source)
    columns = {"market": ("企业名称", "主体类型"), "hrss": ("扩岗人数",), "credit": ("严重失信",)}
    for source, cols in columns.items():
        lines = ["统一社会信用代码," + ",".join(cols)]
        lines += [
            firm(i) + "," + ",".join(r.get(c, "") for c in cols) for i, r in rows.items() if any(r.get(c) for c in cols)
        ]
        path = tmp_path / f"{source}-{as_of}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        import_file(engine, source, path, as_of)


def match(conn: Connection, policy_id: str, i: int, on: dt.date) -> int:
    """条件类: evaluate the published policy on the stored profile; an eligible result opens a case."""
    policy = load_policy(SHIPPED / FILES[policy_id])
    result = evaluate(policy, read_profile(conn, firm(i), on).to_profile(), on)
    assert result.status == "eligible", (result.failed, result.unknown)
    return open_for(conn, policy_id, i, result.amount, "match", SYSTEM)


def open_for(conn: Connection, policy_id: str, i: int, amount: Decimal | None, origin: str, actor: Actor) -> int:
    """A new case of version 1 for enterprise i in period 2025."""
    case_id = open_case(
        conn, policy_id=policy_id, version=1, uscc=firm(i), period="2025", origin=origin, amount=amount, actor=actor
    )
    assert case_id is not None
    return case_id


def open_listed(conn: Connection, i: int, amount: str, policy_id: str = LISTED) -> int:
    """A 名单类 case opened and notified without a file (for tests that are about later steps)."""
    case_id = open_for(conn, policy_id, i, Decimal(amount), "list", KJ)
    tr.notify(conn, case_id, SYSTEM, dt.date(2025, 10, 31))
    return case_id


def to_publicity(engine: Engine, i: int, amount: str, start: dt.date = dt.date(2025, 9, 30)) -> int:
    """A 名单类 case taken through notification, confirmation and review into 公示."""
    with engine.begin() as conn:
        case_id = open_listed(conn, i, amount)
        tr.confirm(conn, case_id, enterprise(i), Decimal(amount), ACCOUNT, "承诺")
        review.begin_review(conn, case_id, KJ, start)
        review.open_publicity(conn, case_id, KJ, start)
    return case_id


AFTER_PUBLICITY = dt.date(2025, 10, 15)
