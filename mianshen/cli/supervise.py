"""`mianshen supervise ledger | items | report | scorecard`: the overdue ledger, 督办 items, the performance
evaluation (预算绩效) and the department and region scorecards — the numbers the pages show."""

from __future__ import annotations

import json

import click
from sqlalchemy import Connection, select

from mianshen.cli.data import DB_OPTION
from mianshen.cli.main import cli
from mianshen.errors import InputError
from mianshen.store.db import open_store, reading
from mianshen.store.schema import cases, policy_versions
from mianshen.supervision import items as items_mod
from mianshen.supervision import ledger as ledger_mod
from mianshen.supervision import report as report_mod
from mianshen.supervision import scorecard as scorecard_mod


@cli.group()
def supervise() -> None:
    """监督问效：逾期台账（各环节承诺时限）与政策绩效评价。"""


def _known(conn: Connection, policy: str | None) -> set[str] | None:
    if policy is None:
        return None
    found = conn.execute(select(policy_versions.c.policy_id).where(policy_versions.c.policy_id == policy)).first()
    if found is None:
        raise InputError(f"政策“{policy}”不存在（用 mianshen policy list 查看已发布的政策）")
    return {policy}


@supervise.command("ledger")
@click.option("--policy", default=None, help="只看一项政策（政策编号）。")
@click.option("--period", default=None, help="只看一个享受年度（如 2025）。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@DB_OPTION
def ledger_cmd(policy: str | None, period: str | None, as_json: bool, db: str | None) -> None:
    """逾期台账：超过本环节承诺时限的案件，按部门、政策、地区、环节与超期工作日数统计。"""
    engine = open_store(db)
    with reading(engine) as conn:
        found = ledger_mod.collect(conn, _known(conn, policy), [cases.c.period == period] if period else [])
    if as_json:
        click.echo(json.dumps(found.as_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"逾期台账（统计日 {found.as_of}）：共 {found.total} 件逾期")
    for s in found.by_stage():
        click.echo(f"  {s['label']}：{s['cases']} 件")
    for r in found.rows:
        buckets = "，".join(f"超 {k} 个工作日 {n} 件" for k, n in r["buckets"].items() if n)
        click.echo(
            f"{r['department']} · {r['title']} · {r['region_name']} · {r['stage_label']}"
            f"（承诺 {r['limit_days']} 个工作日）：{r['cases']} 件，最长超 {r['max_over']} 个工作日（{buckets}）"
        )


@supervise.command("report")
@click.option("--policy", required=True, help="政策编号。")
@click.option("--period", default=None, help="享受年度（如 2025），默认全部年度。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@DB_OPTION
def report_cmd(policy: str, period: str | None, as_json: bool, db: str | None) -> None:
    """政策绩效评价：符合条件、通知、确认、批准、拨付、不予通过、追回，享受率，预算与金额，兑现时长，异议，分地区。"""
    engine = open_store(db)
    with reading(engine) as conn:
        _known(conn, policy)
        found = report_mod.collect(conn, policy, period)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2, default=str))
        return
    for label, value in report_mod.lines(found):
        click.echo(f"{label}：{value}")


@supervise.command("items")
@click.option("--policy", default=None, help="只看一项政策的督办事项（政策编号）。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@DB_OPTION
def items_cmd(policy: str | None, as_json: bool, db: str | None) -> None:
    """督办事项：未办结的在前（逾期、交办、办理中），与工作专班在“督办事项”页看到的相同。"""
    engine = open_store(db)
    with reading(engine) as conn:
        _known(conn, policy)
        found = [
            i for i in items_mod.listed(conn, "platform_admin", None) if policy is None or i["policy_id"] == policy
        ]
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2, default=str))
        return
    counts = {label: sum(1 for i in found if i["status"] == key) for key, label in items_mod.STATUS.items()}
    click.echo("督办事项：" + "，".join(f"{label} {n} 项" for label, n in counts.items()))
    for i in found:
        click.echo(f"#{i['id']} [{i['status_label']}] {i['department']} · 期限 {i['deadline']} · {i['summary']}")


@supervise.command("scorecard")
@click.option("--period", default=None, help="享受年度（如 2025），默认全部年度。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@DB_OPTION
def scorecard_cmd(period: str | None, as_json: bool, db: str | None) -> None:
    """部门与地区评分表：逾期率、兑现时长、享受率、数据需求答复、督办逾期，按页面写明的规则排名。"""
    engine = open_store(db)
    with reading(engine) as conn:
        found = scorecard_mod.collect(conn, period)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2, default=str))
        return
    header = [label for _, label in scorecard_mod.COLUMNS]
    for kind, title in (("departments", "部门"), ("regions", "地区")):
        click.echo(f"{title}（统计日 {found['as_of']}）")
        for row in scorecard_mod.table(found[kind], kind):
            click.echo("  " + "；".join(f"{h} {v}" for h, v in zip(header, row, strict=True)))
    click.echo(found["rule"])
