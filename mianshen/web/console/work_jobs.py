"""Long work started from a page — a policy's simulation (10–20 s at province volume) and its
publication — run in the background. The job row keeps what was asked and, when done, what the page
shows; the page polls it, so a reload (or a closed laptop) finds the result instead of starting over.
A server stopped mid-way leaves the job to the next visit of its page, which takes it over.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from typing import Any

from sqlalchemy import Engine, or_, select

from mianshen.audit.log import Actor
from mianshen.clock import now as platform_now
from mianshen.clock import real_now
from mianshen.store.db import reading
from mianshen.store.schema import work_jobs

log = logging.getLogger("mianshen.web.jobs")
STALE = dt.timedelta(minutes=5)
LABELS = {"simulate": "模拟测算", "publish": "发布（含模拟测算）", "import": "导入数据并重新匹配", "match": "政策匹配"}


def _policy_step(engine: Engine, who: Actor, params: dict[str, Any]) -> dict[str, Any]:
    from mianshen.web.console.policy_routes import run_step

    day = dt.date.fromisoformat(params["as_of"])
    return run_step(engine, who, params["step"], params["source"], params["filename"], day)


def _import_answer(engine: Engine, who: Actor, params: dict[str, Any]) -> dict[str, Any]:
    from mianshen.web.console.inbox_routes import import_and_rematch

    return import_and_rematch(engine, who, params)


def _match(engine: Engine, who: Actor, params: dict[str, Any]) -> dict[str, Any]:
    """A match run started from a page (the same run as `mianshen match`, incremental unless the
    policies or the date call for a full one)."""
    from mianshen.matching.runs import run_match

    report = run_match(engine, dt.date.fromisoformat(params["as_of"]), actor=who)
    shown = {"match": {"reason": report.reason, "enterprises": report.enterprises, "seconds": round(report.seconds, 1)}}
    shown["match"] |= {"changed": report.changed, "cases": report.cases_created, "opened": report.requests_opened}
    shown["match"] |= {"resolved": report.requests_resolved, "review": len(report.review)}
    return shown


RUNNERS = {"simulate": _policy_step, "publish": _policy_step, "import": _import_answer, "match": _match}


def start(engine: Engine, kind: str, params: dict[str, Any], who: Actor) -> int:
    values = {
        "kind": kind,
        "actor": who.name,
        "role": who.role,
        "department": who.department,
        "params": json.dumps(params, ensure_ascii=False),
        "state": "queued",
        "created_at": platform_now(),
    }
    with engine.begin() as conn:
        job = int(conn.execute(work_jobs.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
    threading.Thread(target=run, args=(engine, job), name=f"work-{job}", daemon=True).start()
    return job


def _claim(engine: Engine, job: int) -> bool:
    """Take a job that is queued, or running without a sign of life for a while (its server
    stopped): one atomic update, so of two servers or two page views only one gets it."""
    now = real_now()
    stale = (work_jobs.c.state == "running") & (work_jobs.c.heartbeat_at < now - STALE)
    with engine.begin() as conn:
        claimed = conn.execute(
            work_jobs.update()
            .where(work_jobs.c.id == job, or_(work_jobs.c.state == "queued", stale))
            .values(state="running", heartbeat_at=now)
        ).rowcount
    return claimed == 1


def run(engine: Engine, job: int) -> None:
    """Do the job if nobody else is (the page's server, or the worker after a restart)."""
    if _claim(engine, job):
        _work(engine, job)


def _work(engine: Engine, job: int) -> None:
    with reading(engine) as conn:
        row = conn.execute(select(work_jobs).where(work_jobs.c.id == job)).mappings().one()
    params = json.loads(row["params"])
    who = Actor(row["actor"], row["role"], row["department"])
    try:
        result, state = RUNNERS[row["kind"]](engine, who, params), "done"
    except Exception as exc:  # shown on the page in Chinese; the traceback goes to the log
        log.exception("后台任务 %s 失败", job)
        result, state = {"error": f"未能完成：{exc}"}, "failed"
    with engine.begin() as conn:
        conn.execute(
            work_jobs.update()
            .where(work_jobs.c.id == job)
            .values(state=state, result=json.dumps(result, ensure_ascii=False, default=str), finished_at=platform_now())
        )


def load(engine: Engine, job: int) -> dict[str, Any] | None:
    with reading(engine) as conn:
        row = conn.execute(select(work_jobs).where(work_jobs.c.id == job)).mappings().first()
    if row is None:
        return None
    found = dict(row)
    found["params"] = json.loads(found["params"])
    found["result"] = json.loads(found["result"]) if found["result"] else None
    found["label"] = LABELS.get(found["kind"], "后台任务")
    return found


def take_over(engine: Engine, found: dict[str, Any]) -> None:
    """A job its server stopped working on (no sign of life for a while) is run again here."""
    if found["state"] in ("queued", "running") and _claim(engine, found["id"]):
        threading.Thread(target=_work, args=(engine, found["id"]), name=f"work-{found['id']}", daemon=True).start()
