"""Derived tags and data quality: what a data manager sees, and what turns "unknown" into a data request."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine

from mianshen.profiles.current import read_profile
from mianshen.profiles.imports import import_file
from mianshen.profiles.quality import quality_report
from mianshen.rules.ast import Policy

from .test_profiles_import import DAY, setup_store


def test_derived_tags_say_how_they_were_computed(store: Engine, tmp_path: Path) -> None:
    market, tax = setup_store(store, tmp_path)
    import_file(store, "market", market, DAY)
    import_file(store, "tax", tax, DAY)
    with store.connect() as conn:
        firm = read_profile(conn, "91110108551385082Q", DAY)
        shop = read_profile(conn, "91440101MA5CJQ4N59", DAY)
    size = firm.fields["size_class"]
    # industry C3011 (工业), 15 staff, 1234.56万 revenue: below the 20-staff bound of 小型 → 微型
    assert size.value == "微型" and size.derived and "工信部联企业〔2011〕300号" in size.source
    assert firm.fields["enterprise_age_years"].value == 5
    assert "small_low_profit" not in firm.fields  # no tax averages: unknown, not guessed
    assert (
        shop.fields["subject_type"].value == "个体工商户" and not shop.fields["subject_type"].derived
    )  # observed wins


def test_quality_reports_coverage_staleness_conflicts_and_data_requests(
    store: Engine, tmp_path: Path, shipped_policies: list[Policy]
) -> None:
    market, tax = setup_store(store, tmp_path)
    import_file(store, "market", market, DAY)
    import_file(store, "tax", tax, DAY)
    late = dt.date(2025, 9, 1)  # market data (freshness 30 days) as of 2025-06-30 is stale by then
    with store.connect() as conn:
        report = quality_report(conn, late, shipped_policies)
    fields = {q.field: q for q in report.fields}
    assert report.enterprises == 3
    assert fields["established_on"].covered == 3 and fields["established_on"].stale == 3
    assert fields["revenue_last_year"].covered == 1 and fields["revenue_last_year"].stale == 0  # tax: 400 days
    wengang = next(g for g in report.policies if g.policy.id == "wengang-fanhuan")
    assert wengang.unknown == 3
    assert wengang.by_field["ui_paid_months_last_year"] == 3  # a request to 人社 for all three
    assert "subject_type" not in wengang.by_field  # known for everyone (observed or from the USCC)


def test_population_for_some_fields_still_derives_tags(store: Engine, tmp_path: Path) -> None:
    from mianshen.profiles.current import read_population

    market, tax = setup_store(store, tmp_path)
    import_file(store, "market", market, DAY)
    import_file(store, "tax", tax, DAY)
    with store.connect() as conn:
        (firm,) = [p for p in read_population(conn, DAY, {"size_class"}) if p.uscc == "91110108551385082Q"]
    assert firm.fields["size_class"].value == "微型"  # its inputs were read although only the tag was asked for
