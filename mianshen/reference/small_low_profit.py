"""小型微利企业 (tax definition, NOT 划型): 财政部 税务总局公告2023年第12号 / 2023年第6号第三条.

Qualified when: not in a restricted or forbidden industry, 年度应纳税所得额 ≤ 300万元, 从业人数 ≤ 300
and 资产总额 ≤ 5000万元, where the last two are the year's average of quarterly averages:
季度平均值 = (季初值 + 季末值) ÷ 2, 全年季度平均值 = 各季度平均值之和 ÷ 4; an enterprise that opened or
closed during the year takes its actual operating period as the year (the quarters it operated).

Three-valued like the rule engine: one failed condition gives "no" even when others lack data;
otherwise any missing datum gives "unknown" (需补充数据), never a silent "no".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from mianshen.errors import InputError
from mianshen.numbers import div, plain, quantize
from mianshen.reference.enterprise_size import Number, exact_number

BASIS = "财政部 税务总局公告2023年第12号（定义同 财政部 税务总局公告2023年第6号第三条）"
VALID_YEARS = range(2023, 2028)  # 执行至 2027-12-31
INCOME_LIMIT = Decimal(3_000_000)  # 元
EMPLOYEE_LIMIT = Decimal(300)  # 人
ASSET_LIMIT = Decimal(50_000_000)  # 元

Pair = tuple[Number | None, Number | None]  # (季初值, 季末值)
Quarters = Mapping[int, Pair | None] | Sequence[Pair | None]  # keyed 1–4, or a list for Q1..Q4


@dataclass(frozen=True)
class Check:
    id: str
    label: str
    result: bool | None  # None: unknown
    text: str

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "label": self.label, "result": self.result, "text": self.text}


@dataclass(frozen=True)
class SmallLowProfitResult:
    status: str  # "yes" / "no" / "unknown"
    reason: str
    checks: tuple[Check, ...]
    employees_avg: Decimal | None  # 全年季度平均值 (10 decimal places when not exact)
    assets_avg_yuan: Decimal | None
    quarters: tuple[int, ...]  # the quarters averaged over
    missing: tuple[str, ...]
    basis: str = BASIS

    @property
    def qualified(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.status)

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "qualified": self.qualified,
            "reason": self.reason,
            "checks": [c.as_dict() for c in self.checks],
            "employees_avg": None if self.employees_avg is None else plain(self.employees_avg),
            "assets_avg_yuan": None if self.assets_avg_yuan is None else plain(self.assets_avg_yuan),
            "quarters": list(self.quarters),
            "missing": list(self.missing),
            "basis": self.basis,
        }


@dataclass(frozen=True)
class Average:
    """Σ quarterly averages and their count; the comparison uses the sum so that ÷3 stays exact."""

    total: Decimal | None
    count: int
    missing: tuple[str, ...]

    @property
    def value(self) -> Decimal | None:
        return None if self.total is None else div(self.total, Decimal(self.count))

    def at_most(self, limit: Decimal) -> bool | None:
        return None if self.total is None else self.total <= limit * self.count


def operated_quarters(quarters_operated: Iterable[int] | None) -> tuple[int, ...]:
    chosen = tuple(sorted(set(quarters_operated))) if quarters_operated is not None else (1, 2, 3, 4)
    if not chosen or any(q not in (1, 2, 3, 4) for q in chosen):
        raise InputError(f"经营季度应为 1–4 中的一个或多个，实际为 {list(quarters_operated or [])}")
    return chosen


def year_average(values: Quarters | None, quarters: tuple[int, ...], label: str) -> Average:
    """全年季度平均值 over the operated quarters; the names of missing values when incomplete."""
    by_quarter = _by_quarter(values, label)
    for q, pair in by_quarter.items():
        if q not in quarters and pair is not None and any(v is not None for v in pair):
            raise InputError(f"{label}：第{q}季度不在经营期内，却提供了数据（请核对经营季度）")
    total = Decimal(0)
    missing: list[str] = []
    for q in quarters:
        pair = by_quarter.get(q) or (None, None)
        start = exact_number(pair[0], f"第{q}季度季初{label}")
        end = exact_number(pair[1], f"第{q}季度季末{label}")
        missing += [f"第{q}季度{edge}{label}" for edge, v in (("季初", start), ("季末", end)) if v is None]
        if start is not None and end is not None:
            total += (start + end) / 2  # exact: halving a finite decimal is finite
    return Average(None if missing else total, len(quarters), tuple(missing))


def _by_quarter(values: Quarters | None, label: str) -> dict[int, Pair | None]:
    if values is None:
        return {}
    if isinstance(values, Mapping):
        return {int(q): p for q, p in values.items()}
    if len(values) > 4:
        raise InputError(f"{label}：最多 4 个季度，实际 {len(values)} 个")
    return {i + 1: p for i, p in enumerate(values)}


def check_small_low_profit(
    *,
    restricted_industry: bool | None,
    taxable_income_yuan: Number | None,
    employees: Quarters | None,
    assets_yuan: Quarters | None,
    quarters_operated: Iterable[int] | None = None,
    tax_year: int | None = None,
) -> SmallLowProfitResult:
    """Is this a 小型微利企业 for the tax year? Amounts in 元; quarterly values as (季初, 季末)."""
    quarters = operated_quarters(quarters_operated)
    staff = year_average(employees, quarters, "从业人数")
    assets = year_average(assets_yuan, quarters, "资产总额")
    income = exact_number(taxable_income_yuan, "年度应纳税所得额", allow_negative=True)
    period = "全年" if len(quarters) == 4 else f"实际经营期（第{'、'.join(map(str, quarters))}季度）"
    checks = [
        _industry_check(restricted_industry),
        _limit_check("income", "年度应纳税所得额不超过300万元", income, INCOME_LIMIT, "元"),
        _average_check("employees", "从业人数不超过300人", staff, EMPLOYEE_LIMIT, "人", period),
        _average_check("assets", "资产总额不超过5000万元", assets, ASSET_LIMIT, "元", period),
    ]
    missing = tuple(
        ([] if restricted_industry is not None else ["是否从事国家限制和禁止行业"])
        + ([] if income is not None else ["年度应纳税所得额"])
        + list(staff.missing)
        + list(assets.missing)
    )
    results = [c.result for c in checks]
    status = "no" if False in results else "unknown" if None in results else "yes"
    verdict = {
        "yes": "符合小型微利企业条件",
        "no": "不符合小型微利企业条件",
        "unknown": "数据不全，暂无法认定（需补充数据）",
    }
    reason = f"{verdict[status]}：" + "；".join(c.text for c in checks)
    if tax_year is not None and tax_year not in VALID_YEARS:
        status = "unknown"
        reason = f"{tax_year} 年度不在公告执行期（2023-01-01至2027-12-31）内，需按当年有效的公告认定；" + reason
    return SmallLowProfitResult(status, reason, tuple(checks), staff.value, assets.value, quarters, missing)


def _industry_check(restricted: bool | None) -> Check:
    label = "从事国家非限制和禁止行业"
    if restricted is None:
        return Check("industry", label, None, "是否从事国家限制和禁止行业：缺少数据")
    text = "从事国家限制或禁止行业，不符合" if restricted else "不从事国家限制和禁止行业，符合"
    return Check("industry", label, not restricted, text)


def _limit_check(id_: str, label: str, value: Decimal | None, limit: Decimal, unit: str) -> Check:
    if value is None:
        return Check(id_, label, None, f"{label}：缺少数据")
    ok = value <= limit
    return Check(id_, label, ok, f"{label}：{plain(value)} {unit} {'≤' if ok else '>'} {plain(limit)} {unit}")


def _average_check(id_: str, label: str, avg: Average, limit: Decimal, unit: str, period: str) -> Check:
    ok = avg.at_most(limit)
    value = avg.value
    if ok is None or value is None:
        return Check(id_, label, None, f"{label}：缺少{'、'.join(avg.missing)}")
    shown = plain(quantize(value, 2))
    return Check(
        id_, label, ok, f"{label}：{period}季度平均值 {shown} {unit} {'≤' if ok else '>'} {plain(limit)} {unit}"
    )
