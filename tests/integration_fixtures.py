"""Integration objects in the authorization world (no tests here): a webhook subscription and API
keys of a department, made once per world (keys for proofs that use them up, each time)."""

from __future__ import annotations

from typing import Any

from mianshen.audit.log import Actor
from mianshen.integration import keys, subscriptions

_made: dict[tuple[int, str], Any] = {}


def subscription(w: Any, department: str) -> int:
    """A subscription of `department` pointing nowhere reachable (nothing in the world delivers)."""
    key = (id(w.engine), "sub:" + department)
    if key not in _made:
        with w.engine.begin() as conn:
            sid, _ = subscriptions.create(
                conn, Actor("测试", "department", department), department, "http://127.0.0.1:9/hook", ["case.opened"]
            )
        _made[key] = sid
    return int(_made[key])


def api_key(w: Any, department: str, region: str | None = None, fresh: bool = False, role: str = "department") -> str:
    """The whole key (`msk_….…`) of `department`; `fresh`: a new one (for a proof that revokes it)."""
    key = (id(w.engine), f"key:{department}:{region}:{role}")
    if fresh or key not in _made:
        with w.engine.begin() as conn:
            made = keys.create(conn, Actor("测试", role, department), department, region, "测试系统", role)
        if fresh:
            return made
        _made[key] = made
    return str(_made[key])


def key_id(whole: str) -> str:
    return whole.partition(".")[0]
