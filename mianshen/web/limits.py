"""Caps on what people type, applied where a request enters (login forms cut at their field's
length in routes/login.py; everything else here). A text over its cap is refused with the cap
named, not cut silently (a cut objection says something else). The audit log caps every field again
as a last line of defence (audit/log.py)."""

from __future__ import annotations

from collections.abc import Mapping

from mianshen.web.errors import WebError

TEXT = 2000  # a reason, a note, an objection, a reply
LONG = 5000  # a signed commitment (the policy's own text, copied)
SHORT = 200  # a name, a contact, an account, a value


def capped(value: str, limit: int, label: str, field: str | None = None) -> str:
    if len(value) > limit:
        raise WebError(400, "too_long", f"{label}过长：最多 {limit} 字，现有 {len(value)} 字", field)
    return value


def capped_fields(fields: Mapping[str, str], limits: Mapping[str, tuple[int, str]]) -> dict[str, str]:
    """Every field within its (limit, label); a field not named is held to SHORT."""
    return {k: capped(v, *limits.get(k, (SHORT, "填写的内容")), k) for k, v in fields.items()}
