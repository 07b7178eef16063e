"""Data quality (数据质量): coverage, staleness and source conflicts per field, and — per policy —
which missing fields leave enterprises "unknown". This is what turns unknown into a data request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from mianshen.catalogue import load_catalogue
from mianshen.profiles.current import StoredProfile, read_population
from mianshen.profiles.sources import list_sources
from mianshen.rules.ast import Condition, Group, Leaf, Policy, spine
from mianshen.rules.formula import references
from mianshen.sqlgen.compile import needed_fields
from mianshen.sqlgen.engines import duckdb_connect
from mianshen.sqlgen.screen import screen, screenable
from mianshen.store.schema import enterprises


@dataclass
class FieldQuality:
    field: str
    label: str
    sources: list[str]
    covered: int = 0
    stale: int = 0
    conflicts: int = 0

    def as_dict(self, total: int) -> dict[str, Any]:
        return {
            "field": self.field,
            "label": self.label,
            "sources": self.sources,
            "covered": self.covered,
            "coverage": round(self.covered / total, 4) if total else None,
            "stale": self.stale,
            "conflicts": self.conflicts,
        }


@dataclass
class PolicyGaps:
    policy: Policy
    unknown: int = 0
    by_field: dict[str, int] = field(default_factory=dict)  # field → enterprises left unknown by it


@dataclass
class QualityReport:
    as_of: dt.date
    enterprises: int
    fields: list[FieldQuality]
    policies: list[PolicyGaps]


def quality_report(conn: Connection, as_of: dt.date, policies: list[Policy]) -> QualityReport:
    """Field statistics from the profiles, and per-policy gaps from a DuckDB screening of them."""
    catalogue = load_catalogue()
    sources = {s.id: s for s in list_sources(conn)}
    total = conn.execute(select(func.count()).select_from(enterprises)).scalar_one()
    stats: dict[str, FieldQuality] = {}
    for source in sources.values():
        for name in source.fields:
            spec = catalogue.fields[name]
            stats.setdefault(name, FieldQuality(name, spec.label, [])).sources.append(
                f"{source.department}·{source.name}"
            )
    chosen = [p for p in screenable(policies) if p.valid_from <= as_of and (p.valid_to is None or as_of <= p.valid_to)]
    wanted = {f for p in chosen for f in needed_fields(p)} | set(stats)
    profiles = {}
    for profile in read_population(conn, as_of, wanted):
        _count_fields(profile, stats, sources, as_of)
        profiles[profile.uscc] = profile
    duck = duckdb_connect()
    summaries = screen(duck, "duckdb", chosen, [p.to_profile() for p in profiles.values()], as_of)
    duck.close()
    gaps = []
    for summary in summaries:
        gap = PolicyGaps(summary.policy)
        inputs = inputs_by_condition(summary.policy)
        for row in summary.rows:
            if row.status != "unknown":
                continue
            gap.unknown += 1
            have = profiles[row.id].fields
            for name in dict.fromkeys(n for cid in row.unknown for n in inputs.get(cid, []) if n not in have):
                gap.by_field[name] = gap.by_field.get(name, 0) + 1
        gaps.append(gap)
    return QualityReport(as_of, total, sorted(stats.values(), key=lambda q: q.covered), gaps)


def _count_fields(
    profile: StoredProfile, stats: dict[str, FieldQuality], sources: dict[str, Any], as_of: dt.date
) -> None:
    for name, item in profile.fields.items():
        if item.derived or name not in stats:
            continue
        quality = stats[name]
        quality.covered += 1
        source = sources.get(item.source_id)
        if source is not None and (as_of - item.as_of).days > source.freshness_days:
            quality.stale += 1
        if item.conflicts:
            quality.conflicts += 1
