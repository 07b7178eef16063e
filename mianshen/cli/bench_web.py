"""`mianshen bench web`: requests per second and p95 latency of the public list and the enterprise
portal, against a server started on loopback for the run (bounded in time; nothing leaves 127.0.0.1)."""

from __future__ import annotations

import datetime as dt
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from mianshen.cli.bench import bench
from mianshen.settings import child_env, configure
from mianshen.settings import current as settings
from mianshen.store.db import open_store
from mianshen.store.schema import cases


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _enterprise_cookie(url: str) -> str:
    """A session for an enterprise that has cases, created straight in the store for the benchmark."""
    from mianshen.web.sessions import SESSION_COOKIE, create_session

    with open_store(url).begin() as conn:
        uscc = conn.execute(select(cases.c.uscc).order_by(cases.c.id).limit(1)).scalar()
        if uscc is None:
            raise click.ClickException("数据库中没有案件：请先运行 mianshen demo --no-serve")
        token = create_session(conn, "enterprise", uscc=uscc, lifetime=dt.timedelta(hours=1))
    return f"{SESSION_COOKIE}={token}"


def _hammer(url: str, cookie: str, seconds: float, workers: int) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def work() -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                    ok = response.status == 200
            except OSError:
                ok = False
            with lock:
                latencies.append(time.perf_counter() - started)
                errors += 0 if ok else 1

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies), latencies, errors


@bench.command("web")
@click.option(
    "--db",
    default=None,
    help="演示数据库，默认运行目录下的 demo.sqlite（先运行 mianshen demo --no-serve）。",
)
@click.option("--seconds", default=10.0, show_default=True, type=click.FloatRange(1, 60), help="每个页面压测时长。")
@click.option("--workers", default=8, show_default=True, type=click.IntRange(1, 64), help="并发请求数。")
@click.option(
    "--cases",
    "case_count",
    default=100_000,
    show_default=True,
    type=click.IntRange(min=0),
    help="审核队列压测前把案件补足到此数（SQLite 在副本上进行；0 不压测队列）。",
)
@click.option(
    "--server-workers", default=2, show_default=True, type=click.IntRange(1, 16), help="网站服务进程数（取 CPU 核数）。"
)
def bench_web(db: str | None, seconds: float, workers: int, case_count: int, server_workers: int) -> None:
    """对本机启动的网站压测：公开政策清单、企业门户与审核队列，报告每秒请求数与 p95 延迟。"""
    from mianshen.benchmarks import queue_load
    from mianshen.cli.demo import demo_url

    db = db or demo_url()
    db, cleanup = _working_copy(db) if case_count else (db, None)
    cookie = _enterprise_cookie(db)
    staff = ""
    if case_count:
        engine = open_store(db, migrate=False)
        held = queue_load.fill(engine, case_count)
        staff = queue_load.staff_cookie(engine)
        click.echo(f"审核队列：库中共 {held:,} 件案件")
    port = _free_port()
    env = child_env(today=settings().today or dt.date(2025, 6, 30))
    exe = str(Path(sys.executable).parent / "mianshen")
    server = subprocess.Popen(
        [exe, "serve", "--port", str(port), "--db", db, "--no-send", "--workers", str(server_workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        dialect = open_store(db, migrate=False).dialect.name
        click.echo(f"网站 {server_workers} 个服务进程；压测客户端 {workers} 个并发线程，与网站在同一台机器上")
        click.echo("| 页面 | 数据库 | 并发 | 请求数 | 每秒请求 | p50 | p95 | 错误 |\n|---|---|---|---|---|---|---|---|")
        pages = [("公开政策清单", "/policies", ""), ("企业门户“我的待遇”", "/my", cookie)]
        if staff:
            pages += [(name, path, staff) for name, path in QUEUE_PAGES]
        for name, path, who in pages:
            count, latencies, errors = _hammer(base + path, who, seconds, workers)
            ordered = sorted(latencies)
            p95 = ordered[int(0.95 * (len(ordered) - 1))] if ordered else 0.0
            click.echo(
                f"| {name} `{path}` | {dialect} | {workers} | {count} | {count / seconds:,.1f} | "
                f"{statistics.median(ordered) * 1000:.0f} ms | {p95 * 1000:.0f} ms | {errors} |"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
        if cleanup is not None:
            cleanup()


QUEUE_PAGES = (
    ("审核队列（待办，第 1 页）", "/console/cases"),
    ("审核队列（全部，第 500 页）", "/console/cases?state=all&page=500"),
    ("审核队列（按地区与金额排序）", "/console/cases?state=all&region=%E9%83%91%E5%B7%9E&sort=amount"),
    ("审核队列（按政策名称、只看逾期）", "/console/cases?state=all&policy=%E7%A8%B3%E5%B2%97&overdue=1"),
)


def _working_copy(db: str) -> tuple[str, Any]:
    """The queue's extra cases go into a copy of an SQLite store; on PostgreSQL they are removed after."""
    import shutil
    import tempfile

    from mianshen.benchmarks import queue_load

    if db.startswith("sqlite:///"):
        from mianshen.store.paths import data_dir

        # the copy reads the original's match library and profile mirror (the benchmark only reads them)
        if settings().data_dir is None:
            configure(data_dir=data_dir(open_store(db, migrate=False)).resolve())
        folder = Path(tempfile.mkdtemp(prefix="bench-web-"))
        target = folder / "store.sqlite"
        shutil.copyfile(db.removeprefix("sqlite:///"), target)
        return f"sqlite:///{target}", lambda: shutil.rmtree(folder, ignore_errors=True)
    return db, lambda: queue_load.remove(open_store(db, migrate=False))
