"""The case transitions: one function each, all going through `move`.

`move` is the only code that changes `cases.state`. In the caller's transaction it checks the
actor against the TRANSITIONS table (role, department of the policy, the enterprise's own code),
writes the new state with `UPDATE … WHERE id = ? AND state = ?` so that of two operators acting at
once exactly one wins (the other gets `StaleState`, whatever the isolation level), and writes the
case event, the audit row and the enterprise's notification. The caller commits or rolls back
all of it together.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml
from sqlalchemy import Connection, select
from sqlalchemy.exc import OperationalError

from mianshen.audit.log import SYSTEM, Actor, record
from mianshen.cases.banking import encrypt_account, normalise_bank
from mianshen.cases.states import STATES, TRANSITIONS, Transition
from mianshen.clock import now as platform_now
from mianshen.errors import MianshenError
from mianshen.rules.loader import KINDS
from mianshen.store.outbox import enqueue
from mianshen.store.schema import case_events, cases, policy_versions


class CaseError(MianshenError):
    """A case action that cannot be carried out."""


class NotAllowed(CaseError):
    """The actor's role, department or enterprise does not permit this action."""


class StaleState(CaseError):
    """The case is not (or no longer) in a state this action starts from."""


@dataclass(frozen=True)
class PolicySettings:
    """What the workflow needs from a published policy version."""

    policy_id: str
    version: int
    title: str
    kind: str
    department: str
    budget: Decimal | None
    publicity_days: int
    objection_days: int
    confirm_days: int
    commitment: str
    raw: dict[str, Any]


_PARSED: dict[str, dict[str, Any]] = {}


def _parsed(sha256: str, source: str) -> dict[str, Any]:
    """A published version never changes, so its YAML is parsed once per process (batches touch it per case)."""
    if sha256 not in _PARSED:
        _PARSED[sha256] = yaml.safe_load(source) or {}
    return _PARSED[sha256]


def policy_settings(conn: Connection, policy_id: str, version: int | None = None) -> PolicySettings:
    """The given version, or the latest published one."""
    query = select(policy_versions).where(policy_versions.c.policy_id == policy_id)
    if version is not None:
        query = query.where(policy_versions.c.version == version)
    else:
        query = query.where(policy_versions.c.state == "published")
    row = conn.execute(query.order_by(policy_versions.c.version.desc()).limit(1)).mappings().first()
    if row is None:
        raise CaseError(f"政策“{policy_id}”没有已发布的版本" + (f" {version}" if version else ""))
    raw = _parsed(row["sha256"], row["source_yaml"])
    return PolicySettings(
        policy_id,
        int(row["version"]),
        row["title"],
        KINDS.get(row["kind"], row["kind"]),
        row["department"],
        None if row["budget"] in (None, "") else Decimal(row["budget"]),
        int(raw.get("publicity_days", 5)),
        int(raw.get("objection_days", 5)),
        int(raw.get("confirm_days", 15)),
        str(raw.get("commitment", "")),
        raw,
    )


def load_case(conn: Connection, case_id: int) -> dict[str, Any]:
    row = conn.execute(select(cases).where(cases.c.id == case_id)).mappings().first()
    if row is None:
        raise CaseError(f"案件 {case_id} 不存在")
    return dict(row)


def authorize(t: Transition, actor: Actor, case: dict[str, Any], policy: PolicySettings) -> None:
    """Raise NotAllowed unless this actor may carry out `t` on this case."""
    if actor.role not in t.roles:
        allowed = "、".join(sorted(t.roles))
        raise NotAllowed(f"角色“{actor.role}”无权执行“{t.label}”（允许的角色：{allowed}）")
    if actor.role == "department" and actor.department != policy.department:
        raise NotAllowed(f"“{t.label}”须由政策执行部门 {policy.department} 办理，{actor.name} 属于 {actor.department}")
    if actor.role == "enterprise" and actor.uscc != case["uscc"]:
        raise NotAllowed(f"企业只能办理本企业的案件（案件 {case['id']} 不属于 {actor.uscc}）")


