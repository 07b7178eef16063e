"""Checkpoints of the audit chain's head (M8): a chain rewritten with every later hash recomputed
verifies on its own, so the head is anchored outside what such a rewrite can reach.

A checkpoint is (time, last row id, that row's hash) with an HMAC-SM3 under a key that is not in the
store: the environment variable MIANSHEN_AUDIT_KEY (64 hex digits, from the deployment's key
manager), else the file MIANSHEN_AUDIT_KEY_FILE, else `audit.key` in the store's data directory
(created 0600 on first use). Whoever can write the database but cannot read the key cannot make a
checkpoint that fits a rewritten chain; `verify` (audit/log.py) compares every checkpoint with the
chain. Checkpoints are written by the worker (`anchor_audit`, every INTERVAL when the log has grown)
and whenever the chain is verified and found whole (`mianshen audit verify`, the /audit page).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, hmac
from sqlalchemy import Connection, String, select, type_coerce

from mianshen.clock import now as platform_now
from mianshen.errors import MianshenError
from mianshen.settings import current as settings
from mianshen.store.paths import data_dir
from mianshen.store.schema import audit_checkpoints, audit_log

KEY_ENV = "MIANSHEN_AUDIT_KEY"
INTERVAL = dt.timedelta(minutes=10)  # a rewrite of the newest rows goes unseen for at most this long


class AnchorError(MianshenError):
    """The audit key is not usable."""


@dataclass(frozen=True)
class Checkpoint:
    id: int
    at: dt.datetime
    last_id: int
    last_hash: str
    genuine: bool  # its MAC verifies under this machine's key


def key_path(conn: Connection) -> Path:
    return Path(settings().audit_key_file or data_dir(conn) / "audit.key")


def audit_key(conn: Connection, create: bool = False) -> bytes | None:
    """The checkpoint key; None when there is none (and `create` is False)."""
    secret = settings().audit_key
    raw = secret.get_secret_value().strip() if secret else ""
    if raw:
        try:
            key = bytes.fromhex(raw)
        except ValueError:
            key = b""
        if len(key) < 16:
            raise AnchorError(f"环境变量 {KEY_ENV} 应为至少 32 位的十六进制数（建议 64 位，即 256 位密钥）")
        return key
    path = key_path(conn)
    if path.is_file():
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never overwrite an existing key
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex())
    return key


def _utc(moment: object) -> dt.datetime | None:
    """A stored time as aware UTC; None when it cannot be read (SQLite keeps text: it may be edited)."""
    if isinstance(moment, str):
        try:
            moment = dt.datetime.fromisoformat(moment)
        except ValueError:
            return None
    if not isinstance(moment, dt.datetime):
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _mac(key: bytes, at: dt.datetime, last_id: int, last_hash: str) -> str:
    signer = hmac.HMAC(key, hashes.SM3())
    signer.update(f"{at.isoformat()}|{last_id}|{last_hash}".encode())
    return signer.finalize().hex()


def checkpoint(conn: Connection, every: dt.timedelta | None = None) -> int | None:
    """Anchor the current head (in the caller's transaction); None when there is nothing new to
    anchor, or when `every` has not passed since the newest checkpoint."""
    head = conn.execute(select(audit_log.c.id, audit_log.c.row_hash).order_by(audit_log.c.id.desc()).limit(1)).first()
    if head is None:
        return None
    newest = conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.id.desc()).limit(1)).first()
    at = platform_now().astimezone(dt.UTC).replace(microsecond=0)
    last = _utc(newest.at) if newest is not None else None
    if newest is not None and (newest.last_id >= head.id or (every and last and at - last < every)):
        return None
    key = audit_key(conn, create=True)
    assert key is not None  # created when missing
    values = {"at": at, "last_id": head.id, "last_hash": head.row_hash, "mac": _mac(key, at, head.id, head.row_hash)}
    return int(conn.execute(audit_checkpoints.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]


def checkpoints(conn: Connection) -> dict[int, Checkpoint]:
    """Every checkpoint by the row id it anchors (the newest per row), each with whether it is genuine."""
    found: dict[int, Checkpoint] = {}
    columns = [type_coerce(c, String).label(c.name) if c.name == "at" else c for c in audit_checkpoints.c]
    rows = list(conn.execute(select(*columns).order_by(audit_checkpoints.c.id)))
    key = audit_key(conn) if rows else None
    for r in rows:
        at = _utc(r.at)
        genuine = key is not None and at is not None and _mac(key, at, r.last_id, r.last_hash) == r.mac
        found[r.last_id] = Checkpoint(
            r.id, at or dt.datetime.min.replace(tzinfo=dt.UTC), r.last_id, r.last_hash, genuine
        )
    return found
