"""Hierarchical codes: GB/T 4754-2017 industries and GB/T 2260 regions.

Both are compared by prefix: industry `C` covers `C3011`, region `410000` covers `410102`.
Industry codes are normalised to section letter + digits (`3011` → `C3011`) so that the prefix
test works the same in Python and SQL.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from importlib import resources

_DIVISION = re.compile(r"^\d{2,4}$")
_SECTIONED = re.compile(r"^[A-T](\d{2,4})?$")
_REGION = re.compile(r"^\d{6}$")


@lru_cache(maxsize=1)
def _industry_rows() -> dict[str, tuple[str, str]]:
    """code → (name, section letter)."""
    path = resources.files("mianshen.reference") / "data" / "industries_gbt4754_2017.csv"
    with path.open(encoding="utf-8") as handle:
        return {row["code"]: (row["name"], row["section"]) for row in csv.DictReader(handle)}


def normalize_industry(code: str) -> str | None:
    """`3011` or `C3011` → `C3011`; `C` → `C`; None when the code is not in GB/T 4754-2017."""
    text = code.strip().upper()
    rows = _industry_rows()
    if _SECTIONED.match(text):
        digits = text[1:]
        key = digits or text
        if key in rows and rows[key][1] == text[0]:
            return text
        return None
    if _DIVISION.match(text) and text in rows:
        return rows[text][1] + text
    return None


def industry_name(code: str) -> str | None:
    normal = normalize_industry(code)
    if normal is None:
        return None
    key = normal[1:] or normal
    return _industry_rows()[key][0]


@lru_cache(maxsize=1)
def _region_rows() -> dict[str, str]:
    path = resources.files("mianshen.reference") / "data" / "regions.csv"
    with path.open(encoding="utf-8") as handle:
        return {row["code"]: row["name"] for row in csv.DictReader(handle)}


def normalize_region(code: str) -> str | None:
    text = code.strip()
    return text if _REGION.match(text) else None


def region_name(code: str) -> str | None:
    return _region_rows().get(code)


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
