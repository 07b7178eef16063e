"""`mianshen explain`: why one enterprise does or does not qualify, condition by condition."""

from __future__ import annotations

import datetime as dt
import json
import re

import click

from mianshen.cli.main import cli
from mianshen.clock import today as clock_today
from mianshen.errors import InputError
from mianshen.rules.evaluate import evaluate
from mianshen.rules.loader import load_policy, shipped_or_path
from mianshen.rules.profile import load_profile
from mianshen.rules.trace import RESULT_LABELS, STATUS_LABELS, Result, Trace


@cli.command()
@click.option(
    "--policy",
    "policy_path",
    required=True,
    type=click.Path(),
    help="政策文件，或随软件发布的政策的 id（如 wengang-fanhuan）。",
)
@click.option("--profile", "profile_path", default=None, type=click.Path(), help="企业档案（JSON）。")
@click.option("--uscc", default=None, help="或：企业画像库中的统一社会信用代码。")
@click.option("--db", default=None, help="企业画像库地址（与 --uscc 一起用），默认 MIANSHEN_DATABASE_URL。")
@click.option("--as-of", "as_of", default=None, help="评估日期，默认今天，如 2025-06-30。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出追踪树。")
def explain(
    policy_path: str, profile_path: str | None, uscc: str | None, db: str | None, as_of: str | None, as_json: bool
) -> None:
    """逐条说明一家企业是否符合一项政策、金额如何计算。"""
    day = parse_as_of(as_of)
    policy = load_policy(shipped_or_path(policy_path, day))
    if (profile_path is None) == (uscc is None):
        raise InputError("请给出 --profile 档案文件或 --uscc 统一社会信用代码（二选一）")
    if profile_path is not None:
        profile = load_profile(profile_path)
    else:
        from mianshen.profiles.current import read_profile
        from mianshen.store.db import open_store

        with open_store(db).connect() as conn:
            profile = read_profile(conn, uscc or "", day).to_profile()
    result = evaluate(policy, profile, day)
    held = None
    if uscc is not None and result.status == "eligible":  # 同一事项不重复享受 / 就高: the enterprise's other cases
        from mianshen.cases.exclusive import explain_exclusive
        from mianshen.store.db import open_store

        with open_store(db).connect() as conn:
            held = explain_exclusive(conn, policy, uscc, result.amount)
    if as_json:
        click.echo(json.dumps(result.as_dict() | {"exclusive": held}, ensure_ascii=False, indent=2))
    else:
        click.echo(render_text(result) + (f"\n不予重复享受：{held}" if held else ""))


def parse_as_of(text: str | None) -> dt.date:
    """The evaluation date: YYYY-MM-DD exactly (no other spellings), today when not given."""
    if text is None:
        return clock_today()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--as-of “{text}”不是有效日期（应写成 2025-06-30）") from exc


def render_text(result: Result) -> str:
    amount = f"，金额 {result.amount:,.2f}元" if result.amount is not None else ""
    lines = [
        f"《{result.title}》（{result.policy_id} 第{result.version}版），评估日 {result.as_of}",
        f"结论：{STATUS_LABELS[result.status]}{amount}",
    ]
    for trace in result.conditions:
        lines.extend(_lines(trace, 1))
    if result.amount_trace:
        lines.append("金额计算：")
        lines.extend("  " + step for step in result.amount_trace.steps)
    if result.unknown:
        lines.append(f"待补充数据的条件：{'、'.join(result.unknown)}")
    return "\n".join(lines)


def _lines(trace: Trace, depth: int) -> list[str]:
    mark = {True: "✔", False: "✘", None: "？"}[trace.result]
    provenance = ""
    if trace.actual is not None and trace.actual.value is not None and trace.kind == "leaf":
        origin = trace.actual.source
        as_of = f"，截至 {trace.actual.as_of}" if trace.actual.as_of else ""
        provenance = f"〔数据来源：{origin}{as_of}〕" if origin else ""
    out = [f"{'  ' * depth}{mark} [{RESULT_LABELS[trace.result]}] {trace.text}{provenance}"]
    for child in trace.children:
        out.extend(_lines(child, depth + 1))
    return out
