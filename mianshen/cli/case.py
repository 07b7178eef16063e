"""`mianshen case …`: one benefit case from notification to clawback, for departments and enterprises.

The CLI is an operator's console on a trusted machine: the actor is declared with --actor/--role/
--department/--uscc (or MIANSHEN_ACTOR, MIANSHEN_ROLE, …). The web layer authenticates instead;
both go through the same role checks in `mianshen.cases.transitions`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import click
from sqlalchemy import select

from mianshen.audit.log import Actor
from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.cases.banking import mask_stored
from mianshen.cases.objections import object_to
from mianshen.cases.objections import resolve as settle
from mianshen.cases.states import STATES
from mianshen.cli.actor import actor_options, parse_day
from mianshen.cli.data import DB_OPTION
from mianshen.cli.main import cli
from mianshen.clock import today as clock_today
from mianshen.errors import InputError
from mianshen.store.db import open_store
from mianshen.store.schema import case_events, cases, objections, onsite_checks


def _run(db: str | None, action: Callable[[Any], Any]) -> Any:
    engine = open_store(db)
    with engine.begin() as conn:  # one transaction: the whole action happens or none of it
        return action(conn)


def _say(case: dict[str, Any]) -> None:
    click.echo(f"案件 {case['id']}：{STATES[case['state']]}")


@cli.group()
def case() -> None:
    """案件：通知、确认、审核、公示、异议、批准、不予通过、暂停、追回。"""


@case.command("list")
@click.option("--policy", default=None)
@click.option("--state", default=None, type=click.Choice(sorted(STATES)))
@click.option("--uscc", default=None)
@DB_OPTION
def list_cmd(policy: str | None, state: str | None, uscc: str | None, db: str | None) -> None:
    """列出案件。"""
    query = select(cases).order_by(cases.c.id)
    for column, value in ((cases.c.policy_id, policy), (cases.c.state, state), (cases.c.uscc, uscc)):
        if value:
            query = query.where(column == value)
    for row in _run(db, lambda conn: list(conn.execute(query).mappings())):
        amount = row["confirmed_amount"] or row["amount"] or "—"
        click.echo(
            f"{row['id']:>6} {row['policy_id']:<24} {row['uscc']} {row['period']} {STATES[row['state']]:<10} {amount}"
        )


@case.command("show")
@click.argument("case_id", type=int)
@DB_OPTION
def show_cmd(case_id: int, db: str | None) -> None:
    """案件详情及全部事件（银行账号脱敏显示）。"""

    def load(conn: Any) -> tuple[Any, ...]:
        row = tr.load_case(conn, case_id)
        events = list(
            conn.execute(
                select(case_events).where(case_events.c.case_id == case_id).order_by(case_events.c.id)
            ).mappings()
        )
        objs = list(conn.execute(select(objections).where(objections.c.case_id == case_id)).mappings())
        checks = list(conn.execute(select(onsite_checks).where(onsite_checks.c.case_id == case_id)).mappings())
        return row, events, objs, checks

    row, events, objs, checks = _run(db, load)
    click.echo(
        f"案件 {row['id']}  政策 {row['policy_id']} v{row['policy_version']}  企业 {row['uscc']}  期间 {row['period']}"
    )
    click.echo(
        f"  状态：{STATES[row['state']]}  来源：{row['origin']}  核定金额：{row['amount']}  确认金额：{row['confirmed_amount']}"
    )
    click.echo(
        f"  收款账号：{mask_stored(row['bank_account']) or '—'}  信用承诺：{row['commitment_actor'] or '—'} {row['commitment_signed_at'] or ''}"
    )
    click.echo(
        f"  期限：{row['deadline'] or '—'}  公示：{row['publicity_from'] or '—'} 至 {row['publicity_to'] or '—'}  理由：{row['reason'] or '—'}"
    )
    for e in events:
        before = STATES.get(e["from_state"] or "", "—")
        click.echo(
            f"  [{e['at']:%Y-%m-%d %H:%M}] {e['actor']}（{e['role']}）{before} → {STATES[e['to_state']]}：{e['note'] or ''}"
        )
    for o in objs:
        click.echo(
            f"  异议 {o['id']}：{o['reason']}（{o['raised_by']}）→ {o['resolution'] or '待处理'} {o['resolution_reason'] or ''}"
        )
    for c in checks:
        click.echo(
            f"  现场核验：{'通过' if c['result'] == 'passed' else '未通过'}（{c['inspector']}）{c['note'] or ''}"
        )


def _simple(name: str, help_text: str, role: str, needs_reason: bool, call: Callable[..., Any]) -> None:
    """A command that applies one transition to one case, with an optional reason."""

    @case.command(name, help=help_text)
    @click.argument("case_id", type=int)
    @click.option("--reason", required=needs_reason, default="", help="理由（写入事件与审计日志）。")
    @actor_options(role)
    @DB_OPTION
    def command(
        case_id: int,
        reason: str,
        actor: Actor,
        db: str | None,
    ) -> None:
        _say(_run(db, lambda conn: call(conn, case_id, actor, reason)))


def _notify(conn: Any, case_id: int, actor: Actor, _reason: str) -> Any:
    row = tr.load_case(conn, case_id)
    days = tr.policy_settings(conn, row["policy_id"], row["policy_version"]).confirm_days
    from mianshen.reference.workdays import add_working_days

    return tr.notify(conn, case_id, actor, add_working_days(clock_today(), days).date)


_simple("notify", "通知企业确认（确认期限按政策的工作日计算）。", "department", False, _notify)
_simple("decline", "企业放弃。", "enterprise", True, tr.decline)
_simple("reject", "不予通过（须写明理由）。", "department", True, tr.reject)
_simple("block", "列入严重失信主体名单，暂停办理。", "department", True, tr.block)
_simple("unblock", "移出严重失信主体名单，恢复审核。", "department", True, tr.unblock)
_simple(
    "clawback",
    "承诺不实：追回资金并记录失信。",
    "department",
    True,
    lambda c, i, a, r: (review.clawback(c, i, a, r), tr.load_case(c, i))[1],
)
_simple(
    "object",
    "对公示中的案件提出异议。",
    "public",
    True,
    lambda c, i, a, r: (object_to(c, i, a, r), tr.load_case(c, i))[1],
)


@case.command("confirm")
@click.argument("case_id", type=int)
@click.option("--amount", required=True, help="确认的金额（元）。")
@click.option("--account", required=True, help="企业对公账户账号（加密保存）。")
@click.option("--sign", is_flag=True, help="签署该政策的信用承诺（必须）。")
@actor_options("enterprise")
@DB_OPTION
def confirm_cmd(
    case_id: int,
    amount: str,
    account: str,
    sign: bool,
    actor: Actor,
    db: str | None,
) -> None:
    """企业确认金额和对公账户，签署信用承诺。"""
    if not sign:
        raise InputError("须加 --sign 签署信用承诺后方可确认")
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise InputError(f"金额“{amount}”不是数字") from exc

    def act(conn: Any) -> Any:
        row = tr.load_case(conn, case_id)
        text = (
            tr.policy_settings(conn, row["policy_id"], row["policy_version"]).commitment
            or "本企业承诺所提供信息真实有效。"
        )
        return tr.confirm(conn, case_id, actor, value, account, text)

    _say(_run(db, act))


@case.command("review")
@click.argument("case_id", type=int)
@click.option("--on", default=None, help="复核日期，默认今天。")
@actor_options("department")
@DB_OPTION
def review_cmd(
    case_id: int,
    on: str | None,
    actor: Actor,
    db: str | None,
) -> None:
    """开始审核：复核所用数据是否在时效内（免申不免审）。"""
    result = _run(db, lambda conn: review.begin_review(conn, case_id, actor, parse_day(on)))
    _say(result)
    report = result.get("freshness") or {}
    for item in report.get("checked", []):
        mark = "已过时效" if item["field"] in report.get("stale", []) else "在时效内"
        click.echo(
            f"  {item['field']}：数据日期 {item['as_of']}，{item['age_days']} 天（时效 {item['limit_days']} 天）{mark}"
        )
    if report.get("missing"):
        click.echo(f"  缺少数据：{'、'.join(report['missing'])}")


@case.command("onsite")
@click.argument("case_id", type=int)
@click.option("--passed/--failed", required=True, help="现场核验结果。")
@click.option("--note", default="")
@actor_options("department")
@DB_OPTION
def onsite_cmd(
    case_id: int,
    passed: bool,
    note: str,
    actor: Actor,
    db: str | None,
) -> None:
    """登记现场核验结果。"""
    check = _run(db, lambda conn: review.record_onsite(conn, case_id, actor, passed, note))
    click.echo(f"现场核验 {check} 已登记：{'通过' if passed else '未通过'}")


@case.command("publicity")
@click.argument("case_id", type=int)
@click.option("--start", default=None, help="公示开始日，默认今天。")
@click.option("--stale-reason", default="", help="数据已过时效仍继续时的理由。")
@actor_options("department")
@DB_OPTION
def publicity_cmd(
    case_id: int,
    start: str | None,
    stale_reason: str,
    actor: Actor,
    db: str | None,
) -> None:
    """审核通过，进入公示（公示期按政策的工作日计算，含调休）。"""
    result = _run(db, lambda conn: review.open_publicity(conn, case_id, actor, parse_day(start), stale_reason))
    click.echo(f"案件 {case_id}：公示 {result['publicity_from']} 至 {result['publicity_to']}")


@case.command("resolve")
@click.argument("case_id", type=int)
@click.option("--upheld/--dismissed", required=True, help="异议成立（不予通过）或不成立（继续公示）。")
@click.option("--reason", required=True)
@actor_options("department")
@DB_OPTION
def resolve_cmd(
    case_id: int,
    upheld: bool,
    reason: str,
    actor: Actor,
    db: str | None,
) -> None:
    """处理异议。"""
    _say(_run(db, lambda conn: settle(conn, case_id, actor, upheld, reason)))


@case.command("approve")
@click.argument("case_id", type=int)
@click.option("--on", default=None, help="批准日期，默认今天（须在公示期满之后）。")
@actor_options("department")
@DB_OPTION
def approve_cmd(
    case_id: int,
    on: str | None,
    actor: Actor,
    db: str | None,
) -> None:
    """公示期满无异议：在预算内批准，超出预算则待追加。"""
    result = _run(db, lambda conn: review.decide(conn, case_id, actor, parse_day(on)))
    _say(result)
    if result["state"] == "budget_wait":
        click.echo("  预算已用完：本案待追加预算后批准")
