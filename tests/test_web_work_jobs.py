"""Background work started from a page: a job whose server stopped is taken over by the next view of
its page, exactly once; a job still alive (recent heartbeat) is left to the server running it."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine, update

from mianshen.audit.log import Actor
from mianshen.clock import now, real_now
from mianshen.store.schema import work_jobs
from mianshen.web.console import work_jobs as jobs


def _job(engine: Engine, state: str, beat: dt.datetime | None) -> int:
    values = {"kind": "slow", "actor": "王科长", "role": "department", "department": "人社厅", "params": "{}"}
    values |= {"state": state, "heartbeat_at": beat, "created_at": now()}
    with engine.begin() as conn:
        return int(conn.execute(work_jobs.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]


def _settled(engine: Engine, job: int) -> dict[str, Any]:
    for _ in range(200):
        found = jobs.load(engine, job)
        assert found is not None
        if found["state"] in ("done", "failed"):
            return found
        time.sleep(0.02)
    raise AssertionError(f"任务 {job} 没有完成")


def test_a_stopped_job_is_taken_over_once_and_a_live_one_is_left_alone(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[int] = []
    lock = threading.Lock()

    def slow(engine: Engine, who: Actor, params: dict[str, Any]) -> dict[str, Any]:
        with lock:
            ran.append(1)
        time.sleep(0.2)
        return {"done": who.name}

    monkeypatch.setitem(jobs.RUNNERS, "slow", slow)
    stopped = _job(store, "running", real_now() - jobs.STALE - dt.timedelta(minutes=1))
    alive = _job(store, "running", real_now())
    for job in (stopped, stopped, alive):  # two views of the stopped job's page, one of the live one
        found = jobs.load(store, job)
        assert found is not None
        jobs.take_over(store, found)
    assert _settled(store, stopped)["result"] == {"done": "王科长"}
    assert len(ran) == 1
    still = jobs.load(store, alive)
    assert still is not None and still["state"] == "running"
    queued = _job(store, "queued", None)
    found = jobs.load(store, queued)
    assert found is not None
    jobs.take_over(store, found)
    assert _settled(store, queued)["state"] == "done" and len(ran) == 2
    with store.begin() as conn:  # a finished job is never run again
        conn.execute(update(work_jobs).where(work_jobs.c.id == queued).values(result=json.dumps({"x": 1})))
    found = jobs.load(store, queued)
    assert found is not None
    jobs.take_over(store, found)
    time.sleep(0.1)
    assert len(ran) == 2


def test_a_bulk_jobs_progress_reads_while_the_job_holds_the_write_lock(store: Engine) -> None:
    """The progress page reads its job while the job writes a chunk: on SQLite a reader that asked for
    the write lock waited for it and failed after 30 s ("database is locked"), so the page showed an
    error instead of the progress."""
    from mianshen.cases import bulk
    from mianshen.store.schema import bulk_jobs

    values = {"action": "notify", "policy_id": "p", "actor": "王科长", "department": "人社厅", "total": 3000}
    values |= {"state": "running", "done": 1234, "failed": 0, "report": "{}", "created_at": now()}
    with store.begin() as conn:
        job = int(conn.execute(bulk_jobs.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
    seen: list[dict[str, Any]] = []
    with store.begin() as conn:  # the job's chunk transaction, holding the write lock
        conn.execute(update(bulk_jobs).where(bulk_jobs.c.id == job).values(done=1400))
        reader = threading.Thread(target=lambda: seen.append(bulk.load(store, job)), daemon=True)
        reader.start()
        reader.join(timeout=5)
        assert seen, "进度读取等待写锁"
    assert seen[0]["done"] == 1234 and seen[0]["total"] == 3000  # what was committed before the chunk
