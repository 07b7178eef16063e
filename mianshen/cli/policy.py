"""`mianshen policy check|test`: the policy author's loop."""

from __future__ import annotations

import json
import sys

import click

from mianshen.cli.main import cli, policies_option, shipped_when_empty
from mianshen.errors import Diagnostic
from mianshen.rules.ast import Policy
from mianshen.rules.loader import read_policies, shipped_or_path
from mianshen.rules.testing import run_tests


@cli.group()
def policy() -> None:
    """政策文件：检查、测试。"""


@policy.command()
@click.argument("paths", nargs=-1, type=click.Path(), callback=shipped_when_empty)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出诊断。")
@click.option("--db", default=None, help="数据库地址：部门声明的字段也可使用（默认看环境变量 MIANSHEN_DATABASE_URL）。")
def check(paths: tuple[str, ...], as_json: bool, db: str | None) -> None:
    """检查政策文件：语法、字段、类型、区间、日期、重复 id（不给路径时检查随软件发布的政策目录）。"""
    from mianshen.store.fields import install_named

    install_named(db)
    policies, diagnostics = read_policies(paths)
    errors = [d for d in diagnostics if d.severity == "error"]
    if as_json:
        click.echo(
            json.dumps(
                {"policies": [p.id for p in policies], "diagnostics": [d.as_dict() for d in diagnostics]},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for diag in diagnostics:
            click.echo(str(diag), err=diag.severity == "error")
        click.echo(f"{len(policies)} 项政策通过检查，{len(errors)} 个错误，{len(diagnostics) - len(errors)} 个警告")
    if errors or not policies:
        sys.exit(1)


def _read_reporting_errors(paths: tuple[str, ...]) -> tuple[list[Policy], list[Diagnostic]]:
    """The policies that load, with each file's errors printed to stderr (the others still listed/tested)."""
    policies, diagnostics = read_policies(paths)
    errors = [d for d in diagnostics if d.severity == "error"]
    for diag in errors:
        click.echo(str(diag), err=True)
    return policies, errors


@policy.command("list")
@policies_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
def list_cmd(policy_paths: tuple[str, ...], as_json: bool) -> None:
    """列出政策（默认随软件发布的政策目录）：id、名称、类别、部门、有效期、文件。"""
    policies, errors = _read_reporting_errors(policy_paths)
    rows = [
        {
            "id": p.id,
            "title": p.title,
            "kind": p.kind,
            "department": p.department,
            "valid_from": p.valid_from.isoformat(),
            "valid_to": p.valid_to.isoformat() if p.valid_to else None,
            "path": p.path,
        }
        for p in sorted(policies, key=lambda p: p.id)
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            valid = f"{row['valid_from']} 至 {row['valid_to'] or '长期'}"
            click.echo(f"{row['id']}\t{row['title']}\t{row['kind']}\t{row['department']}\t{valid}")
        click.echo(f"共 {len(rows)} 项政策（{policy_paths[0] if len(policy_paths) == 1 else '、'.join(policy_paths)}）")
    if errors:
        sys.exit(1)


@policy.command("test")
@click.argument("paths", nargs=-1, type=click.Path(), callback=shipped_when_empty)
@click.option("-v", "--verbose", is_flag=True, help="列出每个测试。")
def test_cmd(paths: tuple[str, ...], verbose: bool) -> None:
    """运行政策文件中的测试（不给路径时为随软件发布的政策目录），最后一行为 `N passed, N failed`。"""
    policies, errors = _read_reporting_errors(paths)
    outcomes = run_tests(policies)
    for outcome in outcomes:
        if verbose or not outcome.passed:
            mark = "通过" if outcome.passed else "失败"
            click.echo(f"[{mark}] {outcome.policy.id} · {outcome.test.name}（{outcome.test.loc}）")
            for line in outcome.problems:
                click.echo(f"    {line}")
    passed = sum(o.passed for o in outcomes)
    failed = len(outcomes) - passed + len(errors)
    click.echo(f"{passed} passed, {failed} failed")
    if failed:
        sys.exit(1)


@policy.command()
@click.argument("path", type=click.Path())
@click.option("--as-of", "as_of", default=None, help="按哪一天的参数值说明，默认今天。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
def show(path: str, as_of: str | None, as_json: bool) -> None:
    """用中文展示一项政策：依据、条件、金额、办事指南（政策清单与办事指南清单使用同一文字）。"""
    from mianshen.cli.explain import parse_as_of
    from mianshen.rules.describe import describe_policy
    from mianshen.rules.loader import load_policy

    day = parse_as_of(as_of)
    info = describe_policy(load_policy(shipped_or_path(path, day)), day)
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"《{info['title']}》（{info['kind']}，{info['department']}）")
    click.echo(f"政策依据：{'；'.join(info['legal_basis'])}")
    click.echo(f"有效期：{info['valid']}" + (f"；预算 {info['budget']}" if info["budget"] else ""))
    click.echo("享受条件：")
    for line in info["conditions"]:
        click.echo(f"  {line}")
    click.echo(f"{info['amount_label']}：")
    for line in info["amount"]:
        click.echo(f"  {line}")
    click.echo(f"公示 {info['publicity_days']} 个工作日，异议期 {info['objection_days']} 个工作日")
    guide = info["guide"]
    for key, title in (
        ("conditions_text", "办理条件"),
        ("materials", "所需材料"),
        ("time_limit", "办理时限"),
        ("process", "办理流程"),
        ("contact", "咨询方式"),
    ):
        if key in guide:
            value = guide[key]
            click.echo(f"{title}：{'；'.join(map(str, value)) if isinstance(value, list) else value}")
