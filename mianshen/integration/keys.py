"""API keys for department systems: `msk_<id>.<secret>`, scoped to one department and optionally one
region, rate-limited per key and revocable. Only the SM3 hash of the secret half is stored; the whole
key is shown once, when made.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from mianshen.audit.log import Actor, digest, record
from mianshen.clock import real_now
from mianshen.errors import InputError
from mianshen.integration.tables import api_keys

PREFIX = "msk_"


ROLES = ("department", "finance")  # a department's system; the finance (国库集中支付) system


@dataclass(frozen=True)
class KeyHolder:
    key_id: str
    department: str
    region: str | None
    label: str
    role: str = "department"

    def actor(self) -> Actor:
        """Who the audit log names for a call made with this key."""
        return Actor(f"接口密钥 {self.key_id}（{self.label}）", self.role, self.department)


def create(
    conn: Connection, actor: Actor, department: str, region: str | None, label: str, role: str = "department"
) -> str:
    """A new key acting as `role` for `department` (within `region` when given); the whole key, shown once."""
    name = (label or "").strip()
    if not 2 <= len(name) <= 60:
        raise InputError("请填写密钥用途（2–60 字，如“人社厅业务系统”）", field="label")
    key_id, secret = PREFIX + secrets.token_hex(6), secrets.token_urlsafe(32)
    values: dict[str, Any] = {
        "key_id": key_id,
        "secret_hash": digest(secret.encode()),
        "department": department,
        "region": region,
        "role": role,
    }
    values |= {"label": name, "created_by": actor.name, "created_at": real_now()}
    conn.execute(api_keys.insert().values(**values))
    record(
        conn,
        actor,
        "api_key.create",
        "api_key",
        key_id,
        None,
        {"department": department, "region": region, "purpose": name},
    )
    return f"{key_id}.{secret}"


def authenticate(conn: Connection, presented: str) -> KeyHolder | None:
    """The holder of a presented key, or None (unknown, wrong secret, revoked: not told apart)."""
    key_id, _, secret = (presented or "").strip().partition(".")
    if not key_id.startswith(PREFIX) or not secret or len(key_id) > 32:
        return None
    row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).mappings().first()
    if row is None or row["revoked_at"] is not None:
        return None
    if not secrets.compare_digest(row["secret_hash"], digest(secret.encode())):
        return None
    return KeyHolder(row["key_id"], row["department"], row["region"], row["label"], row["role"])


def touch(conn: Connection, key_id: str) -> None:
    conn.execute(api_keys.update().where(api_keys.c.key_id == key_id).values(last_used_at=real_now()))


def reach(role: str, department: str | None) -> list[Any]:
    """The keys a person may see and revoke: a department its own, finance the finance keys, the
    administrator and the auditor all."""
    if role == "department":
        return [api_keys.c.role == "department", api_keys.c.department == department]
    if role == "finance":
        return [api_keys.c.role == "finance"]
    return []


def listing(conn: Connection, where: list[Any]) -> list[dict[str, Any]]:
    query = select(api_keys).where(*where).order_by(api_keys.c.id)
    return [dict(r) for r in conn.execute(query).mappings()]


def revoke(conn: Connection, actor: Actor, key_id: str, within: list[Any]) -> None:
    where = [api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None), *within]
    if not conn.execute(api_keys.update().where(*where).values(revoked_at=real_now())).rowcount:
        raise InputError("没有这个有效的接口密钥")
    record(conn, actor, "api_key.revoke", "api_key", key_id, None, {"revoked": True})
