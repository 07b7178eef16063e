"""Password hashing with argon2id (argon2-cffi). Tests may set cheaper parameters by environment."""

from __future__ import annotations

import os
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    if os.environ.get("MIANSHEN_FAST_HASH") == "1":  # tests only: the default costs ~110 ms per hash
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


def hash_password(password: str) -> str:
    return hasher().hash(password)


def check_password(stored: str, password: str) -> bool:
    try:
        return hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
