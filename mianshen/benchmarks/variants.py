"""100 policy variants from the shipped 条件类 policies, for the matching benchmarks.

Each shipped 条件类 policy is a *family*; a variant is the same YAML with other thresholds or
parameter values (and its own id and title), written to a directory and read back through the
real loader (`read_policy`), so the variants are checked exactly as a published file would be.
`knobs` records the values each variant was given: the hand-written query uses them.
Every variant is in force on 2025 dates (the benchmark's as-of date is 2025-06-30).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mianshen.errors import PolicyFileError
from mianshen.rules.ast import Policy
from mianshen.rules.loader import SHIPPED, read_policy

FAMILIES = ("xiaowei-liushui-lianfei", "wengang-fanhuan", "kuogang-buzhu", "manfuhe-shengchan", "shoudai-tiexi")
YEAR = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
INDUSTRIES = (("B", "C", "D"), ("C",), ("B", "C"), ("C", "D"))


@dataclass(frozen=True)
class Variant:
    family: str
    index: int
    policy: Policy
    knobs: dict[str, Any]
    path: Path


def _conditions(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "id" in node:
                out[str(node["id"])] = node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc.get("conditions"))
    walk(doc.get("amount"))
    return out


def _xiaowei(doc: dict[str, Any], k: int) -> dict[str, Any]:
    knobs = {"income": 1_000_000 + 200_000 * k, "employees": 100 + 20 * k, "assets": 20_000_000 + 3_000_000 * k}
    c = _conditions(doc)
    c["taxable-income"]["le"] = knobs["income"]
    c["employees"]["le"] = knobs["employees"]
    c["assets"]["le"] = knobs["assets"]
    return knobs


def _wengang(doc: dict[str, Any], k: int) -> dict[str, Any]:
    knobs = {"layoff_cap": f"{2 + k * 0.5:g}%", "small_cap": f"{10 + k}%", "small_size": 10 + 2 * k}
    params = doc["parameters"]
    params["layoff-cap"]["values"][0]["value"] = knobs["layoff_cap"]
    params["small-unit-layoff-cap"]["values"][0]["value"] = knobs["small_cap"]
    params["small-unit-size"]["values"][0]["value"] = knobs["small_size"]
    return knobs


def _kuogang(doc: dict[str, Any], k: int) -> dict[str, Any]:
    knobs = {"min_hires": 1 + k % 4, "per_head": 1000 + 100 * k}
    _conditions(doc)["youth-hires"]["ge"] = knobs["min_hires"]
    doc["amount"]["formula"] = f"qualified_youth_hires * {knobs['per_head']}"
    return knobs


def _manfuhe(doc: dict[str, Any], k: int) -> dict[str, Any]:
    knobs = {"industries": INDUSTRIES[k % len(INDUSTRIES)], "growth": f"{k}%"}
    c = _conditions(doc)
    c["industrial-industry"]["within"] = list(knobs["industries"])
    c["growth-10"]["ge"] = c["tier-growth-10"]["ge"] = knobs["growth"]  # the 20万 path and its tier
    return knobs


def _shoudai(doc: dict[str, Any], k: int) -> dict[str, Any]:
    start = dt.date(2022, 6, 1) + dt.timedelta(days=60 * k)
    knobs = {
        "after": start - dt.timedelta(days=1),
        "start": start,
        "end": start + dt.timedelta(days=213),
        "min_term": 1 + k % 3,
        "min_rate": f"{1 + 0.25 * (k % 8):g}%",
    }
    c = _conditions(doc)
    c["no-prior-loan"]["gt"] = knobs["after"]
    c["first-loan-window"]["ge"], c["first-loan-window"]["le"] = knobs["start"], knobs["end"]
    c["min-term"]["ge"] = knobs["min_term"]
    c["min-rate"]["ge"] = knobs["min_rate"]
    return knobs


EDITS: dict[str, Callable[[dict[str, Any], int], dict[str, Any]]] = {
    "xiaowei-liushui-lianfei": _xiaowei,
    "wengang-fanhuan": _wengang,
    "kuogang-buzhu": _kuogang,
    "manfuhe-shengchan": _manfuhe,
    "shoudai-tiexi": _shoudai,
}


def make_variants(out_dir: str | Path, count: int = 100, policy_dir: str | Path = SHIPPED) -> list[Variant]:
    """`count` variants (round-robin over the families), written to `out_dir` and loaded back."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bases = {f: yaml.safe_load((Path(policy_dir) / f"{f}.yaml").read_text(encoding="utf-8")) for f in FAMILIES}
    variants = []
    for n in range(count):
        family, k = FAMILIES[n % len(FAMILIES)], n // len(FAMILIES)
        doc = yaml.safe_load(yaml.safe_dump(bases[family], allow_unicode=True))  # a deep copy
        knobs = EDITS[family](doc, k)
        doc["id"] = f"{family}-v{k:02d}"
        doc["title"] = f"{doc['title']}（基准变体 {k:02d}）"
        doc["valid_from"], doc["valid_to"] = YEAR
        doc.pop("tests", None)  # the shipped expectations hold for the shipped thresholds only
        path = out / f"{doc['id']}.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
        policy, diagnostics = read_policy(path)
        if policy is None or any(d.severity == "error" for d in diagnostics):
            raise PolicyFileError(diagnostics)
        variants.append(Variant(family, k, policy, knobs, path))
    return variants
