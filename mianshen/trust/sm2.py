"""SM2 signatures (GB/T 32918) with SM3, through GmSSL (the `gmssl-pyx` wrapper of the C library).

Signatures are DER-encoded (r, s) as GB/T 35276 specifies, over the message with the signer's Z value
computed from the default identity 1234567812345678 — what other SM2 implementations assume, so a
signature verifies elsewhere (tests/test_trust_keys.py checks this against the pure-Python `gmssl`).
Public keys travel as 130 hex digits (04 || x || y).
"""

from __future__ import annotations

import gmssl_pyx

from mianshen.errors import MianshenError

SIGNER_ID = b"1234567812345678"
ALGORITHM = "SM2-with-SM3"


class SignatureError(MianshenError):
    """A key or a signature that is not well formed."""


def generate() -> tuple[bytes, bytes]:
    """(public 64 bytes x || y, private 32 bytes)."""
    public, private = gmssl_pyx.sm2_key_generate()
    return public, private


def public_hex(public: bytes) -> str:
    return "04" + public.hex()


def public_bytes(text: str) -> bytes:
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise SignatureError("SM2 公钥应为十六进制") from exc
    if len(raw) == 65 and raw[0] == 4:
        raw = raw[1:]
    if len(raw) != 64:
        raise SignatureError(f"SM2 公钥应为 64 字节（可带 04 前缀），实际 {len(raw)} 字节")
    return raw


def sign(private: bytes, public: bytes, message: bytes) -> str:
    return bytes(gmssl_pyx.sm2_sign(private, public, message, SIGNER_ID)).hex()


def verify(public_text: str, message: bytes, signature_hex: str) -> bool:
    try:
        signature = bytes.fromhex(signature_hex)
        return bool(gmssl_pyx.sm2_verify(public_bytes(public_text), message, signature, SIGNER_ID))
    except (ValueError, SignatureError, gmssl_pyx.InvalidValueError, gmssl_pyx.GmsslInnerError):
        return False
