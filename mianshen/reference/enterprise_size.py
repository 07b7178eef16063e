"""中小企业划型 (工信部联企业〔2011〕300号): classify an enterprise as 大型/中型/小型/微型.

The table lives in versioned data files (`size_standard_<year>.yaml`), so a revised standard is a
new file, not a code change; the version in effect on `as_of` is used and named in the result.
The rule is applied literally and every bound compared is reported, because the literal rule has
surprising outcomes (an industrial firm with 15 staff and 10亿 revenue is 微型) that an official
must be able to see. A missing input gives "unknown" only when it could change the answer: an
industrial firm with 10 staff is 微型 (below the 小型 minimum of 20) whatever its revenue, so a
missing revenue does not matter there; it is never guessed where it does.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from mianshen.clock import today as clock_today
from mianshen.errors import InputError
from mianshen.numbers import NumberError, parse_number, plain
from mianshen.reference.industries import find_industry, leaf_codes, lookup_industry

Number = Decimal | int | str
UNKNOWN = "unknown"
SIZES = ("大型", "中型", "小型", "微型")
FIELDS = ("employees", "revenue", "assets")
FIELD_LABELS = {"employees": "从业人员", "revenue": "营业收入", "assets": "资产总额"}
FIELD_UNITS = {"employees": "人", "revenue": "万元", "assets": "万元"}
_STAGE_LABELS = {"sme": "中小微上限", "medium": "中型下限", "small": "小型下限"}
_VERDICTS = {  # stage → {all bounds met: verdict}
    "sme": {True: "各项均不低于上限，不属中小微", False: "至少一项低于上限，属中小微"},
    "medium": {True: "全部达到", False: "未全部达到，降一档"},
    "small": {True: "全部达到", False: "至少一项低于下限"},
}
_PLAIN = re.compile(r"^\s*[+-]?\d+(\.\d+)?\s*$")


def exact_number(raw: Number | None, label: str, allow_negative: bool = False) -> Decimal | None:
    """An exact number, or None when not given; text must be a plain number.

    Text such as "300万" is refused here: the unit is already fixed by the parameter, and reading
    the suffix would silently multiply by 10000.
    """
    if raw is None:
        return None
    if isinstance(raw, str) and not _PLAIN.match(raw):
        raise InputError(f"{label}“{raw.strip()}”不是数字（只写数字，如 300 或 1250.5）")
    try:
        value = parse_number(raw)
    except NumberError as exc:
        raise InputError(f"{label}：{exc}") from exc
    if value < 0 and not allow_negative:
        raise InputError(f"{label}不能为负数：{plain(value)}")
    return value


@dataclass(frozen=True, eq=False)  # identity hash: rows are compared as set members, never by value
class SizeRow:
    id: str
    name: str
    industries: tuple[str, ...]  # GB/T 4754-2017 prefixes: a section letter or 2–4 digits
    sme_if_any_below: dict[str, Decimal]
    medium_min: dict[str, Decimal]
    small_min: dict[str, Decimal]

    def fields(self) -> tuple[str, ...]:
        used = {*self.sme_if_any_below, *self.medium_min, *self.small_min}
        return tuple(f for f in FIELDS if f in used)


@dataclass(frozen=True)
class SizeStandard:
    id: str
    version: str
    source: str
    effective_from: dt.date
    effective_to: dt.date | None
    rows: tuple[SizeRow, ...]
    default_row: str
    not_applicable: tuple[tuple[tuple[str, ...], str], ...]  # (prefixes, reason)

    def target_for_leaf(self, leaf: str) -> SizeRow | str:
        """The row for a 小类 such as `K7010` (longest matching prefix wins), or a not-applicable reason."""
        best: tuple[int, SizeRow | str] | None = None
        candidates: list[tuple[tuple[str, ...], SizeRow | str]] = [(r.industries, r) for r in self.rows]
        candidates += [(prefixes, reason) for prefixes, reason in self.not_applicable]
        for prefixes, target in candidates:
            for prefix in prefixes:
                score = _match(prefix, leaf)
                if score is not None and (best is None or score > best[0]):
                    best = (score, target)
        if best is not None:
            return best[1]
        return next(r for r in self.rows if r.id == self.default_row)


def _match(prefix: str, leaf: str) -> int | None:
    """How specific `prefix` is for `leaf` (0 for a section letter, else its digits), None if no match."""
    if prefix.isalpha():
        return 0 if leaf[0] == prefix else None
    return len(prefix) if leaf[1:].startswith(prefix) else None


def _bounds(raw: Any) -> dict[str, Decimal]:
    out = {str(k): Decimal(str(v)) for k, v in (raw or {}).items()}
    unknown = set(out) - set(FIELDS)
    if unknown:
        raise ValueError(f"划型数据含未知指标：{sorted(unknown)}")
    return out


def _standard(raw: dict[str, Any]) -> SizeStandard:
    rows = tuple(
        SizeRow(
            str(r["id"]),
            str(r["name"]),
            tuple(str(c) for c in r.get("industries") or ()),
            _bounds(r["sme_if_any_below"]),
            _bounds(r["medium_min"]),
            _bounds(r["small_min"]),
        )
        for r in raw["rows"]
    )
    not_applicable = tuple(
        (tuple(str(c) for c in item["industries"]), str(item["reason"])) for item in raw.get("not_applicable") or ()
    )
    return SizeStandard(
        str(raw["id"]),
        str(raw["version"]),
        str(raw["source"]),
        raw["effective_from"],
        raw.get("effective_to"),
        rows,
        str(raw["default_row"]),
        not_applicable,
    )


@lru_cache(maxsize=1)
def size_standards() -> tuple[SizeStandard, ...]:
    """Every shipped version (`size_standard_*.yaml`), oldest first."""
    folder = resources.files("mianshen.reference")
    files = [p for p in folder.iterdir() if p.name.startswith("size_standard_") and p.name.endswith(".yaml")]
    loaded = [_standard(yaml.safe_load(p.read_text(encoding="utf-8"))) for p in files]
    return tuple(sorted(loaded, key=lambda s: s.effective_from))


def standard_for(day: dt.date) -> SizeStandard | None:
    """The version in effect on `day`: the latest one that has started and not ended."""
    live = [
        s for s in size_standards() if s.effective_from <= day and (s.effective_to is None or day <= s.effective_to)
    ]
    return live[-1] if live else None


@dataclass(frozen=True)
class Comparison:
    stage: str  # sme (upper bound: below it → 中小微), medium, small (lower bounds)
    field: str  # employees / revenue / assets
    value: Decimal
    bound: Decimal

    @property
    def below(self) -> bool:
        return self.value < self.bound

    def text(self) -> str:
        unit = FIELD_UNITS[self.field]
        op = "<" if self.below else "≥"
        return f"{FIELD_LABELS[self.field]} {plain(self.value)} {unit} {op} {plain(self.bound)} {unit}"

    def as_dict(self) -> dict[str, object]:
        return {
            "stage": self.stage,
            "field": self.field,
            "value": str(self.value),
            "bound": str(self.bound),
            "below": self.below,
            "text": self.text(),
        }


@dataclass(frozen=True)
class SizeResult:
    size: str  # 大型 / 中型 / 小型 / 微型, or "unknown"
    industry: str  # the normalised GB/T 4754-2017 code
    row_id: str | None
    row_name: str | None
    version: str
    source: str
    reason: str
    comparisons: tuple[Comparison, ...] = ()
    missing: tuple[str, ...] = ()  # input names the row needs but were not given
    rows: tuple[str, ...] = ()  # candidate rows when the code is too coarse

    @property
    def known(self) -> bool:
        return self.size != UNKNOWN

    def as_dict(self) -> dict[str, object]:
        return {
            "size": self.size,
            "industry": self.industry,
            "row": {"id": self.row_id, "name": self.row_name},
            "version": self.version,
            "source": self.source,
            "reason": self.reason,
            "comparisons": [c.as_dict() for c in self.comparisons],
            "missing": list(self.missing),
            "candidate_rows": list(self.rows),
        }


def row_for_industry(standard: SizeStandard, code: str) -> tuple[SizeRow | None, str, tuple[str, ...]]:
    """(row, not-applicable reason, candidate row names) for an industry code of any level.

    A 门类 or 大类 may span several rows (70 房地产业 holds 7010, 702, 703, 709): then every 小类
    under it is mapped and the row is used only when they all agree, so a coarse code never guesses.
    """
    key = (standard.version, code)
    found = _ROW_CACHE.get(key)
    if found is None:  # mapping every 小类 under a code is slow (~1 ms) and a match run asks per enterprise
        found = _ROW_CACHE[key] = _row_for_industry(standard, code)
    return found


_ROW_CACHE: dict[tuple[str, str], tuple[SizeRow | None, str, tuple[str, ...]]] = {}  # bounded by versions × codes


def _row_for_industry(standard: SizeStandard, code: str) -> tuple[SizeRow | None, str, tuple[str, ...]]:
    targets = {standard.target_for_leaf(leaf) for leaf in leaf_codes(code)}
    if len(targets) == 1:
        (target,) = targets
        if isinstance(target, SizeRow):
            return target, "", (target.name,)
        return None, target, ()
    names = tuple(sorted(t.name if isinstance(t, SizeRow) else "不按本标准划型的行业" for t in targets))
    return None, "", names


def classify_size(
    industry: str,
    employees: Number | None,
    revenue_wan: Number | None,
    assets_wan: Number | None,
    as_of: dt.date | None = None,
    explain: bool = True,
) -> SizeResult:
    """划型 by 工信部联企业〔2011〕300号. Units: 人, 万元. Raises InputError for a bad code or value.

    `explain=False` leaves a known size without its comparisons and reason (a match run reads a
    million sizes and shows none; building the sentences was most of the cost)."""
    code = lookup_industry(industry).code
    values = {
        "employees": exact_number(employees, "从业人员"),
        "revenue": exact_number(revenue_wan, "营业收入"),
        "assets": exact_number(assets_wan, "资产总额"),
    }
    day = as_of or clock_today()
    standard = standard_for(day)
    if standard is None:
        return SizeResult(UNKNOWN, code, None, None, "", "", f"{day} 没有有效的中小企业划型标准数据")

    def unknown(
        reason: str, row: SizeRow | None = None, missing: tuple[str, ...] = (), rows: tuple[str, ...] = ()
    ) -> SizeResult:
        row_id, row_name = (row.id, row.name) if row else (None, None)
        return SizeResult(UNKNOWN, code, row_id, row_name, standard.version, standard.source, reason, (), missing, rows)

    row, not_applicable, candidates = row_for_industry(standard, code)
    if not_applicable:
        return unknown(not_applicable)
    if row is None:
        name = find_industry(code)
        label = f"{code} {name.name}" if name else code
        return unknown(
            f"行业代码 {label} 过粗：其下小类分属 {'、'.join(candidates)}，划型标准不同，请提供更细的行业代码",
            rows=candidates,
        )
    missing = tuple(f for f in row.fields() if values[f] is None)
    known = {k: v for k, v in values.items() if v is not None}
    size = _size(row, known)
    if size is None:
        needed = "、".join(f"{FIELD_LABELS[f]}（{FIELD_UNITS[f]}）" for f in missing)
        return unknown(f"{row.name}：缺少{needed}，无法划型（不作推测）", row, missing=missing)
    if not explain:
        return SizeResult(size, code, row.id, row.name, standard.version, standard.source, "")
    return _classify_row(standard, row, code, known, missing)


def _stages(row: SizeRow) -> tuple[tuple[str, dict[str, Decimal], str], ...]:
    return (
        ("sme", row.sme_if_any_below, "大型"),
        ("medium", row.medium_min, "中型"),
        ("small", row.small_min, "小型"),
    )


def _met(bounds: dict[str, Decimal], values: dict[str, Decimal]) -> bool | None:
    """All bounds reached (True), one known value below its bound (False), or undecided (None):
    the three-valued AND that derive_sql.py writes as SQL."""
    if any(f in values and values[f] < bound for f, bound in bounds.items()):
        return False
    return True if all(f in values for f in bounds) else None


def _size(row: SizeRow, values: dict[str, Decimal]) -> str | None:
    """The size alone, by the same rule as _classify_row; None when a missing value could change it."""
    for _, bounds, size_if_met in _stages(row):
        met = _met(bounds, values)
        if met is None:
            return None
        if met:
            return size_if_met
    return "微型"


def _classify_row(
    standard: SizeStandard, row: SizeRow, code: str, values: dict[str, Decimal], missing: tuple[str, ...]
) -> SizeResult:
    """Upper bounds first (all met → 大型), then 中型 and 小型 minima (all met → that size), else 微型.

    Only known values are compared; `missing` ones are named when the known ones decided alone."""
    comparisons: list[Comparison] = []
    parts: list[str] = []
    size = "微型"
    for name, bounds, size_if_met in _stages(row):
        items = [Comparison(name, f, values[f], bound) for f, bound in bounds.items() if f in values]
        comparisons += items
        met = _met(bounds, values)
        parts.append(f"{_STAGE_LABELS[name]} {'，'.join(c.text() for c in items)} → {_VERDICTS[name][bool(met)]}")
        if met:
            size = size_if_met
            break
    lacking = "、".join(FIELD_LABELS[f] for f in missing)
    note = f"（缺少{lacking}，但已有指标足以判定）" if missing else ""
    reason = f"{row.name}：{'；'.join(parts)}；按{size}{note}（{standard.source}）"
    return SizeResult(size, code, row.id, row.name, standard.version, standard.source, reason, tuple(comparisons))
