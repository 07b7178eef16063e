"""Running the jobs: each in turn, each guarded, so one failing job is logged and the rest still run.

The worker holds no state between passes: what is due is read from the store every time, so it
can be stopped (Ctrl-C, kill) and restarted at any moment, and two workers may run side by side
(every job changes rows conditionally on their current state).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Engine

from mianshen.clock import today as clock_today
from mianshen.errors import InputError
from mianshen.jobs.tasks import JOBS, Outcome

log = logging.getLogger("mianshen.worker")


@dataclass(frozen=True)
class JobResult:
    name: str
    status: str  # ok | skipped | partial (some items failed) | failed (the job raised)
    message: str
    changed: int = 0
    errors: tuple[str, ...] = ()
    seconds: float = 0.0

    def line(self) -> str:
        mark = {"ok": "✓", "skipped": "-", "partial": "!", "failed": "✗"}[self.status]
        return f"{mark} {self.name}：{self.message}（{self.seconds:.2f} 秒）"


def select_jobs(names: Iterable[str] | None) -> list[str]:
    chosen = list(names or JOBS)
    unknown = [n for n in chosen if n not in JOBS]
    if unknown:
        raise InputError(f"未知的任务：{'、'.join(unknown)}（可用：{'、'.join(JOBS)}）")
    return [n for n in JOBS if n in chosen]  # always in the registry's order


def run_once(engine: Engine, today: dt.date | None = None, names: Iterable[str] | None = None) -> list[JobResult]:
    """One pass of the chosen jobs (all by default), in order."""
    day = today or clock_today()
    results = []
    for name in select_jobs(names):
        started = time.monotonic()
        try:
            outcome: Outcome = JOBS[name](engine, day)
        except Exception as exc:  # a job's failure must not stop the others; the traceback goes to the log
            log.exception("任务 %s 失败", name)
            results.append(JobResult(name, "failed", f"失败：{exc}", seconds=time.monotonic() - started))
            continue
        if outcome.skipped:
            status = "skipped"
        elif outcome.errors:
            status = "partial"
            for error in outcome.errors:
                log.warning("任务 %s：%s", name, error)
        else:
            status = "ok"
        results.append(
            JobResult(name, status, outcome.message, outcome.changed, outcome.errors, time.monotonic() - started)
        )
    return results


def run_forever(
    engine: Engine,
    interval: float,
    names: Iterable[str] | None = None,
    report: Callable[[list[JobResult]], None] | None = None,
    passes: int | None = None,
    today: dt.date | None = None,
) -> None:
    """Pass after pass, `interval` seconds apart, until interrupted (or `passes` passes, for tests)."""
    done = 0
    while passes is None or done < passes:
        results = run_once(engine, today, names)  # today=None: re-read each pass, the worker runs past midnight
        if report:
            report(results)
        done += 1
        if passes is None or done < passes:
            time.sleep(interval)
