"""The audit log: append-only rows, each carrying the hash of the previous one (SM3 by default).

Chinese government systems are assessed against the national algorithms (商用密码应用安全性评估),
so the chain uses SM3 (through OpenSSL via `cryptography`); the algorithm is recorded per row so
it can change without breaking verification of older rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from sqlalchemy import Connection, select, text

from mianshen.clock import now as platform_now
from mianshen.store.schema import audit_log

ALGORITHM = "sm3"
GENESIS = "0" * 64


def digest(data: bytes, algorithm: str = ALGORITHM) -> str:
    if algorithm == "sm3":
        h = hashes.Hash(hashes.SM3())
        h.update(data)
        return h.finalize().hex()
    if algorithm == "sha256":
        return hashlib.sha256(data).hexdigest()
    raise ValueError(f"unknown hash algorithm {algorithm}")


def canonical(value: Any) -> str:
    """Stable JSON: the same content always hashes the same."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _row_content(row: dict[str, Any]) -> bytes:
    fields = (
        "at",
        "actor",
        "role",
        "action",
        "entity_type",
        "entity_id",
        "before",
        "after",
        "data_hash",
        "algorithm",
        "prev_hash",
    )
    return canonical({k: (row[k].isoformat() if isinstance(row[k], dt.datetime) else row[k]) for k in fields}).encode()


@dataclass(frozen=True)
class Actor:
    name: str
    role: str  # platform_admin | department | data_manager | finance | enterprise | public | auditor | system
    department: str | None = None
    uscc: str | None = None  # for an enterprise's legal representative or agent


SYSTEM = Actor("系统", "system")


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object,
    before: Any = None,
    after: Any = None,
    data_hash: str | None = None,
) -> int:
    """Append one event in the caller's transaction (so it commits or rolls back with the change)."""
    row = _chain(conn, [Event(action, entity_type, entity_id, before, after, data_hash)], actor)[0]
    return int(conn.execute(audit_log.insert().values(**row)).inserted_primary_key[0])  # type: ignore[index]


@dataclass(frozen=True)
class Event:
    action: str
    entity_type: str
    entity_id: object
    before: Any = None
    after: Any = None
    data_hash: str | None = None


def record_many(conn: Connection, actor: Actor, events: list[Event]) -> None:
    """Append many events in one statement (a match run opening thousands of cases): the same rows
    and chain as calling `record` for each in turn, without a round trip per event."""
    if events:
        conn.execute(audit_log.insert(), _chain(conn, events, actor))


def _chain(conn: Connection, events: list[Event], actor: Actor) -> list[dict[str, Any]]:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(727113)"))  # one writer extends the chain at a time
    last = conn.execute(select(audit_log.c.row_hash).order_by(audit_log.c.id.desc()).limit(1)).scalar()
    at = platform_now().replace(microsecond=0)
    rows = []
    for e in events:
        row: dict[str, Any] = {
            "at": at,
            "actor": actor.name,
            "role": actor.role,
            "action": e.action,
            "entity_type": e.entity_type,
            "entity_id": str(e.entity_id),
            "before": None if e.before is None else canonical(e.before),
            "after": None if e.after is None else canonical(e.after),
            "data_hash": e.data_hash,
            "algorithm": ALGORITHM,
            "prev_hash": last or GENESIS,
        }
        row["row_hash"] = last = digest(_row_content(row), ALGORITHM)
        rows.append(row)
    return rows


@dataclass(frozen=True)
class ChainCheck:
    rows: int
    first_broken: int | None  # id of the first row whose hash or link does not verify
    problem: str = ""


def verify(conn: Connection) -> ChainCheck:
    expected_prev = GENESIS
    count = 0
    for r in conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings():
        count += 1
        row = dict(r)
        at = row["at"]
        if isinstance(at, dt.datetime) and at.tzinfo is None:
            row["at"] = at.replace(tzinfo=dt.UTC)  # SQLite returns naive datetimes
        if row["prev_hash"] != expected_prev:
            return ChainCheck(count, row["id"], "与上一行的链接不符（上一行被改动、删除或插入了行）")
        if digest(_row_content(row), row["algorithm"]) != row["row_hash"]:
            return ChainCheck(count, row["id"], "本行内容与其哈希不符（本行被改动）")
        expected_prev = row["row_hash"]
    return ChainCheck(count, None)
