"""Who is acting, on the command line: --actor/--role/--department/--uscc (or MIANSHEN_ACTOR, …).

The CLI is an operator's console on a trusted machine, so the actor is declared, not
authenticated; the web layer authenticates instead. Both pass the same role checks in
`mianshen.cases.transitions`.
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
from collections.abc import Callable
from typing import Any

import click

from mianshen.audit.log import Actor
from mianshen.errors import InputError

ROLES = ("platform_admin", "department", "data_manager", "finance", "enterprise", "public", "auditor", "system")


def actor_options(default_role: str) -> Callable[[Any], Any]:
    """--actor/--role/--department/--uscc, handed to the command as one `actor` argument."""

    def wrap(fn: Any) -> Any:
        @functools.wraps(fn)
        def command(
            *args: Any, actor_name: str, role: str, department: str | None, actor_uscc: str | None, **kwargs: Any
        ) -> Any:
            return fn(*args, actor=make_actor(actor_name, role, department, actor_uscc), **kwargs)

        options = (
            click.option("--actor", "actor_name", envvar="MIANSHEN_ACTOR", required=True, help="办理人姓名。"),
            click.option(
                "--role", envvar="MIANSHEN_ROLE", default=default_role, show_default=True, type=click.Choice(ROLES)
            ),
            click.option(
                "--department", envvar="MIANSHEN_DEPARTMENT", default=None, help="所属部门（部门工作人员必填）。"
            ),
            click.option(
                "--uscc", "actor_uscc", envvar="MIANSHEN_USCC", default=None, help="企业办理人所属企业的信用代码。"
            ),
        )
        for option in reversed(options):
            command = option(command)
        return command

    return wrap


OPERATOR_OPTION = click.option(
    "--actor",
    "operator_name",
    envvar="MIANSHEN_ACTOR",
    default=None,
    help="操作人（记入审计日志），默认为本机登录用户名。",
)


def operator(name: str | None) -> Actor:
    """Who runs a data or contact command: the --actor given, else the machine's login name (the
    CLI is run on a trusted machine; the audit log still says which account ran it)."""
    if name and name.strip():
        return Actor(name.strip(), "operator")
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no entry for this uid (some containers)
        login = "未知"
    return Actor(f"本机用户 {login}", "operator")


def make_actor(name: str, role: str, department: str | None, uscc: str | None) -> Actor:
    if role == "department" and not department:
        raise InputError("部门工作人员须用 --department 写明所属部门")
    if role == "enterprise" and not uscc:
        raise InputError("企业办理人须用 --uscc 写明本企业统一社会信用代码")
    return Actor(name, role, department, uscc.strip().upper() if uscc else None)


def parse_day(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"日期“{text}”无效（应写成 2025-06-30）") from exc
