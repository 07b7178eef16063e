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
from pydantic import SecretStr

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


def platform_key() -> bytes:
    """The platform's SM4 key for data at rest (bank accounts, webhook secrets; SMS links derive from it)."""
    found = settings()
    return load_key(found.sm4_key, KEY_ENV, found.sm4_key_file, "sm4.key", "已保存的银行账号")


def load_key(secret: SecretStr | None, env: str, file: Path | None, filename: str, protects: str) -> bytes:
    """An SM4 key given as `secret` (32 hex digits, from the setting `env`), else the key file `file`,
    else var/`filename` (made on first use, mode 0600). Other secrets at rest (trust/keys.py: the seal
    keys) use their own settings so that one leaked key does not open everything."""
    raw = secret.get_secret_value().strip() if secret else ""
    if raw:
        try:
            key = bytes.fromhex(raw)
        except ValueError as exc:
            raise BankingError(f"环境变量 {env} 应为 32 位十六进制数（SM4 密钥 128 位）") from exc
        if len(key) != 16:
            raise BankingError(f"环境变量 {env} 应为 32 位十六进制数（SM4 密钥 128 位），实际 {len(raw)} 位")
        return key
    path = Path(file or var_dir() / filename)
    if path.is_file():
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never overwrite an existing key
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex())
    print(
        f"警告：未设置 {env}，已生成 SM4 密钥文件 {path}（仅供演示）。生产环境请由密钥管理系统提供密钥；"
        f"丢失此文件将无法解密{protects}。",
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


def seal_bytes(plain: bytes, key: bytes) -> str:
    """SM4-GCM under `key`, as text that says how it was made."""
    nonce = os.urandom(_NONCE)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    body = enc.update(plain) + enc.finalize()
    return PREFIX + base64.b64encode(nonce + body + enc.tag).decode("ascii")


def open_bytes(stored: str, key: bytes, what: str) -> bytes:
    if not stored.startswith(PREFIX):
        raise BankingError(f"{what}不是本平台加密保存的格式")
    blob = base64.b64decode(stored[len(PREFIX) :])
    nonce, body, tag = blob[:_NONCE], blob[_NONCE:-_TAG], blob[-_TAG:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    try:
        return dec.update(body) + dec.finalize()
    except InvalidTag as exc:
        raise BankingError(f"{what}无法解密：密钥不对或数据被改动") from exc


def encrypt_account(raw: str) -> str:
    return seal_bytes(normalise_account(raw).encode("ascii"), platform_key())


def decrypt_account(stored: str) -> str:
    """The account number. Callers must record an audit event for every read (design §4)."""
    return open_bytes(stored, platform_key(), "银行账号").decode("ascii")


def mask_account(account: str) -> str:
    """6222 **** **** 1234: enough for a person to recognise their own account, not to use it."""
    digits = normalise_account(account)
    return f"{digits[:4]} **** **** {digits[-4:]}"


def mask_stored(stored: str | None) -> str:
    return "" if not stored else mask_account(decrypt_account(stored))
