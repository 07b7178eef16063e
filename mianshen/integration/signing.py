"""Signing webhook posts, and checking a signature (what a receiving department system does).

The signed text is `<timestamp>.<event key>.<body>`: the timestamp (Unix seconds) bounds replays to
a window, the event key is the idempotency key a receiver deduplicates on, and the body is the
exact bytes posted. HMAC-SM3 (the national algorithm, the same SM3 the audit chain uses, through
`cryptography`) or HMAC-SHA256, chosen per subscription.

Headers: X-Mianshen-Event (the key), X-Mianshen-Timestamp, X-Mianshen-Signature
(`hmac-sm3=<hex>`; during a secret rotation two signatures separated by a comma, new first).
Secrets are kept SM4-sealed under the platform's key (the one bank accounts use).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping

from cryptography.hazmat.primitives import hashes, hmac

from mianshen.cases.banking import open_bytes, platform_key, seal_bytes

ALGORITHMS = {"hmac-sm3": hashes.SM3, "hmac-sha256": hashes.SHA256}
EVENT_HEADER = "X-Mianshen-Event"
TIMESTAMP_HEADER = "X-Mianshen-Timestamp"
SIGNATURE_HEADER = "X-Mianshen-Signature"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def seal(secret: str) -> str:
    """A subscription's secret at rest: SM4-GCM under the platform key, as bank accounts are kept."""
    return seal_bytes(secret.encode(), platform_key())


def unseal(stored: str) -> str:
    return open_bytes(stored, platform_key(), "推送密钥").decode()


def mac(algorithm: str, secret: str, timestamp: int, key: str, body: bytes) -> str:
    signer = hmac.HMAC(secret.encode(), ALGORITHMS[algorithm]())
    signer.update(f"{timestamp}.{key}.".encode() + body)
    return signer.finalize().hex()


def sign(algorithm: str, secrets_: list[str], key: str, body: bytes, at: dt.datetime) -> dict[str, str]:
    """The headers for one post; one signature per secret still valid (rotation)."""
    timestamp = int(at.timestamp())
    signature = ",".join(f"{algorithm}={mac(algorithm, s, timestamp, key, body)}" for s in secrets_)
    return {
        EVENT_HEADER: key,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature,
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": key,
    }


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: dt.datetime, window: dt.timedelta) -> str | None:
    """What a receiver runs: None when the post is genuine and fresh, else the reason (Chinese)."""
    lower = {k.lower(): v for k, v in headers.items()}
    key, stamp = lower.get(EVENT_HEADER.lower(), ""), lower.get(TIMESTAMP_HEADER.lower(), "")
    if not key or not stamp.isdigit():
        return "缺少事件编号或时间戳"
    if abs(now.timestamp() - int(stamp)) > window.total_seconds():
        return "时间戳超出允许的时间窗口（可能是重放）"
    for part in lower.get(SIGNATURE_HEADER.lower(), "").split(","):
        algorithm, _, given = part.strip().partition("=")
        if algorithm in ALGORITHMS and hmac_equal(given, mac(algorithm, secret, int(stamp), key, body)):
            return None
    return "签名不符"


def hmac_equal(a: str, b: str) -> bool:
    return secrets.compare_digest(a.encode(), b.encode())
