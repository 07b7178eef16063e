"""`mianshen reference …`: look up the national standards the platform rests on.

Every value is read as text and checked here, so a bad value gives one Chinese line (via
InputError and the top-level group) instead of click's English usage message.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys

import click

from mianshen.cli.main import cli
from mianshen.errors import InputError
from mianshen.reference.enterprise_size import classify_size
from mianshen.reference.industries import lookup_industry
from mianshen.reference.regions import find_region, lookup_region_any
from mianshen.reference.uscc import check_uscc, describe_kind
from mianshen.reference.workdays import default_calendar, load_calendar

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            raise ValueError
        return dt.date.fromisoformat(text.strip())
    except ValueError as exc:
        raise InputError(f"{option} “{text}”不是有效日期（应写成 2025-09-30）") from exc


@cli.group()
def reference() -> None:
    """国家标准查询：统一社会信用代码、行业分类、行政区划、企业划型、工作日。"""


@reference.command()
@click.argument("code")
@JSON_OPTION
def uscc(code: str, as_json: bool) -> None:
    """校验统一社会信用代码（GB 32100-2015）；未通过时退出码为 1。"""
    check = check_uscc(code)
    department, kind = describe_kind(check.code)
    warnings: list[str] = []
    region: dict[str, object] | None = None
    if check.region is not None:
        info = find_region(check.region)
        if info is None:
            warnings.append(
                f"登记管理机关行政区划码 {check.region} 不在现行区划表中，可能是已撤销的旧代码（仅提示，不影响代码有效性）"
            )
            region = {"code": check.region, "name": None, "current_code": None, "old_name": None, "note": ""}
        else:
            region = {
                "code": check.region,
                "name": info.full_name,
                "current_code": info.code,
                "old_name": info.historical_name,
                "note": info.note,
            }
            if info.historical_code:
                warnings.append(f"登记管理机关行政区划码 {info.note}（仅提示，不影响代码有效性）")
    if as_json:
        _echo_json(
            {
                "code": check.code,
                "valid": check.valid,
                "problems": list(check.problems),
                "department": department,
                "kind": kind,
                "subject_type": check.subject_type,
                "region": region,
                "warnings": warnings,
            }
        )
    else:
        click.echo(f"统一社会信用代码 {check.code}")
        if check.valid:
            click.echo("结论：校验通过")
        elif check.region is None:  # wrong length or characters: not a USCC at all
            click.echo(f"结论：格式错误，不是统一社会信用代码：{'；'.join(check.problems)}")
        else:
            click.echo("结论：校验未通过（警告：经办人员核实后可放行，不应直接剔除该企业）")
            for problem in check.problems:
                click.echo(f"  - {problem}")
        if check.region is not None:
            click.echo(
                f"登记管理部门：{department or '未知'}；机构类别：{kind or '未知'}；主体类型：{check.subject_type or '其他'}"
            )
            name = region.get("name") if region else None
            if region and region.get("old_name"):
                name = f"{region['old_name']}（已撤销的旧代码，现为 {region['current_code']} {name}）"
            click.echo(f"登记管理机关行政区划：{check.region} {name or '（未找到）'}")
        for warning in warnings:
            click.echo(f"提示：{warning}")
    if not check.valid:
        sys.exit(1)


@reference.command()
@click.argument("code")
@JSON_OPTION
def industry(code: str, as_json: bool) -> None:
    """查询国民经济行业分类（GB/T 4754-2017），如 3011 或 C3011。"""
    info = lookup_industry(code)
    if as_json:
        _echo_json(info.as_dict())
        return
    click.echo(f"{info.code} {info.name}（{info.level_name}，GB/T 4754-2017）")
    for depth, node in enumerate(info.path):
        click.echo(f"{'  ' * depth}{node.level_name} {node.code} {node.name}")


@reference.command()
@click.argument("query")
@JSON_OPTION
def region(query: str, as_json: bool) -> None:
    """查询行政区划：6 位代码（含已撤销的旧代码）或名称。"""
    found = lookup_region_any(query)
    if as_json:
        _echo_json({"query": query, "results": [r.as_dict() for r in found]})
        return
    if len(found) > 1:
        click.echo(f"“{query}”对应 {len(found)} 个行政区划：")
    for info in found:
        path = " → ".join(f"{n.code} {n.name}" for n in info.path)
        click.echo(f"{info.code} {info.full_name}（{info.node.level_name}）：{path}")
        if info.note:
            click.echo(f"  说明：{info.note}")


@reference.command()
@click.option("--industry", "industry_code", default=None, help="行业代码（GB/T 4754-2017），如 C3011。")
@click.option("--employees", default=None, help="从业人员（人）。")
@click.option("--revenue", default=None, help="营业收入（万元）。")
@click.option("--assets", default=None, help="资产总额（万元）。")
@click.option("--as-of", "as_of", default=None, help="按哪一天有效的标准划型，默认今天。")
@JSON_OPTION
def size(
    industry_code: str | None,
    employees: str | None,
    revenue: str | None,
    assets: str | None,
    as_of: str | None,
    as_json: bool,
) -> None:
    """中小企业划型（工信部联企业〔2011〕300号）：大型、中型、小型、微型。"""
    if not industry_code:
        raise InputError("请用 --industry 给出行业代码（如 C3011）")
    result = classify_size(industry_code, employees, revenue, assets, _date(as_of, "--as-of"))
    if as_json:
        _echo_json(result.as_dict())
        return
    verdict = result.size if result.known else "无法划型（需补充数据或更细的行业代码）"
    click.echo(f"结论：{verdict}")
    if result.row_name:
        click.echo(f"适用行：{result.row_name}（{result.source}，{result.version} 版）")
    click.echo(f"理由：{result.reason}")


@reference.command()
@click.option("--from", "start", default=None, help="起算日期，如 2025-09-30（当天不计）。")
@click.option("--days", default=None, help="工作日数，可为负数（向前推）。")
@click.option("--to", "end", default=None, help="截止日期：改为统计 --from 之后到该日（含）的工作日数。")
@click.option("--holidays", "holidays_file", default=None, help="补充的节假日数据文件（YAML）。")
@JSON_OPTION
def workdays(start: str | None, days: str | None, end: str | None, holidays_file: str | None, as_json: bool) -> None:
    """按中国法定节假日和调休计算工作日。"""
    first = _date(start, "--from")
    if first is None:
        raise InputError("请用 --from 给出起算日期（如 2025-09-30）")
    if (days is None) == (end is None):
        raise InputError("请二选一：--days N（推算第 N 个工作日）或 --to 日期（统计工作日数）")
    calendar = load_calendar(holidays_file) if holidays_file else default_calendar()
    if days is not None:
        if not re.fullmatch(r"\s*[+-]?\d{1,5}\s*", days):
            raise InputError(f"--days “{days}”应为整数（绝对值不超过 99999）")
        result = calendar.add_working_days(first, int(days))
        data: dict[str, object] = {"from": str(first), "days": int(days), "date": str(result.date)}
        text = f"{first} 之后第 {int(days)} 个工作日：{result.date}"
        provisional, warnings = result.provisional, result.warnings
    else:
        last = _date(end, "--to")
        assert last is not None  # checked above: exactly one of --days/--to is given
        count = calendar.working_days_between(first, last)
        data = {"from": str(first), "to": str(last), "working_days": count.days}
        text = f"{first} 之后至 {last}（含）共 {count.days} 个工作日"
        provisional, warnings = count.provisional, count.warnings
    if as_json:
        _echo_json({**data, "provisional": provisional, "warnings": list(warnings)})
        return
    click.echo(text + ("（临时结果）" if provisional else ""))
    for warning in warnings:
        click.echo(f"提示：{warning}")
