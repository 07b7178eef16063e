"""`mianshen serve`: the web platform (portal, console, public lists, API at /docs)."""

from __future__ import annotations

import click

from mianshen.cli.main import cli


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--db", default=None, help="数据库地址，默认 MIANSHEN_DATABASE_URL 或 sqlite:///var/mianshen.sqlite。")
def serve(host: str, port: int, db: str | None) -> None:
    """启动网站（政策清单、企业门户、部门工作台、监督与审计），接口文档在 /docs。"""
    import uvicorn

    from mianshen.web.app import create_app

    click.echo(f"平台已启动：http://{host}:{port}/ （接口文档 /docs，按 Ctrl+C 停止）")
    uvicorn.run(create_app(db), host=host, port=port, log_level="warning")
