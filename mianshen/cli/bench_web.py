"""`mianshen bench web`: requests per second and p95 latency of the public list and the enterprise
portal, against a server started on loopback for the run (bounded in time; nothing leaves 127.0.0.1)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import click
from sqlalchemy import select

from mianshen.cli.bench import bench
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
    default="sqlite:///var/demo.sqlite",
    show_default=True,
    help="演示数据库（先运行 mianshen demo --no-serve）。",
)
@click.option("--seconds", default=10.0, show_default=True, type=click.FloatRange(1, 60), help="每个页面压测时长。")
@click.option("--workers", default=8, show_default=True, type=click.IntRange(1, 64), help="并发请求数。")
def bench_web(db: str, seconds: float, workers: int) -> None:
    """对本机启动的网站压测：公开政策清单与企业门户，报告每秒请求数与 p95 延迟。"""
    cookie = _enterprise_cookie(db)
    port = _free_port()
    env = {**os.environ, "MIANSHEN_TODAY": os.environ.get("MIANSHEN_TODAY", "2025-06-30")}
    exe = str(Path(sys.executable).parent / "mianshen")
    server = subprocess.Popen(
        [exe, "serve", "--port", str(port), "--db", db, "--no-send"],
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
        engine = open_store(db, migrate=False).dialect.name
        click.echo("| 页面 | 数据库 | 并发 | 请求数 | 每秒请求 | p50 | p95 | 错误 |\n|---|---|---|---|---|---|---|---|")
        for name, path, with_cookie in (("公开政策清单", "/policies", False), ("企业门户“我的待遇”", "/my", True)):
            count, latencies, errors = _hammer(base + path, cookie if with_cookie else "", seconds, workers)
            ordered = sorted(latencies)
            p95 = ordered[int(0.95 * (len(ordered) - 1))] if ordered else 0.0
            click.echo(
                f"| {name} `{path}` | {engine} | {workers} | {count} | {count / seconds:,.1f} | "
                f"{statistics.median(ordered) * 1000:.0f} ms | {p95 * 1000:.0f} ms | {errors} |"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