def move(
    conn: Connection,
    case_id: int,
    name: str,
    actor: Actor,
    *,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    notify: str | None = None,
) -> dict[str, Any]:
    """Carry out transition `name`; returns the case as it is afterwards."""
    t = TRANSITIONS[name]
    case = load_case(conn, case_id)
    policy = policy_settings(conn, case["policy_id"], case["policy_version"])
    authorize(t, actor, case, policy)
    if case["state"] not in t.source:
        raise StaleState(f"案件 {case_id} 当前为“{STATES[case['state']]}”，不能{t.label}")
    now = platform_now()
    changes = {**(values or {}), "state": t.target, "updated_at": now}
    try:
        done = conn.execute(
            cases.update().where(cases.c.id == case_id, cases.c.state == case["state"]).values(**changes)
        ).rowcount
    except OperationalError as exc:  # SQLite: another writer committed after our snapshot was taken
        raise StaleState(f"案件 {case_id} 正由他人同时办理，请刷新后重试") from exc
    if done != 1:
        raise StaleState(f"案件 {case_id} 已被他人同时办理（不再是“{STATES[case['state']]}”），本次操作未生效")
    shown = {k: v for k, v in changes.items() if k not in ("updated_at", "bank_account")}
    conn.execute(
        case_events.insert().values(
            case_id=case_id,
            from_state=case["state"],
            to_state=t.target,
            actor=actor.name,
            role=actor.role,
            note=note or t.label,
            data=json.dumps({**shown, **(data or {})}, ensure_ascii=False, default=str),
            at=now,
        )
    )
    before = {"state": case["state"]} | {k: case[k] for k in shown if k != "state"}
    record(conn, actor, f"case.{name}", "case", case_id, before, {**shown, **(data or {}), "note": note})
    if notify:
        after = {**case, **changes}
        payload = {  # what the templates (mianshen/notify/templates.py) fill in
            "title": policy.title,
            "amount": after["confirmed_amount"] or after["amount"],
            "deadline": after["deadline"],
            "publicity_from": after["publicity_from"],
            "publicity_to": after["publicity_to"],
            "reason": after["reason"] or note,
            "state": t.target,
            "state_label": STATES[t.target],
            "note": note,
        }
        enqueue(conn, case["uscc"], f"case{case_id}:{name}", notify, payload, case_id)
    from mianshen.trust.hooks import after_move  # trust sits above cases (it reads them): imported on use

    after_move(conn, name, {**case, **changes}, actor, data)
    return {**case, **changes}


# --- one function per transition ---------------------------------------------------------------


def notify(conn: Connection, case_id: int, actor: Actor, deadline: dt.date) -> dict[str, Any]:
    return move(conn, case_id, "notify", actor, values={"deadline": deadline}, notify="case_notified")


def confirm(
    conn: Connection,
    case_id: int,
    actor: Actor,
    amount: Decimal,
    bank_account: str,
    commitment: str,
    bank_name: str = "",
    bank_code: str = "",
) -> dict[str, Any]:
    """The enterprise confirms the amount and its 对公账户 (with 开户行 and 联行号 when given) and signs
    the 信用承诺 (time and actor kept)."""
    case = load_case(conn, case_id)
    proposed = None if case["amount"] is None else Decimal(case["amount"])
    if proposed is not None and amount != proposed:
        raise CaseError(f"确认金额 {amount} 与核定金额 {proposed} 不一致；如有异议请放弃后提出异议")
    if not commitment.strip():
        raise CaseError("须签署信用承诺后方可确认")
    values = {
        "confirmed_amount": format(amount.quantize(Decimal("0.01")), "f"),  # 元, exact to the 分
        "bank_account": encrypt_account(bank_account),
        "commitment_signed_at": platform_now(),
        "commitment_actor": actor.name,
    }
    if bank_name or bank_code:
        values["bank_name"], values["bank_code"] = normalise_bank(bank_name, bank_code)
    return move(
        conn, case_id, "confirm", actor, values=values, data={"commitment": commitment}, notify="case_confirmed"
    )


def decline(conn: Connection, case_id: int, actor: Actor, reason: str) -> dict[str, Any]:
    return move(conn, case_id, "decline", actor, note=reason, values={"reason": reason})


def expire(conn: Connection, case_id: int, actor: Actor = SYSTEM) -> dict[str, Any]:
    return move(conn, case_id, "expire", actor, values={"reason": "确认期限届满未确认"}, notify="case_expired")


