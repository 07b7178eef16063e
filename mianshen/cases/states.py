"""The case state machine as data: states, and which role may move a case from where to where.

Each transition is carried out by one function in `transitions.py` that checks the actor's role
against this table and writes the new state, an event, an audit row and any notification in one
transaction. Nothing else changes a case's state.
"""

from __future__ import annotations

from dataclasses import dataclass

STATES = {
    "matched": "已匹配",
    "notified": "已通知",
    "confirmed": "企业已确认",
    "declined": "企业放弃",
    "expired": "逾期未确认",
    "under_review": "审核中",
    "publicity": "公示中",
    "objection": "异议处理中",
    "approved": "审核通过",
    "budget_wait": "预算已用完，待追加",
    "rejected": "不予通过",
    "in_payment": "拨付中",
    "paid": "已拨付",
    "returned": "退票，待更正账户",
    "archived": "已归档",
    "blocked": "暂停（严重失信）",
    "clawback": "追回",
}
FINAL = frozenset({"declined", "expired", "rejected", "archived", "clawback"})


@dataclass(frozen=True)
class Transition:
    name: str
    source: frozenset[str]
    target: str
    roles: frozenset[str]
    label: str


def _t(name: str, source: set[str], target: str, roles: set[str], label: str) -> Transition:
    return Transition(name, frozenset(source), target, frozenset(roles), label)


STAFF = {"department"}
TRANSITIONS = {
    t.name: t
    for t in (
        _t("notify", {"matched"}, "notified", {"system", "department"}, "通知企业"),
        _t("confirm", {"notified"}, "confirmed", {"enterprise"}, "企业确认金额、账户并签署信用承诺"),
        _t("decline", {"notified"}, "declined", {"enterprise"}, "企业放弃"),
        _t("expire", {"notified"}, "expired", {"system"}, "确认期限届满"),
        _t("start_review", {"confirmed"}, "under_review", STAFF | {"system"}, "开始审核（数据时效复核）"),
        # system: the green channel (免审直达, trust/routing.py) announces qualifying cases itself
        _t("start_publicity", {"under_review"}, "publicity", STAFF | {"system"}, "审核通过，进入公示"),
        _t("raise_objection", {"publicity"}, "objection", {"public", "enterprise", "department"}, "提出异议"),
        _t("uphold_objection", {"objection"}, "rejected", STAFF, "异议成立"),
        _t("dismiss_objection", {"objection"}, "publicity", STAFF, "异议不成立，继续公示"),
        _t("approve", {"publicity"}, "approved", STAFF | {"system"}, "公示期满无异议，批准"),
        _t("wait_budget", {"publicity"}, "budget_wait", STAFF | {"system"}, "预算不足，待追加"),
        _t("resume_budget", {"budget_wait"}, "approved", STAFF, "追加预算后批准"),
        _t("reject", {"under_review", "publicity", "budget_wait"}, "rejected", STAFF, "不予通过"),
        _t(  # cases/exclusive.py: another policy of the same matter is enjoyed (同一事项不重复享受、就高)
            "exclude",
            {"matched", "notified", "confirmed", "under_review", "publicity", "objection", "approved", "budget_wait"},
            "rejected",
            STAFF | {"system", "finance"},
            "同一事项不重复享受，不予通过",
        ),
        _t("add_to_batch", {"approved"}, "in_payment", {"finance"}, "列入拨付批次"),
        _t("mark_paid", {"in_payment"}, "paid", {"finance"}, "拨付到账"),
        _t("return_payment", {"in_payment", "paid"}, "returned", {"finance"}, "退票"),
        _t("correct_account", {"returned"}, "approved", {"enterprise", "department"}, "更正收款账户，待重新拨付"),
        _t("archive", {"paid"}, "archived", STAFF | {"system"}, "归档"),
        _t(
            "block",
            {"matched", "notified", "confirmed", "under_review", "publicity", "approved", "budget_wait"},
            "blocked",
            STAFF | {"system"},
            "列入严重失信名单，暂停",
        ),
        _t("unblock", {"blocked"}, "under_review", STAFF, "移出严重失信名单，恢复审核"),
        _t("claw_back", {"paid", "archived"}, "clawback", STAFF, "承诺不实，追回资金并记录失信"),
    )
}
