"""暂难数据化类: an enterprise applies online (form + materials) under the policy's promised time limit.

Attachments are stored under a files directory by their SHA-256 (content-addressed, so a file
resubmitted is stored once and any later change to a stored file is detectable), and the
application row keeps name, hash and size for the reviewer. The case opens (origin "application"),
is accepted (受理) at once — the enterprise has asked, there is nobody to notify first — and, when
the form carries the account and the signed commitment, confirmed in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from mianshen import numbers
from mianshen.audit.log import SYSTEM, Actor, record
from mianshen.cases import transitions as tr
from mianshen.cases.open import open_case
from mianshen.clock import now as platform_now
from mianshen.clock import today as clock_today
from mianshen.reference.workdays import add_working_days
from mianshen.store.files import store_attachment
from mianshen.store.paths import var_dir
from mianshen.store.schema import applications

DEFAULT_LIMIT_DAYS = 60  # 快申快享: paid within 60 working days where the policy states no number
_DAYS = re.compile(r"(\d+)\s*个工作日")


def time_limit_days(policy: tr.PolicySettings) -> int:
    """The policy's promised time limit in working days, from its service guide (`guide.time_limit`)."""
    guide = policy.raw.get("guide") or {}
    found = _DAYS.findall(str(guide.get("time_limit", ""))) if isinstance(guide, dict) else []
    return max(int(n) for n in found) if found else DEFAULT_LIMIT_DAYS


MAX_AMOUNT = Decimal("1000000000")  # 10 亿元: beyond any benefit; a slip of the keyboard stops here


def applied_amount(typed: object, policy: tr.PolicySettings) -> Decimal:
    """An amount an enterprise typed (applying, or confirming): a finite number of yuan above 0, to
    the fen, within the policy's cap — never stored as typed (-5000, NaN and 1e30 all were)."""
    text = str(typed).strip().replace(",", "").replace("，", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise tr.CaseError("金额应为数字（元），如 1500.00")
    if value <= 0:
        raise tr.CaseError("金额应大于 0 元")
    limit = _cap(policy)
    if limit is not None and value > limit:
        raise tr.CaseError(f"金额不能超过本政策的上限 {limit} 元")
    if value > MAX_AMOUNT:
        raise tr.CaseError("金额过大，请核对（单位为元）")
    if value != value.quantize(Decimal("0.01")):
        raise tr.CaseError("金额最多两位小数（精确到分）")
    return value.quantize(Decimal("0.01"))


def _cap(policy: tr.PolicySettings) -> Decimal | None:
    """The policy's cap when written as a number ("500万元" too); None for none or a parameter."""
    spec = policy.raw.get("amount")
    cap = spec.get("cap") if isinstance(spec, dict) else None
    try:
        return None if cap is None or isinstance(cap, dict) else numbers.parse_number(cap)
    except numbers.NumberError:
        return None


def _amount(policy: tr.PolicySettings, form: dict[str, Any]) -> Decimal | None:
    """The one sum the policy grants (`fixed`, or a formula that is a number), else the amount
    applied for — within the policy's numeric cap, which the policy checker requires here."""
    spec = policy.raw.get("amount") or {}
    if isinstance(spec, dict) and spec.get("fixed", spec.get("formula")) is not None:
        try:
            return numbers.parse_number(spec.get("fixed", spec.get("formula"))).quantize(Decimal("0.01"))
        except numbers.NumberError:
            pass  # a formula of the enterprise's figures: the amount is applied for
    if form.get("amount") not in (None, ""):
        return applied_amount(form["amount"], policy)
    return None


def submit_application(
    conn: Connection,
    policy_id: str,
    uscc: str,
    form: dict[str, Any],
    attachments: list[Path],
    actor: Actor,
    *,
    files_dir: Path | None = None,
    period: str | None = None,
    on: dt.date | None = None,
) -> int:
    """The new case's id; raises when the benefit already has a case or the actor may not apply."""
    day = on or clock_today()
    policy = tr.policy_settings(conn, policy_id)
    if policy.kind != "暂难数据化类":
        raise tr.CaseError(f"政策“{policy.title}”是{policy.kind}，无需申请（平台主动推送）")
    if actor.role != "enterprise" or actor.uscc != uscc:
        raise tr.NotAllowed("只有企业本身（法定代表人或授权经办人）可以为本企业申请")
    stored = [store_attachment(Path(p), files_dir or var_dir() / "files") for p in attachments]
    amount = _amount(policy, form)
    deadline = add_working_days(day, time_limit_days(policy)).date
    year = period or str(day.year)
    case_id = open_case(
        conn,
        policy_id=policy_id,
        version=policy.version,
        uscc=uscc,
        period=year,
        origin="application",
        amount=amount,
        actor=actor,
    )
    if case_id is None:
        raise tr.CaseError(f"本企业本期（{year}）已申请或已享受“{policy.title}”，不能重复申请")
    public_form = {k: v for k, v in form.items() if k not in ("bank_account", "commitment")}
    conn.execute(
        applications.insert().values(
            case_id=case_id,
            form=json.dumps(public_form, ensure_ascii=False, default=str),
            attachments=json.dumps(stored, ensure_ascii=False),
            submitted_by=actor.name,
            submitted_at=platform_now(),
        )
    )
    record(conn, actor, "application.submit", "case", case_id, None, {"form": public_form, "attachments": stored})
    tr.notify(conn, case_id, SYSTEM, deadline)  # 受理: the deadline is the promised 兑现 time limit
    if form.get("bank_account") and form.get("commitment") and amount is not None:
        tr.confirm(conn, case_id, actor, amount, str(form["bank_account"]), str(form["commitment"]))
    return case_id
