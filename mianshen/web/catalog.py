"""The published policy catalogue as the web shows it (惠企政策清单 / 办事指南清单)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from mianshen.clock import today as clock_today
from mianshen.matching.publish import parse_version
from mianshen.rules.ast import Leaf, Policy
from mianshen.rules.describe import describe_policy
from mianshen.rules.versions import in_force, renews, version_on
from mianshen.store.db import reading
from mianshen.store.schema import policy_versions

_PARSED: dict[str, Policy] = {}  # a published version never changes: parse it once per process


@dataclass(frozen=True)
class Period:
    """One published version of a policy, as its page lists the policy's history."""

    version: int
    valid_from: dt.date
    valid_to: dt.date | None
    replaced: bool  # corrected by a later version of the same period (not a renewal's predecessor)


@dataclass
class Listed:
    policy: Policy
    version: int
    published_at: dt.datetime
    history: tuple[Period, ...] = ()  # every version of the policy, newest first

    def in_force(self, day: dt.date) -> bool:
        return in_force(self.policy, day)

    def validity(self, day: dt.date) -> str:
        """有效期内 / 失效 (past valid_to: 动态更新机制 announces it) / 未施行."""
        if self.in_force(day):
            return "有效期内"
        return "未施行" if day < self.policy.valid_from else "失效"

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


def published(engine: Engine, day: dt.date | None = None) -> list[Listed]:
    """Each policy once, by the version that applies on `day` (the platform's today): the one in
    force, or the last that started — so a policy past its period stays listed, as 失效, even after
    the expiry job has retired it; its page lists every version (a renewal keeps its history)."""
    day = day or clock_today()
    with reading(engine) as conn:
        rows = conn.execute(
            select(
                policy_versions.c.id,
                policy_versions.c.policy_id,
                policy_versions.c.version,
                policy_versions.c.state,
                policy_versions.c.valid_from,
                policy_versions.c.valid_to,
                policy_versions.c.published_at,
                policy_versions.c.sha256,
            ).order_by(policy_versions.c.policy_id, policy_versions.c.version)
        ).all()
        by_id: dict[str, list[Any]] = {}
        for row in rows:
            by_id.setdefault(row.policy_id, []).append(row)
        chosen = {}
        for pid, versions in by_id.items():
            live = [r for r in versions if r.state == "published"]
            chosen[pid] = version_on(live, day) if live else versions[-1]
        missing = [r.id for r in chosen.values() if r.sha256 not in _PARSED]
        if missing:
            for row in conn.execute(select(policy_versions).where(policy_versions.c.id.in_(missing))):
                _PARSED[row.sha256] = parse_version(row)
    out = []
    for pid, row in chosen.items():
        history = tuple(
            Period(r.version, r.valid_from, r.valid_to, r.state != "published" and _replaced(r, by_id[pid]))
            for r in reversed(by_id[pid])
        )
        out.append(Listed(_PARSED[row.sha256], row.version, row.published_at, history))
    return out


def _replaced(row: Any, versions: list[Any]) -> bool:
    """A retired version that a later correction replaced — not one that expired or was renewed."""
    return any(v.version > row.version and not renews(v, row) for v in versions)


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