def start_review(conn: Connection, case_id: int, actor: Actor, freshness: dict[str, Any]) -> dict[str, Any]:
    return move(conn, case_id, "start_review", actor, data={"freshness": freshness})


def start_publicity(conn: Connection, case_id: int, actor: Actor, start: dt.date, end: dt.date) -> dict[str, Any]:
    values = {"publicity_from": start, "publicity_to": end, "deadline": end}
    return move(conn, case_id, "start_publicity", actor, values=values, notify="case_publicity")


def raise_objection(conn: Connection, case_id: int, actor: Actor, reason: str) -> dict[str, Any]:
    return move(conn, case_id, "raise_objection", actor, note=reason)


def uphold_objection(conn: Connection, case_id: int, actor: Actor, reason: str) -> dict[str, Any]:
    values = {"reason": f"异议成立：{reason}"}
    return move(conn, case_id, "uphold_objection", actor, note=reason, values=values, notify="case_rejected")


def dismiss_objection(conn: Connection, case_id: int, actor: Actor, reason: str) -> dict[str, Any]:
    return move(conn, case_id, "dismiss_objection", actor, note=reason)


def approve(conn: Connection, case_id: int, actor: Actor, budget: dict[str, Any]) -> dict[str, Any]:
    return move(conn, case_id, "approve", actor, data={"budget": budget}, notify="case_approved")


def wait_budget(conn: Connection, case_id: int, actor: Actor, budget: dict[str, Any]) -> dict[str, Any]:
    return move(conn, case_id, "wait_budget", actor, data={"budget": budget}, notify="case_budget_wait")


def resume_budget(conn: Connection, case_id: int, actor: Actor, budget: dict[str, Any]) -> dict[str, Any]:
    return move(conn, case_id, "resume_budget", actor, data={"budget": budget}, notify="case_approved")


def reject(conn: Connection, case_id: int, actor: Actor, reason: str) -> dict[str, Any]:
    if not reason.strip():
        raise CaseError("不予通过须写明理由")
    return move(conn, case_id, "reject", actor, note=reason, values={"reason": reason}, notify="case_rejected")


def add_to_batch(conn: Connection, case_id: int, actor: Actor, batch_id: int) -> dict[str, Any]:
    return move(conn, case_id, "add_to_batch", actor, data={"batch": batch_id})


def mark_paid(conn: Connection, case_id: int, actor: Actor, batch_id: int, amount: str) -> dict[str, Any]:
    data = {"batch": batch_id, "paid_amount": amount}
    return move(conn, case_id, "mark_paid", actor, data=data, notify="case_paid")


def return_payment(conn: Connection, case_id: int, actor: Actor, batch_id: int, reason: str) -> dict[str, Any]:
    values = {"reason": f"退票：{reason}"}
    data = {"batch": batch_id}
    return move(conn, case_id, "return_payment", actor, note=reason, values=values, data=data, notify="case_returned")


def correct_account(
    conn: Connection, case_id: int, actor: Actor, bank_account: str, bank_name: str, bank_code: str
) -> dict[str, Any]:
    """After a 退票: the corrected account (encrypted), 开户行 and 联行号; finance then pays again."""
    name, code = normalise_bank(bank_name, bank_code)
    values = {"bank_account": encrypt_account(bank_account), "bank_name": name, "bank_code": code}
    return move(conn, case_id, "correct_account", actor, values=values)


def archive(conn: Connection, case_id: int, actor: Actor = SYSTEM) -> dict[str, Any]:
    return move(conn, case_id, "archive", actor)


def block(conn: Connection, case_id: int, actor: Actor, reason: str) -> dict[str, Any]:
    return move(conn, case_id, "block", actor, note=reason, values={"reason": reason}, notify="case_blocked")


def unblock(conn: Connection, case_id: int, actor: Actor, reason: str) -> dict[str, Any]:
    return move(conn, case_id, "unblock", actor, note=reason, values={"reason": None})


def claw_back(conn: Connection, case_id: int, actor: Actor, reason: str) -> dict[str, Any]:
    return move(conn, case_id, "claw_back", actor, note=reason, values={"reason": reason}, notify="case_clawback")
