"""督办事项 (工作方案三(二): 对发现的问题及时交办督办、跟踪问效).

The worker raises an item for each policy stage whose overdue cases have gone `threshold()` working
days past their commitment (unanswered objections are the 公示异议处理 stage), for each data field whose
requests are past the statutory reply deadline (profiles/inbox.py), for a policy still published past
its valid_to, and for a budget nearly used up (`BUDGET_ALERT`). One open item per subject (the store's unique `open_key`), so a
daily run adds nothing new while an item is open; once done, a later lapse raises a new item.

The 专班 (platform admin) can also hand an item to a department by hand (`raise_by_hand`).

Status: 交办 (assigned) → 办理中 (in_progress, the owner took it up) → 办结 (done, with a reply);
an open item past its own deadline becomes 逾期 (overdue) and is escalated: it rises to the top of the
专班's workbench marked 已升级, and can still be replied to. Every
change writes an audit row with the item as it was and as it became.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from mianshen.audit.log import SYSTEM, Actor, record
from mianshen.cases.transitions import CaseError, NotAllowed
from mianshen.clock import now as platform_now
from mianshen.clock import today as clock_today
from mianshen.profiles import inbox
from mianshen.reference.workdays import add_working_days
from mianshen.settings import current as settings
from mianshen.store.db import reading
from mianshen.store.schema import cases, supervision_items
from mianshen.supervision import commitments as cm
from mianshen.supervision import ledger, report

REPLY_DAYS = 5  # working days the owner has to deal with an item (platform default)
BUDGET_ALERT = Decimal("0.9")  # share of the budget approved that asks for a 督办 item (platform default)
STATUS = {"assigned": "交办", "in_progress": "办理中", "done": "办结", "overdue": "逾期"}
OPEN = ("overdue", "assigned", "in_progress")


def threshold() -> int:
    return settings().supervise_threshold


def candidates(conn: Connection, today: dt.date) -> list[dict[str, Any]]:
    """What should have an item today: grouped from the ledger and the data-request summary."""
    limit = threshold()
    staged: dict[tuple[str, str], dict[str, Any]] = {}
    for r in ledger.collect(conn, today=today).rows:
        item = staged.setdefault(
            (r["policy_id"], r["stage"]),
            {"department": r["department"], "title": r["title"], "label": r["stage_label"], "cases": 0, "max": 0},
        )
        item["cases"] += r["cases"]
        item["max"] = max(item["max"], r["max_over"])
    out = [
        {
            "kind": "case_overdue",
            "subject": f"policy:{pid}:{stage}",
            "department": v["department"],
            "policy_id": pid,
            "stage": stage,
            "summary": f"“{v['title']}”{v['label']}环节逾期 {v['cases']} 件，最长超期 {v['max']} 个工作日",
            "cases": v["cases"],
            "max_over": v["max"],
        }
        for (pid, stage), v in sorted(staged.items())
        if v["max"] >= limit
    ]
    for line in inbox.summary(conn, None):
        over = cm.days_over(line.due, today) if line.due else 0
        if line.overdue and over > 0:
            out.append(
                {
                    "kind": "data_request",
                    "subject": f"field:{line.field}",
                    "department": line.source,
                    "field": line.field,
                    "summary": f"数据项“{line.label}”有 {line.overdue} 条数据需求超过法定答复期限，最早的已超期 {over} 个工作日",
                    "cases": line.overdue,
                    "max_over": over,
                }
            )
    return out + _policy_candidates(conn, today)


def _policy_candidates(conn: Connection, today: dt.date) -> list[dict[str, Any]]:
    """Policies still published past their valid_to (the worker's expire job should have retired
    them), and budgets nearly used up (approved ≥ BUDGET_ALERT of the newest version's budget)."""
    out = []
    for pid, row in ledger.policies(conn).items():
        if row.state != "published":
            continue
        base = {"department": row.department, "policy_id": pid, "cases": 0, "max_over": 0}
        if row.valid_to is not None and row.valid_to < today:
            text = f"“{row.title}”有效期至 {row.valid_to} 已届满，仍在发布"
            out.append(base | {"kind": "policy_expired", "subject": f"expired:{pid}", "summary": text})
        if row.budget:
            budget = Decimal(row.budget)
            approved = report.money(conn, [cases.c.policy_id == pid])["approved"]
            if budget > 0 and approved >= budget * BUDGET_ALERT:
                share = f"{approved / budget * 100:.1f}%"
                text = f"“{row.title}”预算已使用 {share}（批准 {approved} 元，预算 {budget} 元），请提前安排追加或控制"
                out.append(base | {"kind": "budget", "subject": f"budget:{pid}", "summary": text})
    return out


def raise_due(engine: Engine, today: dt.date) -> int:
    """Raise an item for every candidate without an open one; returns how many were raised."""
    with reading(engine) as conn:
        wanted = candidates(conn, today)
        held = set(
            conn.execute(
                select(supervision_items.c.open_key).where(supervision_items.c.open_key.is_not(None))
            ).scalars()
        )
    raised = 0
    deadline = add_working_days(today, REPLY_DAYS).date
    for c in wanted:
        if c["subject"] in held:
            continue
        row = c | {"raised_at": platform_now(), "deadline": deadline, "status": "assigned", "open_key": c["subject"]}
        try:
            with engine.begin() as conn:
                new_id = conn.execute(supervision_items.insert().values(**row)).inserted_primary_key[0]  # type: ignore[index]
                shown = {k: row[k] for k in ("department", "summary", "deadline", "status")}
                record(conn, SYSTEM, "supervision.raise", "supervision_item", new_id, None, shown)
            raised += 1
        except IntegrityError:  # another worker raised it first: the store keeps one open item
            continue
    return raised


def mark_overdue(engine: Engine, today: dt.date) -> int:
    """Open items past their deadline become 逾期."""
    with reading(engine) as conn:
        due = conn.execute(
            select(supervision_items.c.id, supervision_items.c.status).where(
                supervision_items.c.status.in_(("assigned", "in_progress")), supervision_items.c.deadline < today
            )
        ).all()
    for item_id, status in due:
        with engine.begin() as conn:
            _set(conn, item_id, SYSTEM, status, {"status": "overdue"})
    return len(due)


def raise_by_hand(conn: Connection, actor: Actor, department: str, summary: str, departments: set[str]) -> int:
    """The 专班 hands a department an item of its own (工作方案: 对发现的问题及时交办督办)."""
    if actor.role != "platform_admin":
        raise NotAllowed("只有工作专班（平台管理员）可以交办督办事项")
    if department not in departments:
        raise CaseError(f"责任部门“{department}”不是发布了政策的部门，请从列表中选择")
    text = summary.strip()
    if not text:
        raise CaseError("请写明督办事项的内容")
    deadline = add_working_days(clock_today(), REPLY_DAYS).date
    row = {
        "kind": "manual",
        "subject": f"manual:{department}",
        "department": department,
        "summary": text,
        "cases": 0,
        "max_over": 0,
        "raised_at": platform_now(),
        "deadline": deadline,
        "status": "assigned",
    }
    new_id = int(conn.execute(supervision_items.insert().values(**row)).inserted_primary_key[0])  # type: ignore[index]
    record(
        conn, actor, "supervision.raise", "supervision_item", new_id, None, {"department": department, "summary": text}
    )
    return new_id


def load(conn: Connection, item_id: int) -> dict[str, Any]:
    row = conn.execute(select(supervision_items).where(supervision_items.c.id == item_id)).mappings().first()
    if row is None:
        raise CaseError(f"督办事项 {item_id} 不存在")
    return dict(row)


def owns(item: dict[str, Any], role: str, department: str | None) -> bool:
    """Whether this staff member answers for the item: the policy's department; for data, the
    department holding the field, or the data manager."""
    if item["kind"] == "data_request":
        return role == "data_manager" or (role == "department" and inbox.holds(item["department"], department))
    return role == "department" and item["department"] == department


def visible(item: dict[str, Any], role: str, department: str | None) -> bool:
    return role in ("platform_admin", "auditor") or owns(item, role, department)


def accept(conn: Connection, item_id: int, actor: Actor) -> None:
    """The owner takes the item up: 交办 → 办理中."""
    item = _owned(conn, item_id, actor)
    if item["status"] != "assigned":
        raise CaseError(f"督办事项 {item_id} 当前为“{STATUS[item['status']]}”，不能签收")
    _set(conn, item_id, actor, "assigned", {"status": "in_progress"})


def reply(conn: Connection, item_id: int, actor: Actor, text: str) -> None:
    """The owner's reply closes the item (办结); an overdue item can still be closed, late."""
    item = _owned(conn, item_id, actor)
    if not text.strip():
        raise CaseError("办结须写明办理情况")
    if item["status"] not in OPEN:
        raise CaseError(f"督办事项 {item_id} 已办结")
    changes = {"status": "done", "reply": text.strip(), "replied_by": actor.name, "replied_at": platform_now()}
    _set(conn, item_id, actor, item["status"], changes | {"open_key": None})


def _owned(conn: Connection, item_id: int, actor: Actor) -> dict[str, Any]:
    item = load(conn, item_id)
    if not owns(item, actor.role, actor.department):
        raise NotAllowed(f"督办事项 {item_id} 由 {item['department']} 办理")
    return item


def _set(conn: Connection, item_id: int, actor: Actor, status: str, changes: dict[str, Any]) -> None:
    """Change an item still in `status` (of two people acting at once, one changes it)."""
    done = conn.execute(
        supervision_items.update()
        .where(supervision_items.c.id == item_id, supervision_items.c.status == status)
        .values(**changes)
    ).rowcount
    if done != 1:
        raise CaseError(f"督办事项 {item_id} 已被他人同时办理，请刷新后查看")
    after = {k: v for k, v in changes.items() if k in ("status", "reply")}
    record(conn, actor, f"supervision.{changes['status']}", "supervision_item", item_id, {"status": status}, after)


def listed(conn: Connection, role: str, department: str | None) -> list[dict[str, Any]]:
    """The items this staff member sees: open ones first (逾期, 交办, 办理中; nearest deadline first),
    then the 50 most recently closed."""
    rows = [dict(r) for r in conn.execute(select(supervision_items).order_by(supervision_items.c.id)).mappings()]
    mine = [r for r in rows if visible(r, role, department)]
    rank = defaultdict(lambda: len(OPEN), {s: i for i, s in enumerate(OPEN)})
    open_ = sorted((r for r in mine if r["status"] in OPEN), key=lambda r: (rank[r["status"]], r["deadline"], r["id"]))
    closed = sorted((r for r in mine if r["status"] not in OPEN), key=lambda r: -r["id"])[:50]
    for r in open_ + closed:
        r["status_label"] = STATUS[r["status"]]
        r["escalated"] = r["status"] == "overdue"  # 逾期未办结: raised to the 专班 (workbench, top)
        r["can_act"] = owns(r, role, department) and r["status"] in OPEN
    return open_ + closed
