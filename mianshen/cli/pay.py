"""`mianshen list upload`, `mianshen apply` and `mianshen pay …`: the ways a case starts, and how it is paid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from mianshen.audit.log import Actor
from mianshen.cases.applications import submit_application
from mianshen.cases.lists import upload_list
from mianshen.cases.payments import create_batch, export_batch, mark_batch_paid, reconcile
from mianshen.cli.actor import actor_options, parse_day
from mianshen.cli.data import DB_OPTION
from mianshen.cli.main import cli
from mianshen.errors import InputError
from mianshen.store.db import open_store
from mianshen.store.paths import var_dir


@cli.group("list")
def list_group() -> None:
    """名单类政策：执行部门上传受益名单。"""


@list_group.command("upload")
@click.option("--policy", "policy_id", required=True)
@click.option("--period", default=None, help="享受期间，默认当年。")
@click.option("--on", default=None, help="上传日期（计算确认期限），默认今天。")
@click.option("--rejects", "rejects_path", default=None, type=click.Path(), help="拒收报告 CSV 的保存路径。")
@click.argument("file", type=click.Path())
@actor_options("department")
@DB_OPTION
def upload_cmd(
    policy_id: str,
    period: str | None,
    on: str | None,
    rejects_path: str | None,
    file: str,
    actor: Actor,
    db: str | None,
) -> None:
    """上传名单（XLSX/CSV：统一社会信用代码、金额、备注），校验后立案并通知企业。"""
    engine = open_store(db)
    with engine.begin() as conn:
        report = upload_list(conn, policy_id, file, actor, period, parse_day(on))
    if report.duplicate_of is not None:
        click.echo(f"{file}：与上传 {report.duplicate_of} 是同一文件，已处理过，本次不做任何改动")
        return
    click.echo(
        f"{file}：上传 {report.upload_id}，读取 {report.rows_read} 行，立案并通知 {len(report.case_ids)} 家，拒收 {len(report.rejects)} 行"
    )
    for warning in report.warnings:
        click.echo(f"  警告：{warning}")
    for reject in report.rejects[:20]:
        click.echo(f"  第 {reject['row_number']} 行拒收：{reject['reason']}")
    if report.rejects:
        target = Path(rejects_path or var_dir() / "rejects" / f"list-{report.upload_id}.csv")
        from mianshen.sheets import save_csv

        raw = (json.dumps(r["raw"], ensure_ascii=False, default=str) for r in report.rejects)
        rows = ([r["row_number"], r["reason"], text] for r, text in zip(report.rejects, raw, strict=True))
        save_csv(target, ["行号", "原因", "原始内容"], rows)
        click.echo(f"  拒收报告：{target}")


@cli.command("apply")
@click.option("--policy", "policy_id", required=True)
@click.option(
    "--form",
    "form_json",
    required=True,
    help='申请表 JSON，例如 {"联系人": "张三", "bank_account": "…", "commitment": "…"}。',
)
@click.option("--attach", "attachments", multiple=True, type=click.Path(), help="申请材料（可多次给出）。")
@click.option("--files-dir", default=None, type=click.Path(), help="材料保存目录，默认运行目录下的 files。")
@click.option("--period", default=None)
@actor_options("enterprise")
@DB_OPTION
def apply_cmd(
    policy_id: str,
    form_json: str,
    attachments: tuple[str, ...],
    files_dir: str | None,
    period: str | None,
    actor: Actor,
    db: str | None,
) -> None:
    """暂难数据化类政策：企业在线申请（申请表与材料），按政策承诺时限办理。"""
    try:
        form: Any = json.loads(form_json)
    except json.JSONDecodeError as exc:
        raise InputError(f"--form 不是有效的 JSON：{exc.msg}") from exc
    if not isinstance(form, dict):
        raise InputError("--form 应为 JSON 对象（字段名: 值）")
    engine = open_store(db)
    with engine.begin() as conn:
        case_id = submit_application(
            conn,
            policy_id,
            actor.uscc or "",
            form,
            [Path(a) for a in attachments],
            actor,
            files_dir=Path(files_dir) if files_dir else None,
            period=period,
        )
    click.echo(f"申请已受理：案件 {case_id}")


@cli.group()
def pay() -> None:
    """资金拨付：拨付批次、导出给财政、到账登记、对账。"""


@pay.command("batch")
@click.option("--policy", "policy_id", required=True)
@actor_options("finance")
@DB_OPTION
def batch_cmd(policy_id: str, actor: Actor, db: str | None) -> None:
    """把政策下已批准的案件列入拨付批次（中断后重新运行会续上同一批次，不会重复列入）。"""
    report = create_batch(open_store(db), policy_id, actor)
    resumed = "（续上未完成的批次）" if report.resumed else ""
    click.echo(
        f"拨付批次 {report.batch_id}{resumed}：本次列入 {report.added} 件，合计 {report.count} 件，{report.total} 元"
    )


@pay.command("export")
@click.argument("batch_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), default="csv", show_default=True)
@click.option(
    "--out", default=None, type=click.Path(), help="输出文件，默认运行目录下的 payments/batch-<编号>.<格式>。"
)
@click.option("--reveal", is_flag=True, help="写出完整收款账号（供财政拨付；读取记入审计日志）。")
@actor_options("finance")
@DB_OPTION
def export_cmd(
    batch_id: int,
    fmt: str,
    out: str | None,
    reveal: bool,
    actor: Actor,
    db: str | None,
) -> None:
    """导出拨付批次（CSV、XLSX、JSON；金额为精确文本）。"""
    target = Path(out or var_dir() / "payments" / f"batch-{batch_id}.{fmt}")
    with open_store(db).begin() as conn:
        rows = export_batch(conn, batch_id, fmt, target, actor, reveal)
    click.echo(f"已导出 {rows} 行：{target}")


@pay.command("mark-paid")
@click.argument("batch_id", type=int)
@actor_options("finance")
@DB_OPTION
def mark_paid_cmd(batch_id: int, actor: Actor, db: str | None) -> None:
    """登记批次已拨付到账（重复运行不会重复登记）。"""
    done = mark_batch_paid(open_store(db), batch_id, actor)
    click.echo(f"拨付批次 {batch_id}：本次登记到账 {done} 件")


@pay.command("reconcile")
@click.option("--policy", "policy_id", default=None)
@DB_OPTION
def reconcile_cmd(policy_id: str | None, db: str | None) -> None:
    """对账：拨付金额与核定金额逐案核对。"""
    with open_store(db).connect() as conn:
        report = reconcile(conn, policy_id)
    click.echo(
        f"拨付记录 {report['payments']} 条，核定合计 {report['approved_total']} 元，已到账合计 {report['paid_total']} 元"
    )
    for problem in report["problems"]:
        click.echo(f"  不符：{problem}")
    click.echo("对账一致" if report["ok"] else "对账不一致")
    if not report["ok"]:
        raise SystemExit(1)
