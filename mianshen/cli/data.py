"""`mianshen data …` and `mianshen profile show`: the data manager's and the auditor's view of 企业画像库."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from mianshen.catalogue import load_catalogue
from mianshen.cli.actor import OPERATOR_OPTION, operator
from mianshen.cli.explain import parse_as_of
from mianshen.cli.main import cli, policies_option
from mianshen.cli.progress import progress
from mianshen.profiles.imports import ImportReport, import_file
from mianshen.profiles.sources import list_sources, load_source_file, register_source
from mianshen.store.db import open_store
from mianshen.store.paths import var_dir

DB_OPTION = click.option(
    "--db", default=None, help="数据库地址，默认环境变量 MIANSHEN_DATABASE_URL 或 运行目录下的 mianshen.sqlite。"
)


@cli.group()
def data() -> None:
    """企业画像库：数据源、导入、数据质量。"""


@data.command("sources")
@click.argument("definition", required=False, type=click.Path())
@OPERATOR_OPTION
@DB_OPTION
def sources_cmd(definition: str | None, operator_name: str | None, db: str | None) -> None:
    """登记数据源（给出定义文件时，记入审计日志），并列出已登记的数据源。"""
    engine = open_store(db)
    with engine.begin() as conn:
        if definition:
            for source in load_source_file(definition):
                register_source(conn, source, operator(operator_name))
        for source in list_sources(conn):
            click.echo(
                f"{source.id:<12} {source.department}·{source.name}  更新{source.refresh}，"
                f"时效 {source.freshness_days} 天，优先级 {source.priority}，字段：{'、'.join(source.fields)}"
            )


@data.command("import")
@click.option("--source", "source_id", required=True, help="数据源 id。")
@click.option("--as-of", "as_of", default=None, help="数据日期（文件无日期列时用），默认今天。")
@click.option("--rejects", "rejects_path", default=None, type=click.Path(), help="拒收报告 CSV 的保存路径。")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@OPERATOR_OPTION
@DB_OPTION
def import_cmd(
    source_id: str,
    as_of: str | None,
    rejects_path: str | None,
    files: tuple[str, ...],
    operator_name: str | None,
    db: str | None,
) -> None:
    """导入数据文件（CSV、XLSX、Parquet、JSON Lines）为导入批次（记入审计日志）；坏行写入拒收报告。"""
    engine = open_store(db)
    day = parse_as_of(as_of)
    for file in files:
        with progress(f"导入 {Path(file).name}") as moved:
            report = import_file(
                engine, source_id, file, day, operator(operator_name), lambda done, total: moved(done, total=total)
            )
        _print_report(report, file)
        if report.rejects:
            target = Path(rejects_path or var_dir() / "rejects" / f"batch-{report.batch_id}.csv")
            write_reject_report(report, target)
            click.echo(f"  拒收报告：{target}")


def _print_report(report: ImportReport, file: str) -> None:
    if report.duplicate_of is not None:
        click.echo(f"{file}：与批次 {report.duplicate_of} 是同一文件，已导入过，本次不做任何改动")
        return
    click.echo(
        f"{file}：批次 {report.batch_id}，读取 {report.rows_read} 行，接收 {report.accepted} 行"
        f"（观测值 {report.observations} 个），拒收 {report.rejected} 行，警告 {report.warnings} 行"
    )
    for reject in report.rejects[:20]:
        kind = "拒收" if reject["severity"] == "error" else "警告"
        click.echo(f"  第 {reject['row_number']} 行 {kind}：{reject['reason']}")
    if len(report.rejects) > 20:
        click.echo(f"  ……另有 {len(report.rejects) - 20} 行，见拒收报告")


def write_reject_report(report: ImportReport, target: Path) -> None:
    from mianshen.sheets import save_csv

    kinds = {"error": "拒收"}
    rows = (
        [r["row_number"], kinds.get(r["severity"], "警告"), r["uscc"] or "", r["reason"], r["raw"]]
        for r in report.rejects
    )
    save_csv(target, ["行号", "类别", "统一社会信用代码", "原因", "原始内容"], rows)


@cli.group()
def profile() -> None:
    """企业画像：按日期查看一家企业的全部字段及来源。"""


@profile.command("show")
@click.argument("uscc")
@click.option("--as-of", "as_of", default=None, help="查看哪一天的画像，默认今天。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@DB_OPTION
def profile_show(uscc: str, as_of: str | None, as_json: bool, db: str | None) -> None:
    """显示企业画像：每个字段的值、来源、数据日期和导入批次；来源不一致时列出冲突。"""
    from mianshen.catalogue import load_catalogue
    from mianshen.profiles.current import read_profile
    from mianshen.rules.values import show

    catalogue = load_catalogue()
    engine = open_store(db)
    with engine.connect() as conn:
        stored = read_profile(conn, uscc, parse_as_of(as_of))
    if as_json:
        click.echo(json.dumps(stored.as_dict(), ensure_ascii=False, indent=2))
        return
    status = {"valid": "校验通过", "check_failed": "校验未通过，待人工核定", "overridden": "校验未通过，已人工核定"}
    click.echo(
        f"{stored.name or ''}（{stored.uscc}，统一社会信用代码{status.get(stored.uscc_status, stored.uscc_status)}），画像日期 {stored.as_of}"
    )
    for name, item in sorted(stored.fields.items()):
        origin = "派生" if item.derived else f"批次 {item.batch_id}"
        spec = catalogue.get(name)
        click.echo(
            f"  {item.label}（{name}）：{show(item.value, spec)}  〔{item.source}，截至 {item.as_of}，{origin}〕"
        )
        for source, text in item.conflicts:
            click.echo(f"      ⚠ 来源不一致：{source} 报 {text}（按来源优先级采用上一行）")


@data.command("quality")
@click.option("--as-of", "as_of", default=None, help="按哪一天评估，默认今天。")
@policies_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@DB_OPTION
def quality_cmd(as_of: str | None, policy_paths: tuple[str, ...], as_json: bool, db: str | None) -> None:
    """数据质量：各字段覆盖率、过期、来源冲突；各政策因缺哪些数据而“待补充数据”。"""
    from mianshen.errors import PolicyFileError
    from mianshen.profiles.quality import quality_report
    from mianshen.rules.loader import read_policies
    from mianshen.rules.versions import one_per_policy

    policies, diagnostics = read_policies(policy_paths)
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        raise PolicyFileError(errors)
    engine = open_store(db)
    day = parse_as_of(as_of)
    with engine.connect() as conn:
        report = quality_report(conn, day, one_per_policy(policies, day))
    catalogue = load_catalogue()
    policies_json: list[dict[str, Any]] = [
        {
            "policy": g.policy.id,
            "title": g.policy.title,
            "unknown": g.unknown,
            "data_requests": [
                {
                    "field": f,
                    "label": catalogue.fields[f].label,
                    "department": catalogue.fields[f].source,
                    "enterprises": n,
                }
                for f, n in sorted(g.by_field.items(), key=lambda kv: -kv[1])
            ],
        }
        for g in report.policies
    ]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "as_of": report.as_of.isoformat(),
                    "enterprises": report.enterprises,
                    "fields": [q.as_dict(report.enterprises) for q in report.fields],
                    "policies": policies_json,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(f"评估日 {report.as_of}，企业 {report.enterprises} 家")
    click.echo("字段质量（覆盖 / 过期 / 来源冲突）：")
    for q in report.fields:
        share = f"{q.covered / report.enterprises:.1%}" if report.enterprises else "-"
        click.echo(
            f"  {q.label}（{q.field}）：覆盖 {q.covered}（{share}），过期 {q.stale}，冲突 {q.conflicts}  〔{'、'.join(q.sources)}〕"
        )
    click.echo("各政策待补充数据（把“未知”变成数据请求）：")
    for item in policies_json:
        click.echo(f"  {item['title']}：待补充数据 {item['unknown']} 家")
        for req in item["data_requests"]:
            click.echo(f"    缺“{req['label']}”{req['enterprises']} 家 → 请{req['department']}提供")


@data.command("uscc-override")
@click.argument("uscc")
@click.option("--actor", required=True, help="核定人（姓名、工号）。")
@click.option("--reason", required=True, help="核定理由，如“经登记机关确认，该代码为历史赋码”。")
@DB_OPTION
def uscc_override_cmd(uscc: str, actor: str, reason: str, db: str | None) -> None:
    """人工核定校验未通过的统一社会信用代码（记录核定人和理由）。"""
    from mianshen.profiles.overrides import override_uscc

    with open_store(db).begin() as conn:
        override_uscc(conn, uscc, actor, reason)
    click.echo(f"已核定 {uscc.strip().upper()}：{actor}，理由：{reason}")


@profile.command("gaps")
@click.argument("uscc")
@click.option("--as-of", "as_of", default=None, help="按哪一天评估，默认今天。")
@policies_option
@DB_OPTION
def profile_gaps(uscc: str, as_of: str | None, policy_paths: tuple[str, ...], db: str | None) -> None:
    """一家企业在哪些政策上因缺哪些数据而“待补充数据”，以及应由哪个部门提供。"""
    from mianshen.profiles.current import read_profile
    from mianshen.profiles.gaps import inputs_by_condition, missing_fields
    from mianshen.rules.evaluate import evaluate
    from mianshen.rules.loader import read_policies
    from mianshen.rules.versions import one_per_policy
    from mianshen.sqlgen.screen import screenable

    day = parse_as_of(as_of)
    policies = one_per_policy(read_policies(policy_paths)[0], day)
    with open_store(db).connect() as conn:
        stored = read_profile(conn, uscc, day)
    catalogue = load_catalogue()
    found = False
    for policy in screenable(policies):
        result = evaluate(policy, stored.to_profile(), day)
        if result.status != "unknown":
            continue
        inputs = inputs_by_condition(policy)
        missing = missing_fields(inputs, result.unknown, stored.fields)
        found = True
        click.echo(f"{policy.title}：待补充数据")
        for name in missing:
            spec = catalogue.fields[name]
            click.echo(f"  缺“{spec.label}”（{name}）→ 请{spec.source}提供")
    if not found:
        click.echo("没有因缺数据而无法判断的政策")
