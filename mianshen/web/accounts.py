"""Staff accounts and enterprise contacts, and the demo's one account of each role."""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, select

from mianshen.audit.log import SYSTEM, Actor, record
from mianshen.cases.banking import BankingError, decrypt_account, encrypt_account, normalise_account
from mianshen.clock import now as platform_now
from mianshen.errors import InputError
from mianshen.store.schema import enterprise_contacts, users
from mianshen.web.passwords import hash_password, password_problem, username_problem

STAFF_ROLES = {
    "platform_admin": "平台管理员（数据管理部门）",
    "department": "政策执行部门工作人员",
    "data_manager": "数据管理员",
    "finance": "财政资金拨付",
    "auditor": "审计与纪检监察（只读）",
}


def add_user(
    conn: Connection,
    username: str,
    password: str,
    role: str,
    display_name: str,
    department: str | None = None,
    region: str | None = None,
    actor: Actor | None = None,
) -> int:
    if role not in STAFF_ROLES:
        raise InputError(f"角色“{role}”无效，可选：{'、'.join(STAFF_ROLES)}")
    if role == "department" and not department:
        raise InputError("政策执行部门工作人员须指定所属部门（--department）")
    problem = username_problem(username) or password_problem(username, password)
    if problem:
        raise InputError(problem)
    if conn.execute(select(users.c.id).where(users.c.username == username)).scalar() is not None:
        raise InputError(f"用户名 {username} 已存在")
    user_id = int(
        conn.execute(
            users.insert().values(
                username=username,
                display_name=display_name,
                password_hash=hash_password(password),
                role=role,
                department=department,
                region=region,
                active=1,
                created_at=platform_now(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    )  # type: ignore[index]
    record(
        conn,
        actor or Actor("系统", "system"),
        "user.add",
        "user",
        user_id,
        None,
        {"username": username, "role": role, "department": department, "region": region},
    )
    return user_id


def mask_phone(phone: str) -> str:
    """139****1234: enough for its owner to recognise, not to call."""
    return f"{phone[:3]}****{phone[-4:]}"


def set_contact(conn: Connection, uscc: str, name: str, phone: str, actor: Actor = SYSTEM) -> None:
    """Register the phone that receives the enterprise's SMS codes and notices, audited with `actor`:
    whoever changes it can sign in as the enterprise, so each change is on record (masked)."""
    values = {"contact_name": name, "phone": encrypt_account(phone), "updated_at": platform_now()}
    old = conn.execute(select(enterprise_contacts).where(enterprise_contacts.c.uscc == uscc)).mappings().first()
    if old is not None:
        conn.execute(enterprise_contacts.update().where(enterprise_contacts.c.uscc == uscc).values(**values))
    else:
        conn.execute(enterprise_contacts.insert().values(uscc=uscc, **values))
    before = None if old is None else {"contact_name": old["contact_name"], "phone": _masked(old["phone"])}
    after = {"contact_name": name, "phone": mask_phone(normalise_account(phone))}
    record(conn, actor, "contact.set", "enterprise", uscc, before, after)


def _masked(stored: str) -> str:
    try:
        return mask_phone(decrypt_account(stored))
    except BankingError:  # written under another key: say so rather than fail the change
        return "（无法解密）"


def demo_accounts(conn: Connection, department: str) -> list[tuple[str, str, str]]:
    """One account of each staff role, with fresh random passwords: (role label, username, password)."""
    made = []
    for role, label in STAFF_ROLES.items():
        username = {"department": "hrss"}.get(role, role.split("_")[0])
        password = secrets.token_urlsafe(9)
        if conn.execute(select(users.c.id).where(users.c.username == username)).scalar() is None:
            add_user(conn, username, password, role, f"{label}（演示）", department if role == "department" else None)
            made.append((label, username, password))
    return made
