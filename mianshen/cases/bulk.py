"""Bulk work (批量办理): one department action on every case of a policy that is ready for it.

批量推送 notifies every matched case of a policy (3,000 稳岗返还 cases are one click, not 3,000);
批量进入公示 opens 公示 for every case under review; 批量批准 approves every case whose 公示 has
ended. A job is a row (`bulk_jobs`): created with its total, then worked through in chunks, each
chunk one transaction that also moves the job's progress — so what the progress bar shows is what
has happened, a reload finds the job where it is, and a killed server leaves a job the next server
or the worker resumes (`resume_stale`). Each case goes through the same service as a single click
(with the same checks); a case that refuses is reported with its reason and the rest continue.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select

from mianshen.audit.log import Actor
from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.clock import now as platform_now
from mianshen.clock import real_now
from mianshen.clock import today as clock_today
from mianshen.reference.workdays import add_working_days
from mianshen.store.db import reading
from mianshen.store.schema import bulk_jobs, cases

ACTIONS = {"notify": "批量通知企业", "publicity": "批量进入公示", "decide": "公示期满批量批准"}
SOURCE = {"notify": "matched", "publicity": "under_review", "decide": "publicity"}
CHUNK = 200
STALE = dt.timedelta(minutes=2)  # a running job silent this long was stopped; another runner resumes it


@dataclass(frozen=True)
class Preview:
    action: str
    policy_id: str
    title: str
    count: int
    total: Decimal
    # what one enterprise's notice is made of (notify only): (uscc, payload of the case_notified template);
    # the caller renders it, since notify sits above cases (it reads case states and contacts)
    sample: tuple[str, dict[str, Any]] | None


def _ready(policy_id: str, action: str, region: str | None, day: dt.date) -> list[Any]:
    if action not in ACTIONS:
        raise tr.CaseError(f"不支持的批量操作“{action}”")
    conditions = [cases.c.policy_id == policy_id, cases.c.state == SOURCE[action]]
    if action == "decide":
        conditions.append(cases.c.publicity_to < day)  # only 公示 that has ended
    if region:
        conditions.append(cases.c.region.startswith(region, autoescape=True))
    return conditions


def preview(conn: Connection, policy_id: str, action: str, region: str | None = None) -> Preview:
    day = clock_today()
    conditions = _ready(policy_id, action, region, day)
    count = int(conn.execute(select(func.count()).select_from(cases).where(*conditions)).scalar_one())
    amounts = conn.execute(select(func.coalesce(cases.c.confirmed_amount, cases.c.amount)).where(*conditions))
    total = sum((Decimal(a) for (a,) in amounts if a), Decimal("0"))
    settings = tr.policy_settings(conn, policy_id)
    sample = None
    first = conn.execute(select(cases).where(*conditions).order_by(cases.c.id).limit(1)).mappings().first()
    if action == "notify" and first is not None:
        deadline = add_working_days(day, settings.confirm_days).date
        payload = {"title": settings.title, "amount": first["amount"], "deadline": deadline}
        sample = (str(first["uscc"]), payload)
    return Preview(action, policy_id, settings.title, count, total, sample)


def start(conn: Connection, policy_id: str, action: str, actor: Actor, region: str | None = None) -> int:
    """A queued job over the cases ready now (its total; cases that become ready later are not in
    it). With none ready the job is created finished, so asking twice is harmless."""
    found = preview(conn, policy_id, action, region)
    empty = {"state": "done", "finished_at": platform_now()} if found.count == 0 else {}
    values = {
        "action": action,
        "policy_id": policy_id,
        "actor": actor.name,
        "department": actor.department,
        "region": region or None,
        "state": "queued",
        "total": found.count,
        "done": 0,
        "failed": 0,
        "report": json.dumps({"last_id": 0, "failures": []}, ensure_ascii=False),
        "created_at": platform_now(),
    } | empty
    return int(conn.execute(bulk_jobs.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]


def claim(engine: Engine, job_id: int) -> bool:
    """Take the job to run it: queued, or running but silent too long. Only one runner wins."""
    now = real_now()
    with engine.begin() as conn:
        return (
            conn.execute(
                bulk_jobs.update()
                .where(
                    bulk_jobs.c.id == job_id,
                    or_(
                        bulk_jobs.c.state == "queued",
                        (bulk_jobs.c.state == "running") & (bulk_jobs.c.heartbeat_at < now - STALE),
                    ),
                )
                .values(state="running", heartbeat_at=now)
            ).rowcount
            == 1
        )


def _apply(conn: Connection, action: str, case_id: int, actor: Actor, day: dt.date) -> None:
    if action == "notify":
        case = tr.load_case(conn, case_id)
        days = tr.policy_settings(conn, case["policy_id"], case["policy_version"]).confirm_days
        tr.notify(conn, case_id, actor, add_working_days(day, days).date)
    elif action == "publicity":
        review.open_publicity(conn, case_id, actor, day)
    else:
        review.decide(conn, case_id, actor, day)


def run(engine: Engine, job_id: int) -> dict[str, Any]:
    """Work a claimed job through to the end, a chunk per transaction; returns the job."""
    while True:
        with engine.begin() as conn:
            job = conn.execute(select(bulk_jobs).where(bulk_jobs.c.id == job_id)).mappings().one()
            report = json.loads(job["report"])
            actor = Actor(job["actor"], "department", job["department"])
            day = clock_today()
            chosen = list(
                conn.execute(
                    select(cases.c.id)
                    .where(*_ready(job["policy_id"], job["action"], job["region"], day), cases.c.id > report["last_id"])
                    .order_by(cases.c.id)
                    .limit(CHUNK)
                ).scalars()
            )
            done, failed = 0, 0
            for case_id in chosen:
                try:
                    with conn.begin_nested():
                        _apply(conn, job["action"], case_id, actor, day)
                    done += 1
                except tr.CaseError as exc:
                    failed += 1
                    report["failures"].append({"case": case_id, "reason": str(exc)})
            report["last_id"] = chosen[-1] if chosen else report["last_id"]
            finished = not chosen
            conn.execute(
                bulk_jobs.update()
                .where(bulk_jobs.c.id == job_id)
                .values(
                    done=job["done"] + done,
                    failed=job["failed"] + failed,
                    report=json.dumps(report, ensure_ascii=False),
                    heartbeat_at=real_now(),
                    **({"state": "done", "finished_at": platform_now()} if finished else {}),
                )
            )
        if finished:
            return load(engine, job_id)


def load(engine: Engine, job_id: int) -> dict[str, Any]:
    # a read-only connection: on SQLite a plain one begins IMMEDIATE and waits for the running job's
    # write lock, so the progress page failed ("database is locked") while the job it shows ran
    with reading(engine) as conn:
        row = conn.execute(select(bulk_jobs).where(bulk_jobs.c.id == job_id)).mappings().first()
    if row is None:
        raise tr.CaseError(f"批量任务 {job_id} 不存在")
    job = dict(row)
    job["report"] = json.loads(job["report"] or "{}")
    return job


def resume_stale(engine: Engine) -> int:
    """Run every job left queued or stopped mid-way (the worker's pass); returns how many ran."""
    with engine.connect() as conn:
        ids = list(
            conn.execute(
                select(bulk_jobs.c.id).where(bulk_jobs.c.state.in_(("queued", "running"))).order_by(bulk_jobs.c.id)
            ).scalars()
        )
    ran = 0
    for job_id in ids:
        if claim(engine, job_id):
            run(engine, job_id)
            ran += 1
    return ran
