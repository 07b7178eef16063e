"""`mianshen policy publish|versions` (政策库) and `mianshen match` (匹配库, 立案)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mianshen.audit.log import Actor
from mianshen.cli.data import DB_OPTION
from mianshen.cli.explain import parse_as_of
from mianshen.cli.main import cli
from mianshen.cli.policy import policy
from mianshen.cli.progress import progress
from mianshen.errors import InputError
from mianshen.matching.summary import RunReport
from mianshen.store.db import open_store


@policy.command("publish")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--actor", required=True, help="发布人姓名（记入审计日志）。")
@DB_OPTION
def publish_cmd(paths: tuple[str, ...], actor: str, db: str | None) -> None:
    """发布政策文件为政策库中的一个版本（保存原文与 SHA-256），同一政策的上一版本随之停用。"""
    from mianshen.matching.publish import publish_policy
    from mianshen.rules.loader import policy_files

    engine = open_store(db)
    with engine.begin() as conn:  # all files or none: a half-published set would match inconsistently
        for path in policy_files(paths):
            done = publish_policy(conn, path, Actor(actor, "department"))
            if done.unchanged:
                click.echo(f"{done.policy_id} 第 {done.version} 版已发布，内容相同，未改动")
            else:
                retired = f"，第 {done.retired} 版停用" if done.retired else ""
                click.echo(f"{done.policy_id} 第 {done.version} 版已发布{retired}（{path}）")


@policy.command("versions")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@DB_OPTION
def versions_cmd(as_json: bool, db: str | None) -> None:
    """列出政策库中的全部版本：状态、有效期、发布人、SHA-256。"""
    from mianshen.matching.publish import list_versions

    with open_store(db).connect() as conn:
        rows = list_versions(conn)
    if as_json:
        keys = ("policy_id", "version", "kind", "title", "state", "valid_from", "valid_to", "sha256")
        data = [{k: getattr(r, k) for k in keys} | {"published_by": r.published_by} for r in rows]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return
    if not rows:
        click.echo("政策库中还没有已发布的政策；用 mianshen policy publish 文件 --actor 姓名 发布")
    for r in rows:
        state = "现行" if r.state == "published" else "已停用"
        until = r.valid_to or "长期"
        click.echo(
            f"{r.policy_id:<26} 第{r.version}版 {state} {r.kind} {r.valid_from} 至 {until} "
            f"{r.published_by} {r.published_at:%Y-%m-%d %H:%M} {r.sha256[:12]}"
        )


@cli.command("match")
@click.option("--policy", "policy_id", default=None, help="只匹配这一项政策（对全部企业）。")
@click.option("--as-of", "as_of", default=None, help="评估日期，如 2025-06-30；默认今天。")
@click.option("--full", is_flag=True, help="全量匹配（默认：有上次匹配且评估日相同时只匹配变化的部分）。")
@click.option(
    "--from",
    "layer_from",
    default=None,
    type=click.Path(path_type=Path),
    help="取 match-spark 写出的匹配结果目录作为本次匹配的结果（不在本机评估）。",
)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出本次匹配的汇总。")
@DB_OPTION
def match_cmd(
    policy_id: str | None, as_of: str | None, full: bool, layer_from: Path | None, as_json: bool, db: str | None
) -> None:
    """按评估日匹配政策库中现行的条件类、暂难数据化类政策，写入匹配库，对符合的企业立案，对待补充数据的开数据请求。"""
    from mianshen.matching.runs import run_match

    if layer_from is not None and (policy_id or full):
        raise InputError("--from 取整份外部匹配结果，不能与 --policy、--full 同用")
    from mianshen.matching.runs import STEPS

    with progress("匹配", total=len(STEPS)) as moved:
        report = run_match(
            open_store(db),
            parse_as_of(as_of),
            policy_id,
            full,
            layer_from=layer_from,
            progress=lambda step, label: moved(step, description=f"匹配：{label}"),
        )
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        _print(report)


def _print(r: RunReport) -> None:
    scope = "全量" if r.scope == "full" else "增量"
    click.echo(f"匹配运行 #{r.run_id}（{scope}），评估日 {r.as_of}：{r.reason}")
    click.echo(
        f"读取企业 {r.enterprises} 家，评估 {r.evaluated} 对，变化 {r.changed} 对，新立案 {r.cases_created} 件，"
        f"新数据请求 {r.requests_opened} 项（已补齐 {r.requests_resolved} 项），用时 {r.seconds:.1f} 秒"
    )
    if not r.policies:
        click.echo("政策库中没有在评估日有效的条件类或暂难数据化类政策；先用 mianshen policy publish 发布")
        return
    click.echo(f"{'政策':<24}{'符合':>8}{'不符合':>8}{'待补数据':>8}{'新符合':>7}{'不再符合':>8}{'金额合计（元）':>18}")
    for t in r.policies:
        title = t.title if len(t.title) <= 12 else t.title[:11] + "…"
        click.echo(
            f"{title + f' v{t.version}':<24}{t.eligible:>8}{t.ineligible:>8}{t.unknown:>8}"
            f"{t.new_eligible:>7}{t.lost_eligible:>8}{t.total:>18,.2f}"
        )
    if r.review:
        click.echo(f"以下 {len(r.review)} 件案件的企业已不再符合条件（案件未删除，请审核人员决定）：")
        for item in r.review[:50]:
            click.echo(
                f"  案件 {item['case_id']}（{item['state']}）{item['policy_id']} {item['uscc']}："
                f"{item['old_status']} → {item['new_status']}"
            )
        if len(r.review) > 50:
            click.echo(f"  ……另有 {len(r.review) - 50} 件，用 --json 查看全部")
