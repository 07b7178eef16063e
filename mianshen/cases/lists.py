"""名单类: a department uploads its list (USCC + amount + note); every good row becomes a case.

Validated like a data import: each bad row is kept with its reason in `list_rejects` (the reject
report the department corrects and uploads again), never silently dropped; the same file uploaded
twice changes nothing. Accepted rows open a case (origin "list") and notify the enterprise at once,
since the department has already decided who benefits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from mianshen import filecheck
from mianshen.audit.log import SYSTEM, Actor, record
from mianshen.cases import transitions as tr
from mianshen.cases.open import open_case
from mianshen.clock import now as platform_now
from mianshen.clock import today as clock_today
from mianshen.profiles.readers import read_rows
from mianshen.reference.uscc import check_uscc
from mianshen.reference.workdays import add_working_days
from mianshen.store.schema import cases, enterprises, list_rejects, list_uploads

MAX_LIST_ROWS = 200_000  # a 名单 names enterprises one by one; more is a wrong file or a hostile one

COLUMNS = {
    "uscc": ("统一社会信用代码", "信用代码", "uscc", "USCC"),
    "amount": ("金额", "核定金额", "奖补金额", "amount"),
    "note": ("备注", "note"),
    "name": ("企业名称", "name"),
}


@dataclass
class ListReport:
    upload_id: int
    rows_read: int = 0
    case_ids: list[int] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    duplicate_of: int | None = None
    file_name: str = ""


def _pick(row: dict[str, Any], key: str) -> str:
    for name in COLUMNS[key]:
        if row.get(name) not in (None, ""):
            return str(row[name]).strip()
    return ""


def parse_amount(raw: str) -> Decimal:
    """Exact 元 with at most 2 decimals (分); commas allowed as people type them."""
    try:
        value = Decimal(raw.replace(",", "").replace("，", "").removesuffix("元"))
    except InvalidOperation as exc:
        raise ValueError(f"金额“{raw}”不是数字") from exc
    if not value.is_finite() or value <= 0:
        raise ValueError(f"金额“{raw}”应大于 0")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"金额“{raw}”超过两位小数（精确到分）")
    return value.quantize(Decimal("0.01"))


def _check_code(conn: Connection, raw: str) -> tuple[str, str]:
    """(code, warning); raises ValueError with the reason when the row cannot be taken."""
    if not raw:
        raise ValueError("缺少统一社会信用代码")
    checked = check_uscc(raw)
    if checked.valid:
        return checked.code, ""
    status = conn.execute(select(enterprises.c.uscc_status).where(enterprises.c.uscc == checked.code)).scalar()
    if status == "overridden" and len(checked.code) == 18:  # an official has confirmed this real, failing code
        return checked.code, f"{checked.code} 校验未通过但已人工确认：{'；'.join(checked.problems)}"
    raise ValueError(
        f"统一社会信用代码 {checked.code} 无效：{'；'.join(checked.problems)}"
        "（如核实为登记机关发放的真实代码，请先在企业画像库中人工确认后重新上传）"
    )


def _reject(report: ListReport, number: int, reason: str, row: dict[str, Any]) -> None:
    report.rejects.append({"row_number": number, "reason": reason, "raw": row})
    if len(report.rejects) > filecheck.MAX_REJECTS:  # the caller's transaction rolls the list back
        raise filecheck.too_many_rejects(number, report.file_name)


def upload_list(
    conn: Connection,
    policy_id: str,
    path: str | Path,
    actor: Actor,
    period: str | None = None,
    on: dt.date | None = None,
) -> ListReport:
    """Validate and take the list in one transaction (the caller's)."""
    day = on or clock_today()
    policy = tr.policy_settings(conn, policy_id)
    if policy.kind != "名单类":
        raise tr.CaseError(f"政策“{policy.title}”是{policy.kind}，只有名单类政策可以上传名单")
    if actor.role != "department" or actor.department != policy.department:
        raise tr.NotAllowed(
            f"名单须由政策执行部门 {policy.department} 上传（当前：{actor.role} {actor.department or ''}）"
        )
    file = Path(path)
    digest = hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else ""
    rows = []  # read_rows raises a clear error for a missing file or an unknown format
    for entry in read_rows(file):
        filecheck.count_row(entry[0], MAX_LIST_ROWS, file.name)
        rows.append(entry)
    earlier = conn.execute(
        select(list_uploads.c.id).where(list_uploads.c.policy_id == policy_id, list_uploads.c.sha256 == digest)
    ).scalar()
    if earlier is not None:
        return ListReport(earlier, len(rows), duplicate_of=earlier)
    upload_id = int(
        conn.execute(
            list_uploads.insert().values(
                policy_id=policy_id,
                file_name=file.name,
                sha256=digest,
                uploaded_by=actor.name,
                rows_accepted=0,
                rows_rejected=0,
                at=platform_now(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    )
    report = ListReport(upload_id, len(rows), file_name=file.name)
    year = period or str(day.year)
    seen: dict[str, int] = {}
    for number, row in rows:
        try:
            code, warning = _check_code(conn, _pick(row, "uscc"))
            amount = parse_amount(_pick(row, "amount"))
        except ValueError as exc:
            _reject(report, number, str(exc), row)
            continue
        if code in seen:
            _reject(report, number, f"与第 {seen[code]} 行重复（同一企业在名单中只能出现一次）", row)
            continue
        seen[code] = number
        case_id = open_case(
            conn,
            policy_id=policy_id,
            version=policy.version,
            uscc=code,
            period=year,
            origin="list",
            amount=amount,
            actor=actor,
        )
        if case_id is None:
            existing = conn.execute(
                select(cases.c.id).where(cases.c.policy_id == policy_id, cases.c.uscc == code, cases.c.period == year)
            ).scalar()
            _reject(report, number, f"该企业本期（{year}）已有案件 {existing}，不重复立案", row)
            continue
        if warning:
            report.warnings.append(f"第 {number} 行：{warning}")
        tr.notify(conn, case_id, SYSTEM, add_working_days(day, policy.confirm_days).date)
        report.case_ids.append(case_id)
    for reject in report.rejects:
        conn.execute(
            list_rejects.insert().values(
                upload_id=upload_id,
                row_number=reject["row_number"],
                reason=reject["reason"],
                raw=json.dumps(reject["raw"], ensure_ascii=False, default=str),
            )
        )
    conn.execute(
        list_uploads.update()
        .where(list_uploads.c.id == upload_id)
        .values(rows_accepted=len(report.case_ids), rows_rejected=len(report.rejects))
    )
    summary = {"file": file.name, "sha256": digest, "accepted": len(report.case_ids), "rejected": len(report.rejects)}
    record(conn, actor, "list.upload", "list_upload", upload_id, None, summary)
    return report
