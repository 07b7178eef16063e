"""Bank accounts at rest: SM4 encryption (GCM, so a tampered value fails instead of decrypting to junk).

The national block cipher is what 商用密码应用安全性评估 expects for personal and financial data;
OpenSSL provides it through `cryptography`. The key comes from MIANSHEN_SM4_KEY (32 hex digits),
which is how a deployment hands in a key from its key manager. Without it the platform makes a
key file in the var directory (store/paths.py) so the embedded demo works, and says loudly that this is not for production:
whoever can read that file can read every account.
"""

from __future__ import annotations

import base64
import os
import re
import sys
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from mianshen.errors import MianshenError
from mianshen.settings import current as settings
from mianshen.store.paths import var_dir

KEY_ENV = "MIANSHEN_SM4_KEY"
PREFIX = "sm4gcm:"  # stored values say how they were made, so the scheme can change later
_NONCE = 12
_TAG = 16


class BankingError(MianshenError):
    """A bank account or the encryption key is not usable."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _key() -> bytes:
    secret = settings().sm4_key
    raw = secret.get_secret_value().strip() if secret else ""
    if raw:
        try:
            key = bytes.fromhex(raw)
        except ValueError as exc:
            raise BankingError(f"环境变量 {KEY_ENV} 应为 32 位十六进制数（SM4 密钥 128 位）") from exc
        if len(key) != 16:
            raise BankingError(f"环境变量 {KEY_ENV} 应为 32 位十六进制数（SM4 密钥 128 位），实际 {len(raw)} 位")
        return key
    path = Path(settings().sm4_key_file or var_dir() / "sm4.key")
    if path.is_file():
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never overwrite an existing key
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex())
    print(
        f"警告：未设置 {KEY_ENV}，已生成 SM4 密钥文件 {path}（仅供演示）。生产环境请由密钥管理系统提供密钥；"
        "丢失此文件将无法解密已保存的银行账号。",
        file=sys.stderr,
    )
    return key


def normalise_account(raw: str) -> str:
    """Digits only: people type accounts with spaces and dashes; a bank account is 8–30 digits."""
    digits = re.sub(r"[\s\-]", "", raw or "")
    if not digits.isdigit() or not 8 <= len(digits) <= 30:
        raise BankingError("银行账号应为 8–30 位数字（可含空格或连字符）", "bank_account")
    return digits


def normalise_bank(name: str, code: str) -> tuple[str, str]:
    """开户行 and its 12-digit 联行号 (CNAPS bank code), as a bank transfer file needs them."""
    bank, digits = (name or "").strip(), re.sub(r"\s", "", code or "")
    if not 2 <= len(bank) <= 60:
        raise BankingError("请填写开户行全称（如 中国工商银行郑州花园路支行）", "bank_name")
    if not (digits.isdigit() and len(digits) == 12):
        raise BankingError("开户行联行号应为 12 位数字（可在开户行或网上银行查询）", "bank_code")
    return bank, digits


def encrypt_account(raw: str) -> str:
    account = normalise_account(raw)
    nonce = os.urandom(_NONCE)
    enc = Cipher(algorithms.SM4(_key()), modes.GCM(nonce)).encryptor()
    body = enc.update(account.encode("ascii")) + enc.finalize()
    return PREFIX + base64.b64encode(nonce + body + enc.tag).decode("ascii")


def decrypt_account(stored: str) -> str:
    """The account number. Callers must record an audit event for every read (design §4)."""
    if not stored.startswith(PREFIX):
        raise BankingError("银行账号不是本平台加密保存的格式")
    blob = base64.b64decode(stored[len(PREFIX) :])
    nonce, body, tag = blob[:_NONCE], blob[_NONCE:-_TAG], blob[-_TAG:]
    dec = Cipher(algorithms.SM4(_key()), modes.GCM(nonce, tag)).decryptor()
    try:
        return (dec.update(body) + dec.finalize()).decode("ascii")
    except InvalidTag as exc:
        raise BankingError("银行账号无法解密：密钥不对或数据被改动") from exc


def mask_account(account: str) -> str:
    """6222 **** **** 1234: enough for a person to recognise their own account, not to use it."""
    digits = normalise_account(account)
    return f"{digits[:4]} **** **** {digits[-4:]}"


def mask_stored(stored: str | None) -> str:
    return "" if not stored else mask_account(decrypt_account(stored))
