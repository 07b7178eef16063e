"""Derived tags computed by SQL for a population equal the Python derivations of one profile
(derive.py): 主体类型, 划型 (every industry row and stage boundary), 小型微利, 企业年龄 and the region
and industry paths, with missing inputs staying unknown and observed values winning."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mianshen.catalogue import load_catalogue
from mianshen.profiles.current import FieldValue, StoredProfile
from mianshen.profiles.derive import INPUTS, add_derived, with_inputs
from mianshen.profiles.snapshot import typed, with_derived
from mianshen.reference.enterprise_size import size_standards
from mianshen.reference.industries import _nodes as industry_nodes
from mianshen.reference.regions import _nodes as region_nodes
from mianshen.reference.uscc import make_uscc
from mianshen.sqlgen.duck import duckdb_connect

DERIVED = sorted(INPUTS)
FIELDS = sorted(with_inputs(set(DERIVED)))
CODES = sorted({n.code for n in industry_nodes().values()})
REGIONS = sorted(region_nodes())[::7]
# every bound of every row of the standard, as 元 or 人, and one either side of it
EDGES = sorted(
    {
        b * (1 if f == "employees" else 10000) + d
        for s in size_standards()
        for r in s.rows
        for bounds in (r.sme_if_any_below, r.medium_min, r.small_min)
        for f, b in bounds.items()
        for d in (-1, 0, 1)
    }
)

numbers = st.one_of(st.none(), st.sampled_from(EDGES), st.integers(0, 10**9).map(Decimal))
firms = st.fixed_dictionaries(
    {
        "uscc": st.builds(
            lambda d, k, r, o: make_uscc(d, k, r, o),
            st.sampled_from("915Y1"),
            st.sampled_from("1239"),
            st.sampled_from(REGIONS),
            st.text("0123456789ABCDEFGH", min_size=8, max_size=8),
        ),
        "industry_code": st.one_of(st.none(), st.sampled_from(CODES)),
        "employees": st.one_of(st.none(), st.sampled_from([e for e in EDGES if e < 10**5]).map(int)),
        "revenue_last_year": numbers,
        "total_assets": numbers,
        "restricted_industry": st.one_of(st.none(), st.booleans()),
        "taxable_income_annual": st.one_of(
            st.none(), st.sampled_from([Decimal(-5), Decimal(3_000_000), Decimal("3000000.01")])
        ),
        "employees_quarterly_avg": st.one_of(
            st.none(), st.sampled_from([Decimal(300), Decimal("300.25"), Decimal(12)])
        ),
        "assets_quarterly_avg": st.one_of(st.none(), st.sampled_from([Decimal(50_000_000), Decimal("50000000.5")])),
        "established_on": st.one_of(st.none(), st.dates(dt.date(1990, 1, 1), dt.date(2026, 12, 31))),
        "region_code": st.one_of(st.none(), st.sampled_from(REGIONS)),
        "size_class": st.one_of(st.none(), st.none(), st.just("中型")),  # observed: wins over the derivation
    }
)


def _python(firm: dict[str, Any], as_of: dt.date) -> dict[str, Any]:
    catalogue = load_catalogue()
    values = {
        k: FieldValue(k, catalogue.fields[k].label, v, "s", "s", as_of, 1)
        for k, v in firm.items()
        if k != "uscc" and v is not None
    }
    profile = StoredProfile(firm["uscc"], None, "valid", as_of, values)
    add_derived(profile, explain=False)
    return {k: profile.fields[k].value for k in DERIVED if k in profile.fields}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    population=st.lists(firms, min_size=1, max_size=25, unique_by=lambda f: f["uscc"]),
    as_of=st.sampled_from([dt.date(2025, 6, 30), dt.date(2024, 2, 29), dt.date(2029, 1, 1)]),
)
def test_sql_derivations_equal_python(population: list[dict[str, Any]], as_of: dt.date) -> None:
    catalogue = load_catalogue()
    duck = duckdb_connect()
    try:
        columns = ", ".join(f"{f} VARCHAR" for f in FIELDS)
        duck.execute(f"CREATE TABLE raw (id VARCHAR, {columns})")
        for firm in population:
            row = [firm["uscc"]] + [None if firm.get(f) is None else _text(firm[f]) for f in FIELDS]
            duck.execute(f"INSERT INTO raw VALUES ({', '.join('?' * len(row))})", row)
        casts = ", ".join(f"{typed(f, catalogue.fields[f].type)} AS {f}" for f in FIELDS)
        duck.execute(f"CREATE TABLE observed AS SELECT id, {casts} FROM raw")
        with_derived(duck, "observed", "profiles", FIELDS, as_of)
        names = ", ".join(DERIVED)
        got = {r[0]: r[1:] for r in duck.execute(f"SELECT id, {names} FROM profiles").fetchall()}
    finally:
        duck.close()
    for firm in population:
        sql = {k: v for k, v in zip(DERIVED, got[firm["uscc"]], strict=True) if v is not None}
        assert sql == _python(firm, as_of), firm


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return format(value, "f") if isinstance(value, Decimal) else str(value)
