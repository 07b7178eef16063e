"""Chinese message texts, one per template name; the same text goes to SMS, the portal and the log.

Texts carry only what the recipient needs to act: the policy, the amount, the date to act by and a
masked 统一社会信用代码 (so a forwarded SMS does not leak the full code). Bank accounts, names of
people and anything else from the profile never appear; the portal shows details after login.

A payload missing a field the template needs is a permanent error (retrying cannot fix it), so
`render` raises `TemplateError` and the sender marks the row failed with the field named.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from mianshen.cases.states import STATES

PREFIX = "【免申即享】"


@dataclass(frozen=True)
class Template:
    title: str
    body: str  # str.format fields; {uscc} is the masked code, {amount} is formatted to 元 with thousands


TEMPLATES: dict[str, Template] = {
    # case steps (the names the case transitions enqueue: mianshen/cases/transitions.py)
    "case_notified": Template(
        "政策兑现通知", "贵单位（{uscc}）符合《{title}》，可享 {amount} 元，请于 {deadline} 前登录平台确认"
    ),
    "case_confirmed": Template("已确认", "贵单位（{uscc}）已确认《{title}》{amount} 元，平台将进行审核"),
    "case_expired": Template("逾期未确认", "贵单位（{uscc}）未在 {deadline} 前确认《{title}》，本次兑现已关闭"),
    "case_declined": Template("已放弃", "贵单位（{uscc}）已放弃《{title}》本次兑现"),
    "case_publicity": Template(
        "进入公示", "贵单位（{uscc}）《{title}》兑现已进入公示，公示期 {publicity_from} 至 {publicity_to}"
    ),
    "case_approved": Template("审核通过", "贵单位（{uscc}）《{title}》兑现经公示无异议已批准，金额 {amount} 元"),
    "case_budget_wait": Template(
        "预算待追加", "贵单位（{uscc}）《{title}》兑现公示期满，本期预算已用完，追加预算后批准拨付"
    ),
    "case_rejected": Template("不予通过", "贵单位（{uscc}）《{title}》兑现未予通过，原因：{reason}"),
    "case_paid": Template("已拨付", "贵单位（{uscc}）《{title}》{amount} 元已拨付，请注意查收"),
    "case_returned": Template(
        "退票", "贵单位（{uscc}）《{title}》{amount} 元被银行退回（{reason}），请登录平台更正收款账户后重新拨付"
    ),
    "case_blocked": Template("暂停办理", "贵单位（{uscc}）《{title}》兑现暂停办理，原因：{reason}"),
    "case_clawback": Template("资金追回", "贵单位（{uscc}）《{title}》已拨付资金须追回，原因：{reason}"),
    "case_update": Template("办理进度", "贵单位（{uscc}）《{title}》办理进度：{state_label}"),
    # reminders (mianshen/notify/reminders.py)
    "confirm_reminder": Template(
        "确认提醒",
        "贵单位（{uscc}）可享《{title}》{amount} 元，尚未确认，请于 {deadline} 前登录平台确认，逾期视为放弃",
    ),
    "invite_apply": Template(
        "申报邀请", "贵单位（{uscc}）可能符合《{title}》，该政策需提交材料，请于 {deadline} 前登录平台申报"
    ),
    "invite_deadline": Template(
        "申报截止提醒", "贵单位（{uscc}）可能符合《{title}》，申报将于 {deadline} 截止，请尽快登录平台申报"
    ),
    "data_request": Template(
        "数据补充请求",
        "{department}：《{title}》有 {count} 家企业因缺少“{fields}”无法判定是否符合，请尽快提供数据",
    ),
}
TEMPLATES["login_code"] = Template(
    "登录验证码", "登录验证码 {code}，{minutes} 分钟内有效。请勿告诉他人，工作人员不会索要验证码"
)
TEMPLATES["objection_code"] = Template(
    "异议验证码", "您对公示提出异议的验证码 {code}，{minutes} 分钟内有效。如非本人操作，请忽略本短信"
)
TEMPLATES["matched"] = TEMPLATES["notified"] = TEMPLATES["case_notified"]


SECRETS = ("code",)  # payload keys kept only until the message is sent (M11: login codes)
HIDDEN = "******"


def redact(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as it may be kept and logged: secret values replaced by asterisks."""
    return {k: (HIDDEN if k in SECRETS and v is not None else v) for k, v in payload.items()}


class TemplateError(Exception):
    """The message cannot be rendered from this payload; retrying would fail the same way."""


@dataclass(frozen=True)
class Rendered:
    title: str
    text: str  # the full text, with the 【免申即享】 signature


def mask_uscc(uscc: str) -> str:
    """9131…678X → 9131**********678X: enough to tell one's own code, not enough to reuse it."""
    if len(uscc) <= 8:
        return "*" * len(uscc)
    return uscc[:4] + "*" * (len(uscc) - 8) + uscc[-4:]


def format_amount(value: Any) -> str:
    """Exact decimal text → "6,000.00" (分, rounded half up as money is)."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise TemplateError(f"金额“{value}”不是数字") from exc
    return format(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), ",.2f")


def _fields(body: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(body) if name]


def render(template: str, payload: Mapping[str, Any], uscc: str) -> Rendered:
    """The message for `template`; payload keys fill its fields (title, amount, deadline …).

    `template == "text"` sends a caller-composed `payload["text"]` as is (still signed), for the rare
    message no template fits.
    """
    if template == "text":
        if not payload.get("text"):
            raise TemplateError("模板 text 需要 payload.text")
        return Rendered(str(payload.get("title") or "通知"), PREFIX + str(payload["text"]))
    spec = TEMPLATES.get(template)
    if spec is None:
        raise TemplateError(f"未知的消息模板“{template}”（可用：{'、'.join(sorted(TEMPLATES))}）")
    values: dict[str, Any] = {k: v for k, v in payload.items() if v is not None}
    if "title" not in values and "policy" in values:
        values["title"] = values["policy"]  # case transitions name the policy title "policy"
    values["uscc"] = mask_uscc(uscc)
    if "amount" in values:
        values["amount"] = format_amount(values["amount"])
    if "state" in values and "state_label" not in values:
        values["state_label"] = STATES.get(str(values["state"]), str(values["state"]))
    missing = [name for name in _fields(spec.body) if name not in values]
    if missing:
        raise TemplateError(f"模板“{template}”缺少字段：{'、'.join(missing)}")
    link = f" 办理：{values['link']}" if values.get("link") else ""  # an SMS about a case: its short link
    return Rendered(spec.title, PREFIX + spec.body.format_map(values) + link)
