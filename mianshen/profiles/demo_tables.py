"""Reference tables for the demo population: Henan counties, GB/T 4754-2017 小类 and the 划型 rows.

Everything is read from the packaged standards (regions.csv, industries CSV, size_standard_2011.yaml)
so the generated codes are real ones and the drawn sizes follow the same versioned 划型 table the
platform classifies with. The weights below are rough shares of Henan's market entities: they only
need to look like a real economy (批发零售 and 餐饮 dominate 个体户, 制造业 is big among companies).
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import accumulate

import yaml

from mianshen.reference.regions import abolished_codes

# Prefecture → weight ≈ its share of Henan's market entities (郑州 largest, then 南阳, 洛阳, 周口 …).
CITY_WEIGHTS = {
    "4101": 18.0,
    "4102": 4.5,
    "4103": 8.0,
    "4104": 4.8,
    "4105": 5.0,
    "4106": 1.6,
    "4107": 5.8,
    "4108": 3.5,
    "4109": 3.6,
    "4110": 4.4,
    "4111": 2.5,
    "4112": 2.2,
    "4113": 9.0,
    "4114": 7.2,
    "4115": 6.0,
    "4116": 8.0,
    "4117": 6.6,
    "4190": 0.8,
}


@lru_cache(maxsize=1)
def historical_regions() -> dict[str, tuple[str, int]]:
    """Henan counties renamed since USCCs were first issued (2015): current code → (old code, year),
    from the reference table of abolished codes. A firm whose code was issued before the change keeps
    the old region part in its USCC, as in real registries; where two old codes merged into one
    (孟津县 and 吉利区 → 孟津区) the larger, 孟津县, is drawn."""
    out: dict[str, tuple[str, int]] = {}
    for old in sorted(abolished_codes().values(), key=lambda a: a.code):
        if old.code.startswith("41") and old.year >= 2015:
            out[old.successor] = (old.code, old.year)
    return out


# 门类 weights per subject type; 大类 boosts inside a 门类 (retail over wholesale for shops, …).
SECTION_WEIGHTS: dict[str, dict[str, float]] = {
    "个体工商户": {
        "F": 46,
        "H": 15,
        "O": 12,
        "G": 6,
        "A": 4,
        "C": 4,
        "L": 3,
        "R": 2,
        "E": 2,
        "I": 2,
        "M": 1,
        "P": 1,
        "Q": 1,
        "K": 1,
    },
    "企业": {
        "F": 28,
        "C": 14,
        "L": 13,
        "M": 9,
        "E": 8,
        "I": 7,
        "G": 4,
        "K": 3,
        "A": 3,
        "H": 3,
        "O": 2,
        "R": 2,
        "N": 1,
        "P": 1,
        "Q": 1,
        "D": 1,
        "J": 0.5,
        "B": 0.5,
    },
    "农民专业合作社": {"A": 90, "C": 4, "F": 3, "O": 2, "H": 1},
    "社会组织": {"S": 50, "P": 25, "R": 10, "Q": 5, "M": 5, "O": 5},
}
DIVISION_BOOST = {
    "52": 3.0,
    "62": 4.0,
    "80": 2.0,
    "81": 2.0,
    "54": 2.0,
    "01": 2.0,
    "03": 2.0,
    "95": 10.0,
    "72": 2.0,
    "13": 1.5,
    "14": 1.5,
    "70": 2.0,
    "47": 2.0,
    "48": 2.0,
}

# Target 划型 shares per subject type: small and micro dominate, a few large.
SIZE_WEIGHTS = {
    "企业": {"大型": 0.4, "中型": 3.0, "小型": 14.0, "微型": 82.6},
    "个体工商户": {"小型": 2.0, "微型": 98.0},
    "农民专业合作社": {"中型": 0.5, "小型": 6.0, "微型": 93.5},
    "社会组织": {"中型": 1.0, "小型": 10.0, "微型": 89.0},
}
# When a 划型 row does not bound a metric, draw it from a plausible range for the size (人 / 万元).
FREE_EMPLOYEES = {"大型": (300, 5000), "中型": (100, 1000), "小型": (10, 100), "微型": (1, 10)}
FREE_REVENUE = {"大型": (10000, 200000), "中型": (500, 20000), "小型": (50, 2000), "微型": (3, 300)}


class Picker:
    """Weighted choice by bisecting cumulative weights: much cheaper than rng.choices per call."""

    def __init__(self, items: Sequence[str], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> str:
        from bisect import bisect

        return self.items[min(bisect(self.cum, rng.random() * self.total), len(self.items) - 1)]


def _data(name: str) -> list[dict[str, str]]:
    with (resources.files("mianshen.reference") / "data" / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@lru_cache(maxsize=1)
def county_picker() -> tuple[Picker, dict[str, str]]:
    """Henan counties weighted by city size; urban districts (≤ 20) get more firms than rural counties."""
    counties = [r for r in _data("regions.csv") if r["level"] == "county" and r["code"].startswith("41")]
    per_city: dict[str, int] = {}
    for r in counties:
        per_city[r["code"][:4]] = per_city.get(r["code"][:4], 0) + 1
    weights = []
    for r in counties:
        urban = 1.6 if int(r["code"][4:]) <= 20 or r["code"] in ("410173", "410172") else 1.0
        weights.append(CITY_WEIGHTS.get(r["code"][:4], 1.0) / per_city[r["code"][:4]] * urban)
    return Picker([r["code"] for r in counties], weights), {r["code"]: r["name"] for r in counties}


@lru_cache(maxsize=1)
def industry_pickers() -> dict[str, Picker]:
    leaves = [r for r in _data("industries_gbt4754_2017.csv") if r["level"] == "4"]
    pickers = {}
    for subject, sections in SECTION_WEIGHTS.items():
        by_section: dict[str, list[str]] = {}
        for r in leaves:
            if r["section"] in sections:
                by_section.setdefault(r["section"], []).append(r["code"])
        items, weights = [], []
        for section, codes in by_section.items():
            boosts = [DIVISION_BOOST.get(c[:2], 1.0) for c in codes]
            for code, boost in zip(codes, boosts, strict=True):
                items.append(section + code)
                weights.append(sections[section] * boost / sum(boosts))
        pickers[subject] = Picker(items, weights)
    return pickers


@dataclass(frozen=True)
class SizeRow:
    id: str
    sme: Mapping[str, float]  # upper bounds: below any → 中小微
    medium: Mapping[str, float]
    small: Mapping[str, float]


@lru_cache(maxsize=1)
def size_rows() -> tuple[dict[str, SizeRow], str, list[tuple[str, str]]]:
    doc = yaml.safe_load((resources.files("mianshen.reference") / "size_standard_2011.yaml").read_text("utf-8"))
    rows = {r["id"]: SizeRow(r["id"], r["sme_if_any_below"], r["medium_min"], r["small_min"]) for r in doc["rows"]}
    prefixes = [(str(p), r["id"]) for r in doc["rows"] for p in r["industries"]]
    return rows, str(doc["default_row"]), prefixes


@lru_cache(maxsize=4096)
def size_row_for(industry: str) -> SizeRow:
    """Longest matching prefix (a 门类 letter counts as the shortest); 金融 J falls back to the default row."""
    rows, default, prefixes = size_rows()
    section, digits = industry[0], industry[1:]
    best, length = default, 0
    for prefix, row_id in prefixes:
        n = 1 if prefix == section else len(prefix) + 1 if prefix.isdigit() and digits.startswith(prefix) else 0
        if n > length:
            best, length = row_id, n
    return rows[best]


def classify(row: SizeRow, values: Mapping[str, float]) -> str:
    """The literal 划型 rule (工信部联企业〔2011〕300号), in 人 / 万元; used to check the draws."""
    if all(values[m] >= b for m, b in row.sme.items()):
        return "大型"
    if all(values[m] >= b for m, b in row.medium.items()):
        return "中型"
    if all(values[m] >= b for m, b in row.small.items()):
        return "小型"
    return "微型"


def _range(row: SizeRow, metric: str, size: str) -> tuple[float, float] | None:
    """Where a bounded metric must lie for the size: lower bound inclusive, upper exclusive."""
    if metric not in row.small:
        return None
    small, medium, upper = row.small[metric], row.medium[metric], row.sme.get(metric)
    if size == "大型":
        return (upper, upper * 4) if upper else (medium * 3, medium * 12)
    if size == "中型":
        return medium, upper or medium * 3
    if size == "小型":
        return small, medium
    return max(small / 40, 1.0 if metric == "employees" else 0.5), small


def _log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def draw_size(rng: random.Random, industry: str, size: str) -> tuple[int, float, float]:
    """(employees, revenue 万元, assets 万元) that the 划型 table classifies as `size` for the industry."""
    row = size_row_for(industry)
    out: dict[str, float] = {}
    for metric in ("employees", "revenue", "assets"):
        bounds = _range(row, metric, size)
        if bounds is None:
            continue
        lo, hi = bounds
        if metric == "employees":
            out[metric] = min(max(math.ceil(lo), int(_log_uniform(rng, lo, hi))), math.ceil(hi) - 1)
        else:
            out[metric] = min(max(math.ceil(lo * 100) / 100, round(_log_uniform(rng, lo, hi), 2)), hi - 0.01)
    if size == "微型" and len(out) > 1 and rng.random() < 0.2:
        # a micro firm need only be below ONE 小型 bound: lift another metric into the small range
        metric = rng.choice(sorted(out)[1:])
        lo, hi = row.small[metric], row.medium[metric]
        out[metric] = int(_log_uniform(rng, lo, hi)) if metric == "employees" else round(_log_uniform(rng, lo, hi), 2)
        out[metric] = min(max(out[metric], math.ceil(lo)), hi - 1 if metric == "employees" else hi - 0.01)
    if "employees" not in out:
        out["employees"] = int(_log_uniform(rng, *FREE_EMPLOYEES[size]))
    if "revenue" not in out:
        out["revenue"] = round(_log_uniform(rng, *FREE_REVENUE[size]), 2)
    if "assets" not in out:
        out["assets"] = round(out["revenue"] * rng.uniform(0.2, 1.5) + 0.01, 2)
    return int(out["employees"]), out["revenue"], out["assets"]
