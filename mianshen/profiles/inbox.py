"""The data departments' inbox (数据共享需求清单, seed 二(二)): what the platform asks of each department
that holds data, and what enterprises ask to have corrected.

A data request (数据请求) is one enterprise lacking one field some policy needs; match runs open and
resolve them (matching/requests.py). Here they are read per field — which department holds it, how
many enterprises wait, which policies need it, how fresh it must be — each with a number and a reply
deadline in working days. The seed allows refusal only where a law, regulation or national document
forbids sharing, so a refusal must name its legal basis; it is kept with the requests and audited.
An answer is an import of the field (the import path itself); the next match run resolves what it
filled.

Reply deadline: 《政务信息资源共享管理暂行办法》(国发〔2016〕51号) gives the providing department 10
working days to answer a request for conditionally shared data; `MIANSHEN_DATA_REPLY_DAYS` sets
another number where a province's own rules differ.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, func, select

from mianshen.audit.log import Actor, record
from mianshen.catalogue import load_catalogue
from mianshen.clock import now as platform_now
from mianshen.clock import today as clock_today
from mianshen.errors import InputError
from mianshen.reference.workdays import add_working_days
from mianshen.settings import current as settings
from mianshen.store.schema import data_needs, data_requests, enterprises, policy_versions

STATUS = {"open": "待处理", "answered": "已答复", "refused": "已拒绝"}


def reply_days() -> int:
    return settings().data_reply_days


def request_number(opened: dt.datetime | dt.date, request_id: int) -> str:
    """数据请求编号: SJ, the year it was opened, the id (unique and stable)."""
    return f"SJ{opened.year}{request_id:08d}"


def department_key(name: str | None) -> str:
    """河南省人力资源和社会保障厅 → 人力资源和社会保障厅: a staff account's department as the catalogue
    names data sources."""
    text = (name or "").strip()
    for prefix in ("河南省", "国家税务总局河南省"):
        text = text.removeprefix(prefix)
    return text


def holds(source: str, department: str | None) -> bool:
    """Whether a staff department holds a field of catalogue source `source` (None: every department)."""
    if department is None:
        return True
    key = department_key(department)
    return bool(key) and (key in source or source.split("（")[0] in key)


def fields_of(department: str | None) -> dict[str, Any]:
    """The catalogue fields a department holds (derived fields are nobody's to send)."""
    return {
        name: spec
        for name, spec in load_catalogue().fields.items()
        if spec.source and not spec.source.startswith("派生") and holds(spec.source, department)
    }


@dataclass
class FieldLine:
    field: str
    label: str
    source: str
    refresh: str
    waiting: int  # open, not refused
    refused: int
    answered: int
    oldest: dt.date | None  # the earliest opening among those waiting
    due: dt.date | None  # its reply deadline
    overdue: int  # waiting past their deadline
    policies: list[tuple[str, int]]  # (policy title, enterprises waiting for it) from the last run
    refusal: str = ""  # the legal basis, when refused


def _day(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.date() if isinstance(value, dt.datetime) else value


def summary(conn: Connection, department: str | None, within: Sequence[Any] = ()) -> list[FieldLine]:
    """One line per field the department holds that anyone asked for, most-waited-for first;
    `within`: conditions on data_requests that keep an account to its region."""
    held = fields_of(department)
    if not held:
        return []
    today, days = clock_today(), reply_days()
    cutoff = add_working_days(today, -days).date  # opened on or before it: past the deadline today
    open_ = data_requests.c.resolved_at.is_(None)
    refused = data_requests.c.refused_at.is_not(None)
    waiting = open_ & ~refused
    rows = conn.execute(
        select(
            data_requests.c.field,
            func.sum(case((waiting, 1), else_=0)),
            func.sum(case((open_ & refused, 1), else_=0)),
            func.sum(case((~open_, 1), else_=0)),
            func.min(case((waiting, data_requests.c.opened_at))),
            func.sum(case((waiting & (data_requests.c.opened_at < cutoff + dt.timedelta(days=1)), 1), else_=0)),
            func.max(data_requests.c.refused_reason),
        )
        .where(data_requests.c.field.in_(sorted(held)), *within)
        .group_by(data_requests.c.field)
    ).all()
    needs = _needs(conn)
    lines = []
    for field, n_wait, n_refused, n_answered, oldest, late, basis in rows:
        spec = held[field]
        first = _day(oldest)
        lines.append(
            FieldLine(
                field,
                spec.label,
                spec.source,
                spec.refresh,
                int(n_wait or 0),
                int(n_refused or 0),
                int(n_answered or 0),
                first,
                add_working_days(first, days).date if first else None,
                int(late or 0),
                needs.get(field, []),
                basis or "",
            )
        )
    return sorted(lines, key=lambda x: (-x.waiting, x.field))


def _needs(conn: Connection) -> dict[str, list[tuple[str, int]]]:
    """Per field, the policies of the last run that wait for it and how many enterprises each."""
    last = conn.execute(select(func.max(data_needs.c.run_id))).scalar()
    if last is None:
        return {}
    titles = dict(
        conn.execute(
            select(policy_versions.c.policy_id, policy_versions.c.title).order_by(policy_versions.c.version)
        ).all()
    )
    out: dict[str, list[tuple[str, int]]] = {}
    for r in conn.execute(
        select(data_needs).where(data_needs.c.run_id == last).order_by(data_needs.c.enterprises.desc())
    ):
        out.setdefault(r.field, []).append((titles.get(r.policy_id, "（已撤下的政策）"), int(r.enterprises)))
    return out


def status_of(row: Any) -> str:
    if row["resolved_at"] is not None:
        return "answered"
    return "refused" if row["refused_at"] is not None else "open"


def requests_page(
    conn: Connection, field: str, status: str, page: int, size: int, within: Sequence[Any] = ()
) -> tuple[list[dict[str, Any]], int]:
    """One page of a field's requests (oldest first) and the total (`within`: as for `summary`)."""
    conditions = [data_requests.c.field == field, *within]
    if status == "open":
        conditions += [data_requests.c.resolved_at.is_(None), data_requests.c.refused_at.is_(None)]
    elif status == "refused":
        conditions += [data_requests.c.resolved_at.is_(None), data_requests.c.refused_at.is_not(None)]
    elif status == "answered":
        conditions.append(data_requests.c.resolved_at.is_not(None))
    total = int(conn.execute(select(func.count()).select_from(data_requests).where(*conditions)).scalar_one())
    page = min(page, max(1, -(-total // size))) if size else 1  # past the last page: the last page
    query = (
        select(data_requests, enterprises.c.name)
        .outerjoin(enterprises, enterprises.c.uscc == data_requests.c.uscc)
        .where(*conditions)
        .order_by(data_requests.c.opened_at, data_requests.c.id)
    )
    if size:
        query = query.offset((page - 1) * size).limit(size)
    days = reply_days()
    rows = []
    for r in conn.execute(query).mappings():
        opened = _day(r["opened_at"])
        state = status_of(r)
        rows.append(
            {
                "number": request_number(opened or clock_today(), r["id"]),
                "uscc": r["uscc"],
                "name": r["name"] or "",
                "opened": opened,
                "due": add_working_days(opened, days).date if opened else None,
                "status": state,
                "status_label": STATUS[state],
                "answered": _day(r["resolved_at"]),
            }
        )
    return rows, total


def refuse(conn: Connection, field: str, actor: Actor, basis: str, reason: str, within: Sequence[Any] = ()) -> int:
    """Refuse every waiting request for `field` (`within`: of the account's region); only with a legal
    basis (seed 二(二)). Returns how many."""
    spec = fields_of(actor.department if actor.role == "department" else None).get(field)
    if spec is None:
        raise InputError("该数据项不由您的部门提供，不能拒绝")
    if len(basis.strip()) < 4:
        raise InputError("拒绝须写明禁止共享的法律、法规或国家文件依据（名称与条款）", field="basis")
    if len(reason.strip()) < 5:
        raise InputError("请写明拒绝理由（至少 5 个字）", field="reason")
    text = f"{basis.strip()}：{reason.strip()}"[:1000]
    done = conn.execute(
        data_requests.update()
        .where(
            data_requests.c.field == field,
            data_requests.c.resolved_at.is_(None),
            data_requests.c.refused_at.is_(None),
            *within,
        )
        .values(refused_at=platform_now(), refused_by=actor.name, refused_reason=text)
    ).rowcount
    record(conn, actor, "data.request_refused", "field", field, None, {"field": field, "requests": done, "basis": text})
    return int(done)
