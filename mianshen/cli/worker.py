"""`mianshen worker`: the scheduler — runs the due jobs once (--once) or every --interval seconds."""

from __future__ import annotations

import json
import logging
import sys

import click

from mianshen.cli.data import DB_OPTION
from mianshen.cli.explain import parse_as_of
from mianshen.cli.main import cli
from mianshen.jobs.runner import JobResult, run_forever, run_once, select_jobs
from mianshen.jobs.tasks import JOBS
from mianshen.store.db import open_store


def _echo(results: list[JobResult], as_json: bool) -> None:
    if as_json:
        rows = [
            {"job": r.name, "status": r.status, "message": r.message, "changed": r.changed, "errors": list(r.errors)}
            for r in results
        ]
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in results:
        click.echo(r.line())
        for error in r.errors[:10]:
            click.echo(f"    {error}")


def _log_to_stderr() -> None:
    """Job failures (with tracebacks) go to stderr; only our logger, so libraries keep their own levels."""
    logger = logging.getLogger("mianshen")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


@cli.command("worker")
@click.option("--once", is_flag=True, help="只运行一轮后退出（供 cron / systemd timer 调用）。")
@click.option("--interval", default=60.0, show_default=True, type=click.FloatRange(min=1), help="两轮之间的秒数。")
@click.option("--job", "jobs", multiple=True, help=f"只运行这些任务（可重复）：{'、'.join(JOBS)}。")
@click.option("--as-of", "as_of", default=None, help="按哪一天判断到期（测试、补跑用），默认今天。")
@click.option("--json", "as_json", is_flag=True, help="每轮结果输出为一行 JSON。")
@DB_OPTION
def worker_cmd(
    once: bool, interval: float, jobs: tuple[str, ...], as_of: str | None, as_json: bool, db: str | None
) -> None:
    """调度器：依次运行到期任务——政策到期退役、重新匹配、逾期未确认、公示期满、应享未享提醒、发送通知。

    每个任务都是幂等的，重复运行不会重复办理或重复发送；某个任务失败会记录并继续运行其余任务。
    --once 时有任务失败则退出码为 1。
    """
    _log_to_stderr()
    names = select_jobs(jobs or None)
    day = parse_as_of(as_of) if as_of else None
    engine = open_store(db)
    if once:
        results = run_once(engine, day, names)
        _echo(results, as_json)
        if any(r.status == "failed" for r in results):
            sys.exit(1)
        return
    click.echo(f"调度器已启动，每 {interval:g} 秒一轮，Ctrl-C 停止", err=True)
    try:
        run_forever(engine, interval, names, lambda results: _echo(results, as_json), today=day)
    except KeyboardInterrupt:
        click.echo("调度器已停止", err=True)
