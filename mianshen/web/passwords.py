"""Password hashing with argon2id (argon2-cffi). Tests may set cheaper parameters by environment."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from mianshen.settings import current as settings


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    if settings().fast_hash:  # tests only: the default costs ~110 ms per hash
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


def hash_password(password: str) -> str:
    return hasher().hash(password)


def check_password(stored: str, password: str) -> bool:
    try:
        return hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    import secrets

    return hash_password(secrets.token_urlsafe(16))


def check_nobody(password: str) -> bool:
    """Spend the time of one password check for a username that does not exist (or is disabled), so
    that the answer's timing does not tell which usernames do. Always False."""
    check_password(_dummy_hash(), password)
    return False


MIN_LENGTH = 8
MAX_LENGTH = 128
MAX_USERNAME = 64
# the most used passwords (leaked-password lists) and their Chinese-keyboard favourites
COMMON = frozenset(
    [
        "12345678",
        "123456789",
        "1234567890",
        "87654321",
        "11111111",
        "00000000",
        "88888888",
        "66666666",
        "12341234",
        "11223344",
        "password",
        "password1",
        "password123",
        "passw0rd",
        "p@ssw0rd",
        "p@ssword",
        "qwertyui",
        "qwerty123",
        "qwertyuiop",
        "1qaz2wsx",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "abc12345",
        "abcd1234",
        "a1234567",
        "a12345678",
        "aa123456",
        "admin123",
        "admin1234",
        "admin@123",
        "administrator",
        "root1234",
        "iloveyou",
        "woaini1314",
        "5201314520",
        "abcdefgh",
        "asdfghjk",
        "zxcvbnm123",
        "welcome1",
        "changeme",
        "letmein1",
        "test1234",
        "12345qwert",
        "qweasdzxc",
    ]
)


def username_problem(username: str) -> str | None:
    """Why a new username cannot be used, in Chinese; None when it can."""
    if not username.strip():
        return "用户名不能为空"
    if len(username) > MAX_USERNAME:
        return f"用户名最多 {MAX_USERNAME} 个字符"
    if any(c.isspace() or not c.isprintable() for c in username):
        return "用户名不能含空格或控制字符"
    return None


def password_problem(username: str, password: str) -> str | None:
    """Why a new password is too weak, in Chinese; None when it is acceptable (NIST SP 800-63B:
    a minimum length and a list of known-bad passwords, no composition rules)."""
    if len(password) < MIN_LENGTH:
        return f"密码至少 {MIN_LENGTH} 位"
    if len(password) > MAX_LENGTH:
        return f"密码最多 {MAX_LENGTH} 位"
    lowered = password.lower()
    if lowered in (username.lower(), username.lower()[::-1]):
        return "密码不能与用户名相同"
    if lowered in COMMON or len(set(password)) <= 2 or lowered in "0123456789" * 2 or lowered in "9876543210" * 2:
        return "密码过于常见，容易被猜中，请换一个（可用几个词组成的短语）"
    return None
