"""Correction requests (数据更正申请): an enterprise says a value the platform holds is wrong.

Each request gets a 受理编号 at once, lands in the inbox of the department that holds the field (the
catalogue's source), may carry one attachment (kept by content hash, like application materials),
and is answered 已更正 (the department sends the corrected value through its next import) or 不予更正
(with the reason). The enterprise follows it by number on /my. Submitting and answering are audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from mianshen.audit.log import Actor, record
from mianshen.catalogue import load_catalogue
from mianshen.clock import now as platform_now
from mianshen.errors import InputError
from mianshen.profiles.inbox import holds
from mianshen.store.files import store_attachment
from mianshen.store.outbox import department_recipient
from mianshen.store.schema import corrections, enterprises, portal_messages

STATES = {"received": "已受理", "corrected": "已更正", "rejected": "不予更正"}


class CorrectionMissing(InputError):
    """No such correction request in the asker's reach (shown as not found)."""


def number(created: dt.datetime, correction_id: int) -> str:
    """受理编号: GZ, the year received, the id."""
    return f"GZ{created.year}{correction_id:08d}"


def submit(
    conn: Connection,
    actor: Actor,
    uscc: str,
    field: str,
    claimed: str,
    reason: str,
    policy_id: str = "",
    attachment: Path | None = None,
    files_dir: Path | None = None,
) -> dict[str, Any]:
    spec = load_catalogue().get(field)
    if spec is None:
        raise InputError(f"数据项“{field}”不存在")
    if len(claimed) > 200:
        raise InputError("正确的值不超过 200 字", field="value")
    if len(reason.strip()) < 5 or len(reason) > 1000:
        raise InputError("请写明更正理由（5–1000 字）", field="reason")
    department = spec.source or "数据主管部门"
    kept = store_attachment(attachment, files_dir) if attachment is not None and files_dir is not None else None
    now = platform_now()
    values = {
        "uscc": uscc,
        "field": field,
        "claimed": claimed.strip(),
        "reason": reason.strip(),
        "policy_id": policy_id or None,
        "department": department,
        "state": "received",
        "attachment": kept["name"] if kept else None,
        "attachment_path": kept["path"] if kept else None,
        "created_at": now,
    }
    new_id = int(conn.execute(corrections.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
    code = number(now, new_id)
    detail = {"number": code, "field": field, "label": spec.label, "claimed": values["claimed"]}
    record(conn, actor, "data.correction_requested", "correction", new_id, None, detail | {"reason": values["reason"]})
    body = f"企业 {uscc} 申请更正“{spec.label}”：应为“{values['claimed'] or '（未填写）'}”。受理编号 {code}，请在工作台“数据需求”中办理。"
    conn.execute(
        portal_messages.insert().values(
            uscc=department_recipient(department), title=f"数据更正申请：{spec.label}", body=body, created_at=now
        )
    )
    return {"id": new_id, "number": code, "department": department, "field": field, "label": spec.label}


def _shown(row: Any) -> dict[str, Any]:
    spec = load_catalogue().get(row["field"])
    return dict(row) | {
        "number": number(row["created_at"], row["id"]),
        "label": spec.label if spec else "（已停用的数据项）",
        "state_label": STATES[row["state"]],
    }


def of_enterprise(conn: Connection, uscc: str) -> list[dict[str, Any]]:
    query = select(corrections).where(corrections.c.uscc == uscc).order_by(corrections.c.id.desc()).limit(100)
    return [_shown(r) for r in conn.execute(query).mappings()]


def for_department(
    conn: Connection, department: str | None, state: str = "received", limit: int = 500, within: Sequence[Any] = ()
) -> tuple[list[dict[str, Any]], int]:
    """A department's corrections in `state` ('' for all), oldest first, and how many there are;
    `within`: conditions on corrections that keep an account to its region."""
    query = select(corrections, enterprises.c.name).outerjoin(enterprises, enterprises.c.uscc == corrections.c.uscc)
    query = query.where(*within)
    if state:
        query = query.where(corrections.c.state == state)
    rows = [r for r in conn.execute(query.order_by(corrections.c.id)).mappings() if holds(r["department"], department)]
    return [_shown(r) for r in rows[:limit]], len(rows)


def answer(
    conn: Connection, correction_id: int, actor: Actor, corrected: bool, reply: str, within: Sequence[Any] = ()
) -> dict[str, Any]:
    """已更正 or 不予更正, once; the enterprise is told on the portal. Outside `within` it is missing."""
    row = conn.execute(select(corrections).where(corrections.c.id == correction_id, *within)).mappings().first()
    department = actor.department if actor.role == "department" else None
    if row is None or not holds(row["department"], department):
        raise CorrectionMissing("更正申请不存在")
    if row["state"] != "received":
        raise InputError(f"更正申请 {number(row['created_at'], row['id'])} 已办结（{STATES[row['state']]}）")
    if not corrected and len(reply.strip()) < 5:
        raise InputError("不予更正须写明理由（至少 5 个字）", field="reply")
    state = "corrected" if corrected else "rejected"
    now = platform_now()
    done = conn.execute(
        corrections.update()
        .where(corrections.c.id == correction_id, corrections.c.state == "received")
        .values(state=state, reply=reply.strip()[:1000], answered_at=now, answered_by=actor.name)
    ).rowcount
    if done != 1:
        raise InputError("该更正申请已由他人同时办理，请刷新")
    code = number(row["created_at"], row["id"])
    record(
        conn, actor, f"data.correction_{state}", "correction", correction_id, {"state": "received"}, {"state": state}
    )
    text = "已更正，更正后的数据将随下次数据更新生效" if corrected else f"不予更正，理由：{reply.strip()}"
    conn.execute(
        portal_messages.insert().values(
            uscc=row["uscc"],
            title=f"更正申请 {code}：{STATES[state]}",
            body=f"您的更正申请 {code} {text}。",
            created_at=now,
        )
    )
    return _shown(conn.execute(select(corrections).where(corrections.c.id == correction_id)).mappings().one())


def waiting_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).where(corrections.c.state == "received")).scalar_one())
