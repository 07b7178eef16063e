"""`mianshen audit verify | log`: the auditor's view of the hash-chained audit log."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from sqlalchemy import select

from mianshen.audit.anchors import checkpoint
from mianshen.audit.log import verify
from mianshen.cli.data import DB_OPTION
from mianshen.cli.main import cli
from mianshen.errors import InputError
from mianshen.store.db import open_store
from mianshen.store.schema import audit_log


@cli.group()
def audit() -> None:
    """审计日志：核验哈希链，查询事件。"""


@audit.command("verify")
@DB_OPTION
def verify_cmd(db: str | None) -> None:
    """逐行重算哈希链；链完整时退出码 0，否则退出码 1 并指出第一处断开的行。

    改动一行 → 指出该行；删除一行 → 指出其后一行；改写后重算其后各行哈希 → 由带密钥的检查点发现（指出检查点
    所在的行）。链完整时写入新的检查点（密钥见 docs/security.md），并输出末行哈希，可另行抄存（如随日报报送）。
    """
    engine = open_store(db)
    with engine.connect() as conn:
        check = verify(conn)
    if check.first_broken is None:
        with engine.begin() as conn:
            checkpoint(conn)
    with engine.connect() as conn:
        head = conn.execute(
            select(audit_log.c.id, audit_log.c.row_hash).order_by(audit_log.c.id.desc()).limit(1)
        ).first()
    if check.first_broken is not None:
        click.echo(
            f"审计链断开：第一处问题在 id={check.first_broken} 的行——{check.problem}"
            f"（此前 {check.rows - 1} 行核验无误）",
            err=True,
        )
        sys.exit(1)
    click.echo(f"审计链完整，共 {check.rows} 行")
    if head is not None:
        click.echo(f"末行 id={head[0]}，哈希 {head[1]}")


def _entity(text: str) -> tuple[str, str | None]:
    kind, _, ident = text.partition(":")
    if not kind:
        raise InputError(f"--entity “{text}”应写成 类型 或 类型:编号，如 case:12、policy:kuogang-buzhu")
    return kind, ident or None


@audit.command("log")
@click.option("--entity", default=None, help="只看某对象，如 case:12、policy:kuogang-buzhu 或 case。")
@click.option("--actor", default=None, help="只看某操作人。")
@click.option("--action", default=None, help="只看某类操作，如 case.approve、policy.publish。")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), help="最多显示多少条（最新的）。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON Lines 输出。")
@DB_OPTION
def log_cmd(
    entity: str | None, actor: str | None, action: str | None, limit: int, as_json: bool, db: str | None
) -> None:
    """列出审计事件（最新的在后）：时间、操作人、角色、操作、对象、改动前后。"""
    query = select(audit_log)
    if entity:
        kind, ident = _entity(entity)
        query = query.where(audit_log.c.entity_type == kind)
        if ident is not None:
            query = query.where(audit_log.c.entity_id == ident)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if action:
        query = query.where(audit_log.c.action == action)
    engine = open_store(db)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit)).mappings()]
    rows.reverse()
    for row in rows:
        if as_json:
            click.echo(json.dumps(_as_json(row), ensure_ascii=False))
            continue
        change = ""
        if row["before"] is not None or row["after"] is not None:
            change = f"  {row['before'] or '—'} → {row['after'] or '—'}"
        click.echo(
            f"#{row['id']} {row['at']:%Y-%m-%d %H:%M:%S} {row['actor']}（{row['role']}） "
            f"{row['action']} {row['entity_type']}:{row['entity_id']}{change}"
        )
    if not rows and not as_json:
        click.echo("没有符合条件的审计事件")


def _as_json(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items()}
    out["at"] = row["at"].isoformat()
    for key in ("before", "after"):
        out[key] = None if row[key] is None else json.loads(row[key])
    return out
