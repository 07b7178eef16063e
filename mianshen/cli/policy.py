"""`mianshen policy check|test`: the policy author's loop."""

from __future__ import annotations

import json
import sys

import click

from mianshen.cli.main import cli
from mianshen.rules.loader import read_policies
from mianshen.rules.testing import run_tests


@cli.group()
def policy() -> None:
    """政策文件：检查、测试。"""


@policy.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出诊断。")
def check(paths: tuple[str, ...], as_json: bool) -> None:
    """检查政策文件：语法、字段、类型、区间、日期、重复 id。"""
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


@policy.command("test")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-v", "--verbose", is_flag=True, help="列出每个测试。")
def test_cmd(paths: tuple[str, ...], verbose: bool) -> None:
    """运行政策文件中的测试，最后一行为 `N passed, N failed`。"""
    policies, diagnostics = read_policies(paths or ("policies",))
    errors = [d for d in diagnostics if d.severity == "error"]
    for diag in errors:
        click.echo(str(diag), err=True)
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
