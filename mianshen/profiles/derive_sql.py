"""Derived tags (派生标签) in SQL for a whole population, from the same definitions as derive.py.

What depends on a reference table or a date rule is computed by the Python functions themselves
once per distinct input value (a province has a few hundred industry and region codes and a few
thousand founding dates) into small lookup tables; what is a comparison per enterprise — 划型 by
its row's bounds, 小型微利 — is SQL over the same bounds the Python rules read. An observed value
always wins over a derived one; a derivation with missing inputs stays NULL (unknown), as in
Python. tests/test_derive_sql.py checks the two agree on random populations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta

from mianshen.errors import InputError
from mianshen.reference import small_low_profit as slp
from mianshen.reference.enterprise_size import FIELDS as SIZE_FIELDS
from mianshen.reference.enterprise_size import row_for_industry, standard_for
from mianshen.reference.industries import industry_path, lookup_industry
from mianshen.reference.regions import region_path
from mianshen.reference.uscc import CHARSET, SUBJECT_TYPES

_STAGES = (("sme", "大型"), ("medium", "中型"), ("small", "小型"))
_VALUES = {"employees": "employees", "revenue": "revenue_last_year", "assets": "total_assets"}
_WAN = Decimal(10000)  # the standard's 营业收入 and 资产总额 are in 万元, the catalogue's in 元


def derived_sql(duck: Any, table: str, names: list[str], as_of: dt.date) -> dict[str, str]:
    """SQL per derived field in `names`, over the columns of `table` (aliased `p`), after creating
    the lookup tables it joins (`joins()` gives the JOIN clauses)."""
    makers: dict[str, Callable[[Any, str, dt.date], str]] = {
        "subject_type": _subject_type,
        "size_class": _size_class,
        "small_low_profit": _small_low_profit,
        "enterprise_age_years": _age,
        "region_path": _region_path,
        "industry_path": _industry_path,
    }
    return {name: makers[name](duck, table, as_of) for name in names if name in makers}


JOINS = {
    "size_class": "LEFT JOIN ref_size AS rs ON rs.code = p.industry_code",
    "enterprise_age_years": "LEFT JOIN ref_age AS ra ON ra.established = p.established_on",
    "region_path": "LEFT JOIN ref_region AS rr ON rr.code = p.region_code",
    "industry_path": "LEFT JOIN ref_industry AS ri ON ri.code = p.industry_code",
}


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, Decimal):
        return f"CAST('{format(value, 'f')}' AS DECIMAL(38, 10))"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _lookup(duck: Any, name: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    """A small reference table (rows rendered as literals: at most a few thousand)."""
    duck.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({columns})")
    for i in range(0, len(rows), 500):
        values = ", ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows[i : i + 500])
        duck.execute(f"INSERT INTO {name} VALUES {values}")


def _distinct(duck: Any, table: str, column: str) -> list[Any]:
    return [r[0] for r in duck.execute(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL").fetchall()]


def _subject_type(duck: Any, table: str, as_of: dt.date) -> str:
    """check_uscc: 18 characters of the code's alphabet, then its first two characters."""
    letters = "".join(sorted(CHARSET))
    pairs = " ".join(f"WHEN '{a}{b}' THEN '{kind}'" for (a, b), kind in sorted(SUBJECT_TYPES.items()))
    code = "upper(trim(p.id))"
    valid = f"length({code}) = 18 AND length(trim({code}, '{letters}')) = 0"
    return f"CASE WHEN {valid} THEN CASE substr({code}, 1, 2) {pairs} END END"


def _size_class(duck: Any, table: str, as_of: dt.date) -> str:
    """classify_size: the row of the standard in force (one per industry code), its bounds in 元."""
    standard = standard_for(as_of)
    rows: list[tuple[Any, ...]] = []
    for code in _distinct(duck, table, "industry_code") if standard is not None else []:
        try:
            row, _, _ = row_for_industry(standard, lookup_industry(code).code)  # type: ignore[arg-type]
        except InputError:
            continue  # not an industry code: no row, no size (Python refuses the code)
        if row is None:
            continue  # not applicable, or too coarse to choose a row: unknown
        bounds = (row.sme_if_any_below, row.medium_min, row.small_min)
        scaled = [_scale(b.get(f), f) for b in bounds for f in SIZE_FIELDS]
        rows.append((code, *scaled))
    bound_columns = ", ".join(f"{stage}_{f} DECIMAL(38, 10)" for stage, _ in _STAGES for f in SIZE_FIELDS)
    _lookup(duck, "ref_size", f"code VARCHAR, {bound_columns}", rows)
    # SQL's three-valued AND is enterprise_size._met: a known value below a bound makes the stage
    # FALSE even when another input is NULL; a NULL stage means a missing value could change the size
    cases = []
    for stage, size in _STAGES:
        met = " AND ".join(f"(rs.{stage}_{f} IS NULL OR p.{_VALUES[f]} >= rs.{stage}_{f})" for f in SIZE_FIELDS)
        cases.append(f"WHEN {met} THEN '{size}' WHEN ({met}) IS NULL THEN NULL")
    return f"CASE WHEN rs.code IS NULL THEN NULL {' '.join(cases)} ELSE '微型' END"


def _scale(bound: Decimal | None, field: str) -> Decimal | None:
    if bound is None:
        return None
    return bound if field == "employees" else bound * _WAN


def _small_low_profit(duck: Any, table: str, as_of: dt.date) -> str:
    """check_small_low_profit with the year's averages: any failed test → false, else any unknown →
    NULL, else true; outside the announcement's tax years, NULL."""
    if as_of.year - 1 not in slp.VALID_YEARS:
        return "CAST(NULL AS BOOLEAN)"
    fails = (
        "p.restricted_industry = TRUE",
        f"p.taxable_income_annual > {_literal(slp.INCOME_LIMIT)}",
        f"p.employees_quarterly_avg > {_literal(slp.EMPLOYEE_LIMIT)}",
        f"p.assets_quarterly_avg > {_literal(slp.ASSET_LIMIT)}",
    )
    inputs = ("restricted_industry", "taxable_income_annual", "employees_quarterly_avg", "assets_quarterly_avg")
    unknown = " OR ".join(f"p.{n} IS NULL" for n in inputs)
    return f"CASE WHEN {' OR '.join(fails)} THEN FALSE WHEN {unknown} THEN NULL ELSE TRUE END"


def _age(duck: Any, table: str, as_of: dt.date) -> str:
    """Whole years from founding to the date (relativedelta), none for a date after it."""
    rows = [(d, relativedelta(as_of, d).years) for d in _distinct(duck, table, "established_on") if d <= as_of]
    _lookup(duck, "ref_age", "established DATE, years BIGINT", rows)
    return "ra.years"


def _paths(duck: Any, table: str, column: str, name: str, path: Callable[[str], str]) -> None:
    rows = []
    for code in _distinct(duck, table, column):
        try:
            rows.append((code, path(code)))
        except InputError:
            continue  # a code the standard does not know has no path
    _lookup(duck, name, "code VARCHAR, path VARCHAR", rows)


def _region_path(duck: Any, table: str, as_of: dt.date) -> str:
    _paths(duck, table, "region_code", "ref_region", lambda c: " / ".join(n.name for n in region_path(c)))
    return "rr.path"


def _industry_path(duck: Any, table: str, as_of: dt.date) -> str:
    _paths(
        duck,
        table,
        "industry_code",
        "ref_industry",
        lambda c: " / ".join(f"{n.code} {n.name}" for n in industry_path(c)),
    )
    return "ri.path"
