"""Seal keys: one SM2 key pair per seal (a policy's department, or the platform), rotation, and the
public verification key list.

The private key is kept SM4-encrypted (cases/banking.py, under MIANSHEN_SEAL_KEY or its key file) and
decrypted only for the moment of signing. A key is valid from `valid_from` until it is retired;
a retired key signs nothing more but its earlier signatures keep verifying, because verification checks
the key's validity at the signing time. A deployment with a 密码机 / 电子印章 system replaces
`sign_with` and `generate` here (docs/trust.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import Connection, select

from mianshen.audit.log import SYSTEM, Actor, digest, record
from mianshen.cases.banking import load_key, open_bytes, seal_bytes
from mianshen.clock import now as platform_now
from mianshen.settings import current as settings
from mianshen.trust import config, sm2
from mianshen.trust.tables import seal_keys


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    seal: str
    public_key: str
    valid_from: dt.datetime
    valid_to: dt.datetime
    retired_at: dt.datetime | None

    def valid_at(self, moment: dt.datetime) -> bool:
        end = min(self.valid_to, self.retired_at) if self.retired_at else self.valid_to
        return _aware(self.valid_from) <= _aware(moment) < _aware(end)

    def as_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "seal": self.seal,
            "algorithm": sm2.ALGORITHM,
            "public_key": self.public_key,
            "valid_from": _aware(self.valid_from).isoformat(),
            "valid_to": _aware(self.valid_to).isoformat(),
            "retired_at": _aware(self.retired_at).isoformat() if self.retired_at else None,
        }

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> PublicKey:
        retired = item.get("retired_at")
        return cls(
            item["key_id"],
            item["seal"],
            item["public_key"],
            dt.datetime.fromisoformat(item["valid_from"]),
            dt.datetime.fromisoformat(item["valid_to"]),
            dt.datetime.fromisoformat(retired) if retired else None,
        )


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)  # SQLite returns naive UTC


def _sm4_key() -> bytes:
    found = settings()
    return load_key(found.seal_key, config.SEAL_KEY_ENV, found.seal_key_file, "seal.key", "印章私钥")


def _row_key(row: Any) -> PublicKey:
    return PublicKey(
        row["key_id"], row["seal"], row["public_key"], row["valid_from"], row["valid_to"], row["retired_at"]
    )


def create(conn: Connection, seal: str, actor: Actor = SYSTEM) -> PublicKey:
    """A new key pair for `seal`, valid from now for the configured years."""
    public, private = sm2.generate()
    public_text = sm2.public_hex(public)
    now = platform_now()
    key_id = digest(bytes.fromhex(public_text))[:16]
    row = {
        "key_id": key_id,
        "seal": seal,
        "public_key": public_text,
        "private_key": seal_bytes(private, _sm4_key()),
        "valid_from": now,
        "valid_to": now + relativedelta(years=config.seal_years()),
        "retired_at": None,
        "created_by": actor.name,
    }
    conn.execute(seal_keys.insert().values(**row))
    record(conn, actor, "trust.key_create", "seal_key", key_id, None, {"seal": seal, "public_key": public_text})
    return _row_key(row)


def active(conn: Connection, seal: str, actor: Actor = SYSTEM) -> PublicKey:
    """The seal's key in force now, made on first use (a new department gets its seal when it first signs)."""
    now = platform_now()
    rows = conn.execute(select(seal_keys).where(seal_keys.c.seal == seal, seal_keys.c.retired_at.is_(None))).mappings()
    for row in rows:
        key = _row_key(row)
        if key.valid_at(now):
            return key
    return create(conn, seal, actor)


def rotate(conn: Connection, seal: str, actor: Actor, reason: str) -> PublicKey:
    """Retire the seal's keys in force and make the next one; earlier signatures stay verifiable."""
    now = platform_now()
    old = conn.execute(
        seal_keys.update()
        .where(seal_keys.c.seal == seal, seal_keys.c.retired_at.is_(None))
        .values(retired_at=now)
        .returning(seal_keys.c.key_id)
    ).scalars()
    retired = list(old)
    record(conn, actor, "trust.key_rotate", "seal", seal, {"keys": retired}, {"reason": reason})
    return create(conn, seal, actor)


def rotate_expiring(conn: Connection, within_days: int = 30) -> list[str]:
    """For the worker: rotate every seal whose key ends within `within_days`."""
    limit = platform_now() + dt.timedelta(days=within_days)
    rows = conn.execute(select(seal_keys).where(seal_keys.c.retired_at.is_(None))).mappings().all()
    due = sorted({row["seal"] for row in rows if _aware(row["valid_to"]) <= limit})
    for seal in due:
        rotate(conn, seal, SYSTEM, "印章密钥即将到期，自动轮换")
    return due


def public_keys(conn: Connection) -> list[PublicKey]:
    """The verification key list: every key ever used, with its validity (published at /verify/keys)."""
    rows = conn.execute(select(seal_keys).order_by(seal_keys.c.seal, seal_keys.c.valid_from)).mappings()
    return [_row_key(row) for row in rows]


def sign_with(conn: Connection, key: PublicKey, message: bytes) -> str:
    """SM2 signature by `key` over `message`; the private key is decrypted for this call only."""
    stored = conn.execute(select(seal_keys.c.private_key).where(seal_keys.c.key_id == key.key_id)).scalar_one()
    private = open_bytes(stored, _sm4_key(), "印章私钥")
    return sm2.sign(private, sm2.public_bytes(key.public_key), message)
