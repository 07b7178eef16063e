"""Which policies a run evaluates for whom (see runs.py for the scope rule)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from mianshen.matching.library import MAX_LAYERS, Manifest
from mianshen.profiles import mirror
from mianshen.profiles.snapshot import presence_order
from mianshen.rules.ast import Policy
from mianshen.store.schema import enterprises


@dataclass
class Plan:
    scope: str  # full | incremental
    reason: str  # why, in Chinese
    everyone: list[Policy] = field(default_factory=list)  # evaluated for every enterprise
    changed_only: list[Policy] = field(default_factory=list)  # evaluated for the changed enterprises
    changed: list[str] | None = None  # DuckDB table `changed(id)` holds them (incremental runs)


def plan(
    conn: Connection,
    duck: Any,
    previous: Manifest | None,
    as_of: dt.date,
    active: list[Policy],
    policy_id: str | None,
    full: bool,
    top: int,
) -> Plan:
    reason = ""
    if full:
        reason = "按要求全量匹配"
    elif policy_id is not None:
        chosen = [p for p in active if p.id == policy_id]
        why = (
            f"指定政策 {policy_id}，对全部企业匹配" if chosen else f"指定政策 {policy_id} 在评估日不是现行政策，未匹配"
        )
        return Plan("full", why, chosen)
    elif previous is None:
        reason = "首次匹配，全量"
    elif previous.as_of != as_of.isoformat():
        reason = f"评估日由 {previous.as_of} 改为 {as_of}，全量匹配"
    elif previous.depth() >= MAX_LAYERS:
        reason = f"匹配库已累积 {previous.depth()} 层增量结果，全量重写"
    elif any(layer.presence != presence_order() for layer in previous.layers):
        reason = "字段目录已变化，全量匹配"
    if reason or previous is None:
        return Plan("full", reason, list(active))
    changed = changed_enterprises(conn, duck, previous.last_batch, top)
    new = [p for p in active if previous.active.get(p.id) != p.version or not previous.chain(p.id)]
    fresh = {p.id for p in new}
    rest = [p for p in active if p.id not in fresh] if changed else []
    reason = f"增量：批次 {previous.last_batch} 之后数据有变化的企业 {len(changed)} 家"
    if new:
        reason += f"；新发布或新生效的政策 {'、'.join(p.id for p in new)} 对全部企业匹配"
    return Plan("incremental", reason, new, rest, changed)


def changed_enterprises(conn: Connection, duck: Any, after: int, top: int) -> list[str]:
    """Enterprises with an observation (or a first appearance) in a batch after `after`, up to
    `top`, read from the mirror; also left in DuckDB table `changed(id)`."""
    files = [path for batch, path in mirror.ensure(conn, duck, top).items() if batch > after]
    new = sorted(r[0] for r in conn.execute(select(enterprises.c.uscc).where(enterprises.c.first_batch_id > after)))
    listed = ", ".join(f"'{str(p).replace(chr(39), chr(39) * 2)}'" for p in files)
    observed = (
        f"SELECT DISTINCT uscc AS id FROM read_parquet([{listed}])"
        if files
        else "SELECT NULL::VARCHAR AS id WHERE false"
    )
    duck.execute(
        f"CREATE OR REPLACE TEMP TABLE changed AS SELECT DISTINCT id FROM ({observed} UNION ALL "
        "SELECT unnest(?::VARCHAR[]) AS id) WHERE id IS NOT NULL ORDER BY id",
        [new],
    )
    return [r[0] for r in duck.execute("SELECT id FROM changed").fetchall()]
