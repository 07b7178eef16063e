"""国民经济行业分类 GB/T 4754-2017: look a code up and walk its path 门类 → 大类 → 中类 → 小类.

Applications write the same 小类 as `3011` or `C3011`; both resolve to `C3011`. A code that is not
in the standard is an input error with a hint (a wrong section letter names the right one), never
a silent None, because a mistyped industry would otherwise quietly match no policy.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from mianshen.errors import InputError

LEVEL_NAMES = {1: "门类", 2: "大类", 3: "中类", 4: "小类"}

_SHAPE = re.compile(r"^([A-T])?(\d{2,4})?$")


@dataclass(frozen=True)
class IndustryNode:
    """One row of the standard; `code` is normalised (section letter + digits, or the letter alone)."""

    code: str
    digits: str  # "" for a 门类
    name: str
    level: int  # 1 门类, 2 大类, 3 中类, 4 小类
    section: str
    parent: str | None  # normalised code of the parent, None for a 门类
    remark: str

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.level]

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "name": self.name, "level": self.level_name}


@dataclass(frozen=True)
class IndustryInfo:
    node: IndustryNode
    path: tuple[IndustryNode, ...]  # from the 门类 down to the node itself

    @property
    def code(self) -> str:
        return self.node.code

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def level_name(self) -> str:
        return self.node.level_name

    def path_text(self) -> str:
        return " → ".join(f"{n.code} {n.name}" for n in self.path)

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.node.code,
            "digits": self.node.digits,
            "name": self.node.name,
            "level": self.node.level_name,
            "section": self.node.section,
            "remark": self.node.remark,
            "path": [n.as_dict() for n in self.path],
            "standard": "GB/T 4754-2017",
        }


@lru_cache(maxsize=1)
def _nodes() -> dict[str, IndustryNode]:
    """Keyed by the raw CSV key: the section letter for a 门类, the digits otherwise."""
    path = resources.files("mianshen.reference") / "data" / "industries_gbt4754_2017.csv"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    out: dict[str, IndustryNode] = {}
    for row in rows:
        key, section, level = row["code"], row["section"], int(row["level"])
        digits = "" if level == 1 else key
        parent_key = row["parent_code"]
        parent = None if not parent_key else (parent_key if level == 2 else section + parent_key)
        out[key] = IndustryNode(section + digits, digits, row["name"], level, section, parent, row["remark"])
    return out


@lru_cache(maxsize=1)
def _by_code() -> dict[str, IndustryNode]:
    return {n.code: n for n in _nodes().values()}


def find_industry(code: str) -> IndustryNode | None:
    """The node for `3011`, `C3011`, `c3011`, `C30`, `C`; None when not in the standard."""
    text = code.strip().upper()
    match = _SHAPE.match(text)
    if not text or not match:
        return None
    letter, digits = match.group(1), match.group(2)
    node = _nodes().get(digits or letter or "")
    if node is None or (letter and node.section != letter):
        return None
    return node


def find_industries_by_name(name: str) -> list[IndustryNode]:
    """Industries whose name is `name` (制造业), else whose name contains it (餐饮 → 餐饮业 …), broadest first."""
    text = name.strip()
    if not text:
        return []
    nodes = list(_nodes().values())
    exact = [n for n in nodes if n.name == text]
    found = exact or [n for n in nodes if text in n.name]
    return sorted(found, key=lambda n: (n.level, n.code))


def lookup_industry(code: str) -> IndustryInfo:
    """The node and its path; raises InputError with a Chinese explanation when unknown."""
    node = find_industry(code)
    if node is None:
        raise InputError(_unknown_message(code))
    return IndustryInfo(node, industry_path(node.code))


def industry_path(code: str) -> tuple[IndustryNode, ...]:
    """门类 → 大类 → 中类 → 小类 down to `code` (which may be any level)."""
    node = find_industry(code)
    if node is None:
        raise InputError(_unknown_message(code))
    by_code = _by_code()
    chain = [node]
    while chain[-1].parent is not None:
        chain.append(by_code[chain[-1].parent])
    return tuple(reversed(chain))


def leaf_codes(code: str) -> tuple[str, ...]:
    """Every 小类 under `code` (the code itself when it is a 小类); used to tell if a code is too coarse."""
    node = find_industry(code)
    if node is None:
        raise InputError(_unknown_message(code))
    if node.level == 4:
        return (node.code,)
    return tuple(
        n.code
        for n in _nodes().values()
        if n.level == 4 and n.section == node.section and n.digits.startswith(node.digits)
    )


def _unknown_message(code: str) -> str:
    text = code.strip().upper()
    if not text:
        return "行业代码不能为空"
    match = _SHAPE.match(text)
    if match and match.group(1) and match.group(2):
        node = _nodes().get(match.group(2))
        if node is not None:
            return f"行业代码“{code.strip()}”的门类字母不对：{node.digits} {node.name} 属于门类 {node.section}（应写 {node.code}）"
    if not match:
        return f"行业代码“{code.strip()}”格式不对：应为门类字母 A–T 加 2–4 位数字（如 C3011），或只写数字（如 3011）"
    return f"行业代码“{code.strip()}”不在 GB/T 4754-2017 国民经济行业分类中"
