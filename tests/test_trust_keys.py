"""Seal keys (trust/keys.py): encrypted at rest, rotation, the public list, and interop of the platform's
SM2 (GmSSL through gmssl-pyx) with an independent implementation (the pure-Python `gmssl`)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from gmssl import func
from gmssl import sm2 as pure_sm2
from sqlalchemy import Engine, select

from mianshen.audit.log import SYSTEM
from mianshen.cases.banking import BankingError
from mianshen.trust import keys, sm2
from mianshen.trust.tables import seal_keys

SEAL = "河南省科学技术厅"


def _pure(public_text: str, private: bytes | None = None) -> pure_sm2.CryptSM2:
    """The independent implementation; it takes the public key without the 04 prefix."""
    return pure_sm2.CryptSM2(private_key=private.hex() if private else "", public_key=public_text[2:], mode=1)


def test_platform_signature_verifies_with_an_independent_implementation(store: Engine) -> None:
    with store.begin() as conn:
        key = keys.active(conn, SEAL)
        message = "兑现决定书：金额 300000.00 元".encode()
        signature = keys.sign_with(conn, key, message)
    r, s = decode_dss_signature(bytes.fromhex(signature))
    other = _pure(key.public_key)
    assert other.verify_with_sm3(f"{r:064x}{s:064x}", message)
    assert not other.verify_with_sm3(f"{r:064x}{s:064x}", message.replace(b"300000", b"900000"))


def test_independent_signature_verifies_on_the_platform() -> None:
    public, private = sm2.generate()
    other = _pure(sm2.public_hex(public), private)
    message = "兑现凭证".encode()
    raw = other.sign_with_sm3(message, func.random_hex(other.para_len))
    der = encode_dss_signature(int(raw[:64], 16), int(raw[64:], 16)).hex()
    assert sm2.verify(sm2.public_hex(public), message, der)
    assert not sm2.verify(sm2.public_hex(public), message + b"!", der)


def test_private_key_is_encrypted_at_rest_and_needs_the_key(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with store.begin() as conn:
        key = keys.active(conn, SEAL)
        stored = conn.execute(select(seal_keys.c.private_key)).scalar_one()
    assert stored.startswith("sm4gcm:") and len(stored) > 40
    monkeypatch.setenv("MIANSHEN_SEAL_KEY", "ffeeddccbbaa99887766554433221100")
    with store.begin() as conn, pytest.raises(BankingError, match="印章私钥无法解密"):
        keys.sign_with(conn, key, b"x")
    monkeypatch.setenv("MIANSHEN_SEAL_KEY", "12")
    with store.begin() as conn, pytest.raises(BankingError, match="MIANSHEN_SEAL_KEY 应为 32 位十六进制数"):
        keys.sign_with(conn, key, b"x")


def test_rotation_keeps_old_signatures_valid_at_their_time(store: Engine) -> None:
    with store.begin() as conn:
        old = keys.active(conn, SEAL)
        signed_at = dt.datetime.now(dt.UTC)
        new = keys.rotate(conn, SEAL, SYSTEM, "年度轮换")
        listed = {k.key_id: k for k in keys.public_keys(conn)}
        assert keys.active(conn, SEAL).key_id == new.key_id != old.key_id
    assert set(listed) == {old.key_id, new.key_id}
    retired = listed[old.key_id]
    assert retired.retired_at is not None
    assert retired.valid_at(signed_at)  # signed between the key's start and its retirement
    assert not retired.valid_at(retired.retired_at + dt.timedelta(seconds=1))
    assert listed[new.key_id].valid_at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))


def test_worker_rotates_keys_near_their_end(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with store.begin() as conn:
        first = keys.active(conn, SEAL)
        assert keys.rotate_expiring(conn, within_days=30) == []
        conn.execute(seal_keys.update().values(valid_to=dt.datetime.now(dt.UTC) + dt.timedelta(days=3)))
        assert keys.rotate_expiring(conn, within_days=30) == [SEAL]
        assert keys.active(conn, SEAL).key_id != first.key_id
