"""The demo's last act: one 条件类 benefit from match to money in the account, with the audit chain.

Uses the same service functions the `mianshen case` / `mianshen pay` commands and the worker use;
the actors are demo staff of the policy's own department, the enterprise itself and finance.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import click
from sqlalchemy import Engine, select

from mianshen.audit.log import SYSTEM, Actor, verify
from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.cases.payments import create_batch, mark_batch_paid, reconcile
from mianshen.notify.channels import outbox_log
from mianshen.notify.sender import send_due
from mianshen.reference.workdays import add_working_days
from mianshen.store.schema import cases, outbox

DEMO_ACCOUNT = "6222 0216 0400 1234 567"  # a demo 对公账户; stored SM4-encrypted, shown masked


def walk_one_case(engine: Engine, policy_id: str, as_of: dt.date) -> None:
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(cases)
                .where(cases.c.policy_id == policy_id, cases.c.state == "matched")
                .order_by(cases.c.id)
                .limit(1)
            )
            .mappings()
            .first()
        )
    if row is None:
        click.echo("（没有待办的案件）")
        return
    case_id, uscc = row["id"], row["uscc"]
    with engine.begin() as conn:
        settings = tr.policy_settings(conn, policy_id)
    staff = Actor("王科员（演示）", "department", department=settings.department)
    firm = Actor("法定代表人（演示）", "enterprise", uscc=uscc)
    finance = Actor("财政厅出纳（演示）", "finance")
    amount = Decimal(row["amount"])
    steps = [
        ("平台通知企业", lambda c: tr.notify(c, case_id, SYSTEM, add_working_days(as_of, settings.confirm_days).date)),
        (
            "企业确认金额、账户，签署信用承诺",
            lambda c: tr.confirm(
                c, case_id, firm, amount, DEMO_ACCOUNT, settings.commitment or "本单位承诺所报信息真实"
            ),
        ),
        ("部门审核（数据时效复核）", lambda c: review.begin_review(c, case_id, staff, as_of)),
        (
            "公示",
            lambda c: review.open_publicity(
                c, case_id, staff, as_of, stale_reason="演示：数据日期早于时效，已电话核实"
            ),
        ),
    ]
    for title, step in steps:
        with engine.begin() as conn:
            result = step(conn)
        click.echo(f"  {title} → {_state(engine, case_id)}" + _dates(result))
    with engine.connect() as conn:
        after = conn.execute(select(cases.c.publicity_to).where(cases.c.id == case_id)).scalar_one()
    with engine.begin() as conn:
        review.decide(conn, case_id, staff, after + dt.timedelta(days=1))
    click.echo(f"  公示期满无异议（{after} 后）→ {_state(engine, case_id)}")
    batch = create_batch(engine, policy_id, finance)
    click.echo(
        f"  财政拨付批次 {batch.batch_id}：{batch.count} 件，合计 {batch.total:,.2f} 元 → {_state(engine, case_id)}"
    )
    mark_batch_paid(engine, batch.batch_id, finance)
    click.echo(f"  拨付到账 → {_state(engine, case_id)}")
    with engine.connect() as conn:
        balance = reconcile(conn, policy_id)
        chain = verify(conn)
    verdict = "一致" if balance["ok"] else "不一致：" + "；".join(map(str, balance["problems"]))
    click.echo(
        f"  对账：拨付 {balance['payments']} 笔，批准 {balance['approved_total']:,.2f} 元，"
        f"已付 {balance['paid_total']:,.2f} 元，{verdict}"
    )
    click.echo(
        f"  审计链：{'完整' if chain.first_broken is None else '第 ' + str(chain.first_broken) + ' 行被改动'}，共 {chain.rows} 行"
    )
    sent = send_due(engine)
    with engine.connect() as conn:
        texts = conn.execute(
            select(outbox.c.step, outbox.c.channel, outbox.c.status)
            .where(outbox.c.case_id == case_id)
            .order_by(outbox.c.id)
        ).all()
    click.echo(
        f"  通知：发出 {sent.sent} 条（短信写入 {outbox_log()}，未配置短信网关 MIANSHEN_SMS_URL），"
        f"本案 {sum(1 for *_, st in texts if st == 'sent')} 条："
        + "、".join(sorted({s.split(":")[-1] for s, _, _ in texts}))
    )


def stage_for_staff(engine: Engine, policy_id: str, as_of: dt.date) -> None:
    """Two more cases, so that each role finds work on the site at the demo date: one whose 公示 has
    ended without objection (the department approves it) and one approved (finance pays it)."""
    with engine.connect() as conn:
        waiting = conn.execute(
            select(cases.c.id, cases.c.uscc, cases.c.amount)
            .where(cases.c.policy_id == policy_id, cases.c.state == "matched")
            .order_by(cases.c.id)
            .limit(2)
        ).all()
        settings = tr.policy_settings(conn, policy_id)
    staff = Actor("王科员（演示）", "department", department=settings.department)
    started = as_of - dt.timedelta(days=30)  # a 公示 opened a month ago has ended by the demo date
    for index, (case_id, uscc, amount) in enumerate(waiting):
        firm = Actor("法定代表人（演示）", "enterprise", uscc=uscc)
        with engine.begin() as conn:
            tr.notify(conn, case_id, SYSTEM, add_working_days(started, settings.confirm_days).date)
            tr.confirm(
                conn, case_id, firm, Decimal(amount), DEMO_ACCOUNT, settings.commitment or "本单位承诺所报信息真实"
            )
            review.begin_review(conn, case_id, staff, started)
            review.open_publicity(conn, case_id, staff, started, stale_reason="演示：数据日期早于时效，已电话核实")
            if index == 1:
                review.decide(conn, case_id, staff, as_of)
        click.echo(f"  案件 #{case_id} → {_state(engine, case_id)}")


def _state(engine: Engine, case_id: int) -> str:
    from mianshen.cases.states import STATES

    with engine.connect() as conn:
        return STATES[conn.execute(select(cases.c.state).where(cases.c.id == case_id)).scalar_one()]


def _dates(result: object) -> str:
    if isinstance(result, dict) and result.get("publicity_to"):
        return f"（公示至 {result['publicity_to']}，按工作日计算）"
    return ""


def show_accounts(engine: Engine, as_of: dt.date) -> None:
    """One account of each role; an enterprise with a benefit waiting for its confirmation."""
    from mianshen.web.accounts import demo_accounts, set_contact

    with engine.begin() as conn:
        settings = tr.policy_settings(conn, "wengang-fanhuan")
        made = demo_accounts(conn, settings.department)
        waiting = conn.execute(
            select(cases.c.id, cases.c.uscc)
            .where(cases.c.policy_id == "wengang-fanhuan", cases.c.state == "matched")
            .order_by(cases.c.id)
            .limit(1)
        ).first()
        if waiting is not None:
            tr.notify(conn, waiting.id, SYSTEM, add_working_days(as_of, settings.confirm_days).date)
            set_contact(conn, waiting.uscc, "演示联系人", "13800138000")
    for label, username, password in made:
        click.echo(f"  {label}：用户名 {username}  密码 {password}")
    if waiting is not None:
        click.echo(
            f"  企业（法定代表人）：统一社会信用代码 {waiting.uscc}，短信验证码显示在运行 mianshen serve 的终端"
            f"（未配置短信网关时；{outbox_log()} 中的验证码是 ******）"
        )
    click.echo("  公众：无需登录，可查看政策清单、办事指南和公示并提出异议")
