"""Hierarchical codes as the policy language compares them: by prefix.

Industry `C` covers `C3011`; region `410000` covers `410102`. Industry codes are normalised to
section letter + digits (`3011` → `C3011`), and an abolished region code to the current one
(偃师市 410381 → 410307), so that the prefix test works the same in Python and SQL. The standards
themselves live in `industries.py` and `regions.py`.
"""

from __future__ import annotations

from mianshen.reference.industries import find_industry
from mianshen.reference.regions import find_region


def normalize_industry(code: str) -> str | None:
    """`3011` or `C3011` → `C3011`; `C` → `C`; None when the code is not in GB/T 4754-2017."""
    node = find_industry(code)
    return node.code if node else None


def industry_name(code: str) -> str | None:
    node = find_industry(code)
    return node.name if node else None


def normalize_region(code: str) -> str | None:
    """The current 6-digit code (old Henan codes map to their successors); None when unknown."""
    info = find_region(code)
    return info.node.code if info else None


def region_name(code: str) -> str | None:
    info = find_region(code)
    return info.node.name if info else None


def region_prefix(code: str) -> str:
    """`410000` → `41`, `410100` → `4101`, `410102` → `410102`: the part a region covers."""
    text = code
    while len(text) > 2 and text.endswith("00"):
        text = text[:-2]
    return text


def hierarchy_prefix(hierarchy: str, code: str) -> str | None:
    """The prefix that `within` tests, or None when the code is not valid in that hierarchy."""
    if hierarchy == "industry":
        return normalize_industry(code)
    if hierarchy == "region":
        normal = normalize_region(code)
        return region_prefix(normal) if normal else None
    raise ValueError(f"unknown hierarchy {hierarchy}")


def normalize_code(hierarchy: str | None, code: str) -> str | None:
    if hierarchy == "industry":
        return normalize_industry(code)
    if hierarchy == "region":
        return normalize_region(code)
    return code
