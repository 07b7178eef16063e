"""`mianshen serve`: the web platform (portal, console, public lists, API at /docs)."""

from __future__ import annotations

import threading
import time

import click

from mianshen.cli.main import cli
from mianshen.settings import configure


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--db", default=None, help="数据库地址，默认 MIANSHEN_DATABASE_URL 或 运行目录下的 mianshen.sqlite。")
@click.option("--send/--no-send", default=True, show_default=True, help="同时每 2 秒发送待发通知（短信验证码等）。")
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="服务进程数（一般取 CPU 核数）。"
)
def serve(host: str, port: int, db: str | None, send: bool, workers: int) -> None:
    """启动网站（政策清单、企业门户、部门工作台、监督与审计），接口文档在 /docs。"""

    import uvicorn

    from mianshen.web.app import create_app

    app = create_app(db)
    if send:
        start_sender(app.state.engine)
    click.echo(f"平台已启动：http://{host}:{port}/ （接口文档 /docs，按 Ctrl+C 停止）")
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
        return
    # several processes (one Python interpreter each, so pages render on every core): each builds
    # its own app from the same store
    if db:
        configure(database_url=db)  # exported: each worker process builds its app from the environment
    uvicorn.run(
        "mianshen.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        server_header=False,  # no "Server: uvicorn" banner
    )


def start_sender(engine: object, interval: float = 2.0) -> threading.Thread:
    """Send due notifications in the background, so a requested SMS code arrives while one waits.

    In production the scheduler (`mianshen worker`) does this; for a single-machine demo the server
    does it too, so that signing in by SMS code works without a second process.
    """
    from mianshen.notify.sender import send_due

    def loop() -> None:
        while True:
            try:
                send_due(engine)  # type: ignore[arg-type]
            except Exception as exc:  # a sending failure must not stop the web server
                click.echo(f"通知发送出错：{exc}", err=True)
            time.sleep(interval)

    thread = threading.Thread(target=loop, name="outbox-sender", daemon=True)
    thread.start()
    return thread
