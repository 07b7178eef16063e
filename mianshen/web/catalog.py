"""The published policy catalogue as the web shows it (惠企政策清单 / 办事指南清单)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from mianshen.matching.publish import parse_version
from mianshen.rules.ast import Leaf, Policy
from mianshen.rules.describe import describe_policy
from mianshen.store.db import reading
from mianshen.store.schema import policy_versions

_PARSED: dict[str, Policy] = {}  # a published version never changes: parse it once per process


@dataclass
class Listed:
    policy: Policy
    version: int
    published_at: dt.datetime

    def in_force(self, day: dt.date) -> bool:
        p = self.policy
        return p.valid_from <= day and (p.valid_to is None or day <= p.valid_to)

    def fields(self) -> set[str]:
        out: set[str] = set()

        def walk(c: Any) -> None:
            if isinstance(c, Leaf):
                out.add(c.field)
            for child in getattr(c, "children", ()):
                walk(child)

        for cond in self.policy.conditions:
            walk(cond)
        return out

    def codes(self, field: str, op: str = "within") -> set[str]:
        """Industry or region prefixes the policy's `within` conditions name (for filters); with
        `op="not_within"`, those it excludes (全省除郑州市)."""
        out: set[str] = set()

        def walk(c: Any) -> None:
            if isinstance(c, Leaf) and c.field == field:
                for t in c.tests:
                    if t.op == op and isinstance(t.operand, tuple):
                        out.update(t.operand)
            for child in getattr(c, "children", ()):
                walk(child)

        for cond in self.policy.conditions:
            walk(cond)
        return out


def published(engine: Engine) -> list[Listed]:
    with reading(engine) as conn:
        rows = conn.execute(
            select(policy_versions).where(policy_versions.c.state == "published").order_by(policy_versions.c.policy_id)
        ).all()
    out = []
    for row in rows:
        if row.sha256 not in _PARSED:
            _PARSED[row.sha256] = parse_version(row)
        out.append(Listed(_PARSED[row.sha256], row.version, row.published_at))
    return out


def find(engine: Engine, policy_id: str) -> Listed | None:
    return next((item for item in published(engine) if item.policy.id == policy_id), None)


# How each kind of policy reaches an enterprise, in the words of the work plan (免申即享 / 依申请).
KIND_LABELS = {
    "条件类": "免申即享（数据比对，主动兑现）",
    "名单类": "免申即享（按部门名单兑现）",
    "暂难数据化类": "依申请（快申快享）",
}


def describe(item: Listed, day: dt.date) -> dict[str, Any]:
    return describe_policy(item.policy, day)


def mask_name(name: str | None) -> str:
    """郑州中原精密机械有限公司 → 郑州中原****有限公司: recognisable to the enterprise, not a directory."""
    if not name:
        return "（未登记名称）"
    if len(name) <= 4:
        return name[0] + "*" * (len(name) - 1)
    keep = max(2, len(name) // 3)
    return name[:keep] + "*" * (len(name) - 2 * keep) + name[-keep:]
