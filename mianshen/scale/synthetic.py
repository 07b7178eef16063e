"""Synthetic profiles (合成画像) for scale tests and benchmarks, drawn from a seeded RNG.

Reading a million profiles through the store (import, then `read_profiles` in Python) takes tens of
minutes; the matcher's speed does not depend on where the values came from. So the base of each
profile (subject, region, industry, size, founding date, tags, USCC) comes from the demo population
generator, and the fields that only department files supply (unemployment insurance, loans, tax,
production) are drawn here with the shapes the shipped policies test. Values are kept inside the
platform's exact-decimal bounds (below 10^15) and deliberately include what arithmetic gets wrong:
missing values, zero divisors, fractions like 1/3 and large loan amounts.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from mianshen.profiles.demo_population import Entity, generate, halted_early_year, legal_person, workforce

_CENT = Decimal("0.01")
_MISSING = 0.05  # share of each department-supplied field left unknown


def _money(value: float) -> Decimal:
    return Decimal(repr(round(value, 2))).quantize(_CENT)


def _maybe(rng: random.Random, value: Any, missing: float = _MISSING) -> Any:
    return None if rng.random() < missing else value


def _insurance(rng: random.Random, e: Entity, out: dict[str, Any]) -> None:
    """失业保险: only insured employers have these records (others are unknown, as in the store)."""
    if not e.insured:
        return
    insured = max(1, int(e.employees * rng.uniform(0.5, 1.0)))
    # an average of 0 (a new employer) makes the layoff rate a division by zero: unknown, not an error
    average = Decimal(0) if rng.random() < 0.01 else Decimal(insured) + Decimal(rng.randrange(12)) / 12
    out["insured_avg_last_year"] = _maybe(rng, average.quantize(Decimal("0.0001")))
    out["ui_new_claimants_last_year"] = _maybe(rng, rng.choice([0, 0, 0, 1, 1, 2, 3, rng.randrange(50)]))
    out["ui_paid_months_last_year"] = _maybe(rng, 12 if rng.random() < 0.85 else rng.randrange(13))
    out["ui_arrears"] = _maybe(rng, rng.random() < 0.03)
    out["ui_premium_paid_last_year"] = _maybe(rng, _money(insured * rng.uniform(300, 900)))
    out["labor_dispatch_unit"] = _maybe(rng, rng.random() < 0.02)
    out["qualified_youth_hires"] = _maybe(rng, rng.choice([0, 0, 1, 1, 2, 3, rng.randrange(40)]), 0.3)
    out |= workforce(e, out["ui_new_claimants_last_year"] or 0)  # from the index: the RNG stream is unchanged


def _loan(rng: random.Random, out: dict[str, Any]) -> None:
    """首贷: a few entities took a first loan in 2022–2023; some loans are very large."""
    if rng.random() >= 0.08:
        return
    out["first_loan_date"] = _maybe(rng, dt.date(2022, 1, 1) + dt.timedelta(days=rng.randrange(730)))
    amount = rng.choice([rng.uniform(1e4, 5e6), rng.uniform(1e7, 9.99e8)]) if rng.random() < 0.9 else 1e12 / 3
    out["first_loan_amount"] = _maybe(rng, _money(amount))
    out["first_loan_term_months"] = _maybe(rng, rng.choice([1, 3, 5, 6, 7, 12, 24, 36]))
    out["first_loan_annual_rate"] = _maybe(rng, Decimal(rng.randrange(200, 800)) / 10000)


def _production(rng: random.Random, e: Entity, out: dict[str, Any]) -> None:
    """满负荷生产 (industrial firms) and 小微 tax figures (enterprises)."""
    if e.industry[0] in "BCD":
        out["full_capacity_by_deadline"] = _maybe(rng, rng.random() < 0.4, 0.2)
        out["full_capacity_whole_q1"] = _maybe(rng, rng.random() < 0.3, 0.2)
        out["main_revenue_growth_q1"] = _maybe(rng, Decimal(rng.randrange(-3000, 5000)) / 10000, 0.2)
        out["production_halted_early_year"] = halted_early_year(e)
    if e.subject == "企业":
        out["taxable_income_annual"] = _maybe(rng, _money(rng.uniform(-2e5, 2e6) * rng.choice([1, 1, 3])), 0.3)
        out["employees_quarterly_avg"] = _maybe(rng, (Decimal(e.employees) + Decimal(rng.randrange(4)) / 4))
        out["assets_quarterly_avg"] = _maybe(rng, _money(e.assets * 10000 * rng.uniform(0.8, 1.1)))
        out["restricted_industry"] = _maybe(rng, rng.random() < 0.05)


def _tags(rng: random.Random, e: Entity) -> frozenset[str]:
    """The demo's tags; more 规上工业企业 among industrial enterprises, so that small populations
    also reach the policies reserved for them."""
    tags = set(e.tags)
    if e.subject == "企业" and e.industry[0] in "BCD" and rng.random() < 0.25:
        tags.add("规上工业企业")
    return frozenset(tags)


def profile_values(rng: random.Random, e: Entity) -> dict[str, Any]:
    """A profile's typed values (None = unknown) for one demo entity."""
    out: dict[str, Any] = {
        "subject_type": e.subject,
        "registration_status": e.status,
        "region_code": e.region,
        "industry_code": e.industry,
        "established_on": e.established,
        "size_class": _maybe(rng, e.size),
        "employees": _maybe(rng, e.employees),
        "revenue_last_year": _maybe(rng, _money(e.revenue * 10000)),
        "total_assets": _maybe(rng, _money(e.assets * 10000)),
        "enterprise_tags": _tags(rng, e),
        "serious_dishonesty": _maybe(rng, rng.random() < 0.01),
        "zombie_enterprise": _maybe(rng, rng.random() < 0.01),
        "operating_normally": _maybe(rng, e.status == "存续" and rng.random() < 0.97),
        "founder_first_business": _maybe(rng, rng.random() < 0.4, 0.5),
        "independent_legal_person": legal_person(e),
    }
    _insurance(rng, e, out)
    _loan(rng, out)
    _production(rng, e, out)
    return out


def synthetic_profiles(n: int, seed: int = 1, as_of: dt.date = dt.date(2025, 6, 30)) -> Iterator[tuple[str, dict]]:
    """`n` (USCC, values) pairs, the same for the same seed; streamed, never all in memory."""
    rng = random.Random(seed)
    values_rng = random.Random(seed * 7919 + 1)  # separate stream: the base population stays the demo's
    for entity in generate(n, rng, as_of, {}):
        yield entity.uscc, profile_values(values_rng, entity)
