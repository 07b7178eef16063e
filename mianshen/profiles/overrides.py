"""Overriding a failed USCC check: an authorised official confirms the code, with who and why."""

from __future__ import annotations

from sqlalchemy import Connection, select

from mianshen.clock import now as platform_now
from mianshen.errors import InputError
from mianshen.store.schema import enterprises, uscc_overrides


def override_uscc(conn: Connection, uscc: str, actor: str, reason: str) -> None:
    code = uscc.strip().upper()
    if not actor.strip() or not reason.strip():
        raise InputError("人工核定须写明操作人（--actor）和理由（--reason）")
    status = conn.execute(select(enterprises.c.uscc_status).where(enterprises.c.uscc == code)).scalar()
    if status is None:
        raise InputError(f"企业画像库中没有统一社会信用代码为 {code} 的企业")
    if status == "valid":
        raise InputError(f"{code} 校验已通过，无需人工核定")
    conn.execute(
        uscc_overrides.insert().values(uscc=code, actor=actor.strip(), reason=reason.strip(), at=platform_now())
    )
    conn.execute(enterprises.update().where(enterprises.c.uscc == code).values(uscc_status="overridden"))
