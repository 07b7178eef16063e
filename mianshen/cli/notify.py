"""`mianshen notify send | list | retry`: the outbox from the operator's side."""

from __future__ import annotations

import datetime as dt
import json
import time

import click
from sqlalchemy import select

from mianshen.cli.data import DB_OPTION
from mianshen.cli.main import cli
from mianshen.errors import InputError
from mianshen.notify.sender import send_due
from mianshen.notify.templates import mask_uscc
from mianshen.store.db import open_store
from mianshen.store.schema import outbox

STATUS_LABELS = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "失败"}


@cli.group()
def notify() -> None:
    """通知发件箱：发送、查看、人工重发。"""


@notify.command("send")
@click.option("--once", is_flag=True, help="只发送一轮当前到期的消息后退出。")
@click.option("--interval", default=30.0, show_default=True, type=click.FloatRange(min=1), help="两轮之间的秒数。")
@DB_OPTION
def send_cmd(once: bool, interval: float, db: str | None) -> None:
    """发送到期的通知（失败的按退避时间重试）；渠道由 MIANSHEN_SMS_URL 等环境变量配置，见 docs/notifications.md。"""
    engine = open_store(db)
    while True:
        report = send_due(engine)
        click.echo(report.summary())
        for error in report.errors[:20]:
            click.echo(f"  {error}")
        if once:
            return
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            return


@notify.command("list")
@click.option("--status", type=click.Choice(sorted(STATUS_LABELS)), default=None, help="只看某状态。")
@click.option("--uscc", default=None, help="只看某企业（或部门收件人）。")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="以 JSON Lines 输出。")
@DB_OPTION
def list_cmd(status: str | None, uscc: str | None, limit: int, as_json: bool, db: str | None) -> None:
    """列出发件箱中的消息（最新的在前），收件人代码脱敏显示。"""
    query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if status:
        query = query.where(outbox.c.status == status)
    if uscc:
        query = query.where(outbox.c.uscc == uscc)
    engine = open_store(db)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for r in rows:
        if as_json:
            out = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in r.items() if k != "payload"}
            out["uscc"] = mask_uscc(r["uscc"])
            click.echo(json.dumps(out, ensure_ascii=False))
            continue
        error = f"  〔{r['last_error']}〕" if r["last_error"] else ""
        click.echo(
            f"#{r['id']} {STATUS_LABELS.get(r['status'], r['status'])} {r['channel']} {mask_uscc(r['uscc'])} "
            f"{r['step']} 模板 {r['template']}，已尝试 {r['attempts']} 次{error}"
        )
    if not rows and not as_json:
        click.echo("发件箱中没有符合条件的消息")


@notify.command("retry")
@click.argument("outbox_id", type=int)
@DB_OPTION
def retry_cmd(outbox_id: int, db: str | None) -> None:
    """把一条失败的消息改回待发送（人工核实未送达后使用；尝试次数清零）。"""
    engine = open_store(db)
    with engine.begin() as conn:
        done = conn.execute(
            outbox.update()
            .where(outbox.c.id == outbox_id, outbox.c.status == "failed")
            .values(status="pending", attempts=0, next_attempt_at=dt.datetime.now(dt.UTC))
        ).rowcount
    if done != 1:
        raise InputError(f"消息 #{outbox_id} 不存在或不是“失败”状态")
    click.echo(f"消息 #{outbox_id} 已改回待发送，下一轮发送")
