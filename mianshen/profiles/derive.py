"""Derived tags of a profile (派生标签): computed from observed fields on the profile's date.

An observed value always wins over a derived one (a department's own 划型 beats our computation);
every derived value says how it was computed, and a derivation with missing inputs is left out,
so the field stays "unknown" rather than guessed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from dateutil.relativedelta import relativedelta

from mianshen.catalogue import load_catalogue
from mianshen.reference.enterprise_size import classify_size
from mianshen.reference.industries import industry_path
from mianshen.reference.regions import region_path
from mianshen.reference.small_low_profit import check_small_low_profit
from mianshen.reference.uscc import check_uscc

if TYPE_CHECKING:
    from mianshen.profiles.current import FieldValue, StoredProfile

WAN = Decimal(10000)

# What each derived tag is computed from: a caller asking for a tag must also read these.
INPUTS = {
    "size_class": ("industry_code", "employees", "revenue_last_year", "total_assets"),
    "small_low_profit": (
        "restricted_industry",
        "taxable_income_annual",
        "employees_quarterly_avg",
        "assets_quarterly_avg",
    ),
    "enterprise_age_years": ("established_on",),
    "subject_type": (),
    "region_path": ("region_code",),
    "industry_path": ("industry_code",),
}


def with_inputs(fields: set[str]) -> set[str]:
    """`fields` plus the observed fields that their derivations read."""
    return fields | {i for f in fields for i in INPUTS.get(f, ())}


def add_derived(profile: StoredProfile, explain: bool = True) -> None:
    """`explain=False` (a match run): values only, 划型 without its reason (see classify_size)."""
    for name, derive in (
        ("subject_type", _subject_type),
        ("size_class", _size_class if explain else partial(_size_class, explain=False)),
        ("small_low_profit", _small_low_profit),
        ("enterprise_age_years", _age),
        ("region_path", _region_path),
        ("industry_path", _industry_path),
    ):
        if name not in profile.fields:
            found = derive(profile)
            if found is not None:
                value, how, inputs = found
                profile.fields[name] = _field_value(profile, name, value, how, inputs)


def _field_value(profile: StoredProfile, name: str, value: Any, how: str, inputs: list[str]) -> FieldValue:
    from mianshen.profiles.current import FieldValue

    dates = [profile.fields[i].as_of for i in inputs if i in profile.fields]
    spec = load_catalogue().fields[name]
    return FieldValue(
        name, spec.label, value, "derived", f"派生：{how}", max(dates, default=profile.as_of), None, derived=True
    )


def _get(profile: StoredProfile, name: str) -> Any:
    item = profile.fields.get(name)
    return None if item is None else item.value


def _subject_type(profile: StoredProfile) -> tuple[Any, str, list[str]] | None:
    kind = check_uscc(profile.uscc).subject_type
    return (kind, "统一社会信用代码第1、2位（GB 32100-2015）", []) if kind else None


def _size_class(profile: StoredProfile, explain: bool = True) -> tuple[Any, str, list[str]] | None:
    industry = _get(profile, "industry_code")
    if industry is None:
        return None
    revenue, assets = _get(profile, "revenue_last_year"), _get(profile, "total_assets")
    result = classify_size(
        industry,
        _get(profile, "employees"),
        None if revenue is None else revenue / WAN,
        None if assets is None else assets / WAN,
        as_of=profile.as_of,
        explain=explain,
    )
    if not result.known:
        return None
    how = f"{result.source}：{result.reason}" if explain else result.source
    return result.size, how, list(INPUTS["size_class"])


def _small_low_profit(profile: StoredProfile) -> tuple[Any, str, list[str]] | None:
    employees, assets = _get(profile, "employees_quarterly_avg"), _get(profile, "assets_quarterly_avg")
    # The catalogue holds the year's averages already; as four equal (季初, 季末) pairs they average to themselves.
    result = check_small_low_profit(
        restricted_industry=_get(profile, "restricted_industry"),
        taxable_income_yuan=_get(profile, "taxable_income_annual"),
        employees=None if employees is None else [(employees, employees)] * 4,
        assets_yuan=None if assets is None else [(assets, assets)] * 4,
        tax_year=profile.as_of.year - 1,
    )
    if result.status == "unknown":
        return None
    return result.status == "yes", result.reason, list(INPUTS["small_low_profit"])


def _age(profile: StoredProfile) -> tuple[Any, str, list[str]] | None:
    established = _get(profile, "established_on")
    if not isinstance(established, dt.date) or established > profile.as_of:
        return None
    years = relativedelta(profile.as_of, established).years
    return years, f"成立日期 {established} 至 {profile.as_of} 满 {years} 年", list(INPUTS["enterprise_age_years"])


def _region_path(profile: StoredProfile) -> tuple[Any, str, list[str]] | None:
    code = _get(profile, "region_code")
    if code is None:
        return None
    names = " / ".join(node.name for node in region_path(code))
    return names, "GB/T 2260 行政区划层级", list(INPUTS["region_path"])


def _industry_path(profile: StoredProfile) -> tuple[Any, str, list[str]] | None:
    code = _get(profile, "industry_code")
    if code is None:
        return None
    names = " / ".join(f"{node.code} {node.name}" for node in industry_path(code))
    return names, "GB/T 4754-2017 行业层级", list(INPUTS["industry_path"])
