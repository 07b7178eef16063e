"""行政区划: look a code or name up, walk province → city → county.

Two data files: the NBS 统计用区划代码 2022 (`data/regions.csv`: every current code, plus the
functional zones — 开发区、航空港区 — that Henan documents address and 民政部 does not list), and,
from the 民政部 annual 《县级以上行政区划代码》 (the authority since 2025-09-01 under
《行政区划代码管理办法》), the codes in use that the NBS table lacks and every abolished code with
its successor and the year it was abolished (`data/regions_mca.csv`, made by
scripts/regions_from_mca.py). Old data — a USCC issued before 撤县设区, an old registry — still carries
abolished codes; such a code resolves to today's code *with a note*, so an enterprise registered
under the old code is still found and the official sees why the code changed.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from mianshen.errors import InputError

LEVEL_NAMES = {"national": "国家级", "province": "省级", "city": "地级", "county": "县级"}

TABLE_NAME = "行政区划代码（民政部县级以上行政区划代码、统计用区划代码）"

# USCCs issued by national-level registration authorities carry 100000 as their region part;
# it is not a row of the区划 table, but it is not an error either.
NATIONAL_CODE = "100000"
NATIONAL_NAME = "全国（国家级登记管理机关）"

# Places Henan's provincial documents address on their own, next to the 17 地级市 (domain.md §4).
_NOTES = {
    "410173": "郑州航空港经济综合实验区：河南省级文件中通常与各地级市并列单独列出",
    "419001": "济源市（济源产城融合示范区）：省直辖县级市，河南省级文件中与17个地级市并列",
}

# Rows that group counties without being a place of their own: left out of a full place name.
_GROUPING = {"市辖区", "省直辖县级行政区划", "自治区直辖县级行政区划", "县"}

_CODE = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class RegionNode:
    code: str
    name: str
    level: str  # national / province / city / county
    parent: str | None

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.level]

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "name": self.name, "level": self.level_name}


@dataclass(frozen=True)
class RegionInfo:
    query: str
    node: RegionNode
    path: tuple[RegionNode, ...]  # province → city → county, down to the node itself
    historical_code: str | None = None  # the abolished code the query used, if any
    historical_name: str | None = None  # its name before the change (偃师市)
    note: str = ""

    @property
    def code(self) -> str:
        return self.node.code

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def full_name(self) -> str:
        """河南省洛阳市偃师区 — the path without grouping rows such as 市辖区."""
        return "".join(n.name for n in self.path if n.name not in _GROUPING)

    def as_dict(self) -> dict[str, object]:
        return {
            "query": self.query,
            "code": self.node.code,
            "name": self.node.name,
            "full_name": self.full_name,
            "level": self.node.level_name,
            "path": [n.as_dict() for n in self.path],
            "historical_code": self.historical_code,
            "historical_name": self.historical_name,
            "note": self.note,
        }


@dataclass(frozen=True)
class Abolished:
    """A code 民政部 no longer lists: its name then, the year it went, the code that took its place."""

    code: str
    name: str
    year: int
    successor: str


def _rows(name: str) -> list[dict[str, str]]:
    with (resources.files("mianshen.reference") / "data" / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@lru_cache(maxsize=1)
def _nodes() -> dict[str, RegionNode]:
    out: dict[str, RegionNode] = {}
    in_use = [r for r in _rows("regions_mca.csv") if r["status"] == "在用"]
    for r in _rows("regions.csv") + in_use:
        if r["parent_code"] == r["code"]:
            # 东莞、中山、儋州: cities without counties are listed again as their own county; the city
            # row (whose parent is the province) is the node, or the chain to the province would loop
            continue
        out[r["code"]] = RegionNode(r["code"], r["name"], r["level"], r["parent_code"] or None)
    out[NATIONAL_CODE] = RegionNode(NATIONAL_CODE, NATIONAL_NAME, "national", None)
    return out


@lru_cache(maxsize=1)
def abolished_codes() -> dict[str, Abolished]:
    """Every abolished code that resolves to one current code, by old code."""
    rows = (r for r in _rows("regions_mca.csv") if r["status"] == "弃用")
    return {r["code"]: Abolished(r["code"], r["name"], int(r["abolished"]), r["successor"]) for r in rows}


def _historical(old: Abolished, query: str) -> RegionInfo:
    current = _nodes()[old.successor]
    note = f"{old.code} {old.name} 为已撤销的旧代码（{old.year}年撤销），现为 {old.successor} {current.name}"
    return RegionInfo(query, current, region_path(old.successor), old.code, old.name, note)


def region_path(code: str) -> tuple[RegionNode, ...]:
    """Province → city → county down to `code` (a current code); InputError when unknown."""
    nodes = _nodes()
    node = nodes.get(code.strip())
    if node is None:
        raise InputError(f"行政区划代码“{code.strip()}”不在{TABLE_NAME}中")
    chain = [node]
    while chain[-1].parent is not None and len(chain) < 5:  # province → city → county at most
        chain.append(nodes[chain[-1].parent])
    return tuple(reversed(chain))


def find_region(code: str) -> RegionInfo | None:
    """A 6-digit code, current or one of the known abolished codes; None when neither."""
    text = code.strip()
    node = _nodes().get(text)
    if node is not None:
        return RegionInfo(text, node, region_path(text), note=_NOTES.get(text, ""))
    old = abolished_codes().get(text)
    if old is not None:
        return _historical(old, text)
    city = _nodes().get(text[:4] + "00")
    if text.endswith("01") and city is not None and city.level == "city":
        # GB/T 2260 keeps xxxx01 "市辖区" as the code of a city's districts taken together; registries
        # (e.g. 广州 440101) still issue it, while the statistical list leaves it out.
        node = RegionNode(text, "市辖区", "county", city.code)
        note = f"{text} 为 GB/T 2260 中{city.name}“市辖区”的汇总代码，统计用区划代码不单列，按{city.name}处理"
        return RegionInfo(text, node, (*region_path(city.code), node), note=note)
    return None


def lookup_region(code: str) -> RegionInfo:
    """By 6-digit code (old codes resolve with a note); InputError with a Chinese reason otherwise."""
    text = code.strip()
    if not _CODE.match(text):
        raise InputError(f"行政区划代码“{text}”应为 6 位数字（如 410307）")
    info = find_region(text)
    if info is None:
        raise InputError(f"行政区划代码“{text}”不在{TABLE_NAME}中，也不是已知的旧代码")
    return info


def find_regions_by_name(name: str) -> list[RegionInfo]:
    """Every region with exactly this name (names repeat: 鼓楼区, 市辖区), plus old names.

    When nothing matches exactly, names that begin with the query (`洛阳` → 洛阳市 …) are returned
    so a user who leaves off 市/县/区 still finds the place.
    """
    text = name.strip()
    nodes = _nodes()
    found = [
        RegionInfo(text, n, region_path(n.code), note=_NOTES.get(n.code, "")) for n in nodes.values() if n.name == text
    ]
    # an old name that went twice (淮阳县 412727 in 2000, 411626 in 2019) is one place: the latest
    # change; an old code of a place still so named (济源市 410881 → 419001) adds nothing
    latest: dict[str, Abolished] = {}
    for old in abolished_codes().values():
        if old.name != text or any(f.code == old.successor for f in found):
            continue
        if old.successor not in latest or old.year > latest[old.successor].year:
            latest[old.successor] = old
    found += [_historical(old, text) for old in latest.values()]
    if not found and text:
        found = [
            RegionInfo(text, n, region_path(n.code), note=_NOTES.get(n.code, ""))
            for n in nodes.values()
            if n.name.startswith(text)
        ]
    return found


def lookup_region_any(query: str) -> list[RegionInfo]:
    """A code (one result) or a name (one or more results); InputError when nothing matches."""
    text = query.strip()
    if not text:
        raise InputError("行政区划代码或名称不能为空")
    if text.isdigit():
        return [lookup_region(text)]
    found = find_regions_by_name(text)
    if not found:
        raise InputError(f"没有名为“{text}”的行政区划（{TABLE_NAME}）")
    return found
