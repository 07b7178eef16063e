"""`mianshen user add` and `mianshen contact set`: staff accounts and enterprises' SMS contacts."""

from __future__ import annotations

import click

from mianshen.cli.actor import OPERATOR_OPTION, operator
from mianshen.cli.main import cli

DB_OPTION = click.option(
    "--db", default=None, help="数据库地址，默认 MIANSHEN_DATABASE_URL 或 运行目录下的 mianshen.sqlite。"
)


@cli.group()
def user() -> None:
    """工作人员账号。"""


@user.command("add")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True, help="姓名或称谓。")
@click.option(
    "--role", required=True, type=click.Choice(["platform_admin", "department", "data_manager", "finance", "auditor"])
)
@click.option("--department", default=None, help="政策执行部门工作人员所属部门（与政策文件的 department 一致）。")
@click.option("--region", default=None, help="可办理的地区代码（如 410100 郑州市），默认全省。")
@click.password_option(help="至少 8 位。")
@DB_OPTION
def add_cmd(
    username: str,
    display_name: str,
    role: str,
    department: str | None,
    region: str | None,
    password: str,
    db: str | None,
) -> None:
    """新增工作人员账号（密码以 argon2 哈希保存）。"""
    from mianshen.store.db import open_store
    from mianshen.web.accounts import add_user

    with open_store(db).begin() as conn:
        add_user(conn, username, password, role, display_name, department, region)
    click.echo(f"已新增 {username}（{role}）")


@cli.command("contact")
@click.argument("uscc")
@click.option("--name", required=True, help="联系人姓名。")
@click.option("--phone", required=True, help="手机号（SM4 加密保存）。")
@OPERATOR_OPTION
@DB_OPTION
def contact_cmd(uscc: str, name: str, phone: str, operator_name: str | None, db: str | None) -> None:
    """登记企业联系人手机号（接收登录验证码与通知；变更记入审计日志，手机号脱敏）。"""
    from mianshen.store.db import open_store
    from mianshen.web.accounts import set_contact

    with open_store(db).begin() as conn:
        set_contact(conn, uscc.strip().upper(), name, phone, operator(operator_name))
    click.echo(f"已登记 {uscc.strip().upper()} 的联系人")
