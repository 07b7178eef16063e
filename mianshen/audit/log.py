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
from sqlalchemy import Connection, String, select, text, type_coerce

from mianshen.audit.anchors import checkpoints
from mianshen.clock import beijing
from mianshen.clock import now as platform_now
from mianshen.store.schema import audit_log

ALGORITHM = "sm3"
ALGORITHMS = ("sm3", "sha256")
GENESIS = "0" * 64
# Untrusted text (a typed username, an objection) is capped at the edge; these caps are the last
# line of defence, so that no request can make one audit row large.
MAX_NAME = 200  # actor, entity id, a key inside before/after
MAX_VALUE = 2000  # one text inside before/after
MAX_JSON = 16_000  # a whole before/after


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


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…（共 {len(text)} 字，已截断）"


def _bounded(value: Any) -> Any:
    if isinstance(value, str):
        return clip(value, MAX_VALUE)
    if isinstance(value, dict):
        return {clip(str(k), MAX_NAME): _bounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_bounded(v) for v in value]
    return value


def _stored(value: Any) -> str | None:
    """before/after as stored: each text capped, and the whole replaced by its length and opening
    when still too long."""
    if value is None:
        return None
    text = canonical(_bounded(value))
    return text if len(text) <= MAX_JSON else canonical({"truncated": len(text), "head": text[:MAX_VALUE]})


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
            "actor": clip(actor.name, MAX_NAME),
            "role": actor.role,
            "action": e.action,
            "entity_type": e.entity_type,
            "entity_id": clip(str(e.entity_id), MAX_NAME),
            "before": _stored(e.before),
            "after": _stored(e.after),
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


def _malformed(row: dict[str, Any]) -> str | None:
    """What makes a row impossible to check (it was edited by hand), or None. Fixes `at` in place."""
    at = row["at"]
    if isinstance(at, str):  # SQLite keeps text: read it here, so a damaged time is reported, not raised
        try:
            at = dt.datetime.fromisoformat(at)
        except ValueError:
            return "本行的时间无法识别（本行被改动）"
    if not isinstance(at, dt.datetime):
        return "本行的时间无法识别（本行被改动）"
    row["at"] = at if at.tzinfo else at.replace(tzinfo=dt.UTC)  # SQLite returns naive datetimes
    if row["algorithm"] not in ALGORITHMS:
        return "本行记录的哈希算法无法识别（本行被改动）"
    if not all(isinstance(row[k], str) for k in ("prev_hash", "row_hash", "actor", "action", "entity_id")):
        return "本行缺少必需的内容（本行被改动）"
    return None


def verify(conn: Connection) -> ChainCheck:
    """The first row whose content, hash or link does not verify, or that a checkpoint contradicts.
    Never raises on a damaged row: a row edited into something unreadable is itself the first broken
    row. A chain rewritten with every later hash recomputed verifies link by link; the keyed
    checkpoints of its head (audit/anchors.py) do not fit it."""
    marks = checkpoints(conn)
    expected_prev = GENESIS
    count, last_id = 0, 0
    columns = [type_coerce(c, String).label(c.name) if c.name == "at" else c for c in audit_log.c]
    for r in conn.execute(select(*columns).order_by(audit_log.c.id)).mappings():
        count += 1
        row = dict(r)
        problem = _malformed(row)
        if problem:
            return ChainCheck(count, row["id"], problem)
        if row["prev_hash"] != expected_prev:
            return ChainCheck(count, row["id"], "与上一行的链接不符（上一行被改动、删除或插入了行）")
        if digest(_row_content(row), row["algorithm"]) != row["row_hash"]:
            return ChainCheck(count, row["id"], "本行内容与其哈希不符（本行被改动）")
        mark = marks.pop(row["id"], None)
        if mark is not None and not mark.genuine:
            return ChainCheck(count, row["id"], FORGED)
        if mark is not None and mark.last_hash != row["row_hash"]:
            return ChainCheck(count, row["id"], REWRITTEN.format(at=beijing(mark.at).strftime("%Y-%m-%d %H:%M")))
        expected_prev, last_id = row["row_hash"], row["id"]
    if marks:  # a checkpoint of a row that is no longer there
        gone = min(marks)
        return ChainCheck(
            count + 1, gone, f"检查点记载的第 {gone} 号记录已不存在（日志只核验到第 {last_id} 号：记录被删除）"
        )
    return ChainCheck(count, None)


FORGED = "本行的检查点签名不符（检查点被伪造或改动，或本机的审计密钥与写入检查点时不同）"
REWRITTEN = "本行的哈希与 {at} 写入的检查点不符：此前的记录被改写（其后各行的哈希被重新计算）"
