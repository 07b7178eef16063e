"""异议: objections to a case in 公示 and how staff settle them.

An objector who is known — an enterprise signed in, a member of the public whose phone an SMS code
verified (web/objecting.py) — stops the case at once (公示 → 异议处理中). An unverified objection
waits in triage and the case goes on; staff accept it (the case then stops as for a verified one)
or dismiss it with a reason. A stopped case is settled by `resolve`: upheld → rejected, dismissed →
back to 公示 with its original end date.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from mianshen.audit.log import Actor, record
from mianshen.cases import transitions as tr
from mianshen.clock import now as platform_now
from mianshen.store.schema import objections


def object_to(
    conn: Connection, case_id: int, actor: Actor, reason: str, *, stop: bool = True, **origin: str | None
) -> int:
    """An objection to a case in 公示. `stop`: the objector is known (an enterprise signed in, a phone
    verified by SMS), so the case stops at once; otherwise it waits in triage and the case goes on.
    `origin`: the objector's `phone` (SM4-encrypted) and `client` address, when known."""
    if not reason.strip():
        raise tr.CaseError("提出异议须写明理由")
    case = tr.load_case(conn, case_id)
    if case["state"] == "objection" or not stop:  # already stopped (one more objection), or triage
        if case["state"] not in ("publicity", "objection"):
            raise tr.CaseError(f"案件 {case_id} 不在公示期内，不能提出异议")
        tr.authorize(tr.TRANSITIONS["raise_objection"], actor, case, tr.policy_settings(conn, case["policy_id"]))
    else:
        tr.raise_objection(conn, case_id, actor, reason)
    values = {"case_id": case_id, "raised_by": actor.name, "reason": reason, "raised_at": platform_now()}
    stage = {"stage": "verified" if stop else "triage"}
    oid = int(conn.execute(objections.insert().values(**values, **stage, **origin)).inserted_primary_key[0])  # type: ignore[index]
    record(conn, actor, "objection.received", "case", case_id, None, {"objection": oid, "verified": stop})
    return oid


def _triaged(conn: Connection, objection_id: int) -> dict[str, Any]:
    row = conn.execute(select(objections).where(objections.c.id == objection_id)).mappings().first()
    if row is None or row["stage"] != "triage" or row["resolution"] is not None:
        raise tr.CaseError(f"异议 {objection_id} 不在待核实之列（已受理或已驳回）")
    return dict(row)


def accept_objection(conn: Connection, objection_id: int, actor: Actor) -> dict[str, Any]:
    """Staff take up a triaged objection: the case stops as for a verified one (公示 → 异议处理中)."""
    row = _triaged(conn, objection_id)
    case = tr.load_case(conn, row["case_id"])
    if case["state"] == "objection":  # stopped by another objection: this one joins it
        tr.authorize(tr.TRANSITIONS["uphold_objection"], actor, case, tr.policy_settings(conn, case["policy_id"]))
    else:
        case = tr.raise_objection(conn, row["case_id"], actor, row["reason"])
    conn.execute(objections.update().where(objections.c.id == objection_id).values(stage="accepted"))
    record(conn, actor, "objection.accept", "case", row["case_id"], None, {"objection": objection_id})
    return case


def dismiss_triaged(conn: Connection, objection_id: int, actor: Actor, reason: str) -> None:
    """Staff set aside a triaged objection, with the reason; the case was never stopped."""
    if not reason.strip():
        raise tr.CaseError("驳回异议须写明理由")
    row = _triaged(conn, objection_id)
    case = tr.load_case(conn, row["case_id"])
    tr.authorize(tr.TRANSITIONS["dismiss_objection"], actor, case, tr.policy_settings(conn, case["policy_id"]))
    values = {"resolution": "dismissed", "resolved_by": actor.name, "resolution_reason": reason}
    conn.execute(
        objections.update().where(objections.c.id == objection_id).values(**values, resolved_at=platform_now())
    )
    record(
        conn, actor, "objection.dismiss", "case", row["case_id"], None, {"objection": objection_id, "reason": reason}
    )


def resolve(conn: Connection, case_id: int, actor: Actor, upheld: bool, reason: str) -> dict[str, Any]:
    """Upheld → rejected; dismissed → back to 公示 (the original end date stands)."""
    if not reason.strip():
        raise tr.CaseError("异议处理须写明理由")
    result = (tr.uphold_objection if upheld else tr.dismiss_objection)(conn, case_id, actor, reason)
    conn.execute(
        objections.update()
        .where(objections.c.case_id == case_id, objections.c.resolution.is_(None), objections.c.stage != "triage")
        .values(
            resolution="upheld" if upheld else "dismissed",
            resolved_by=actor.name,
            resolution_reason=reason,
            resolved_at=platform_now(),
        )
    )
    return result
