"""Data quality (数据质量): coverage, staleness and source conflicts per field, and — per policy —
which missing fields leave enterprises "unknown". This is what turns unknown into a data request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from mianshen.catalogue import load_catalogue
from mianshen.profiles.gaps import needed
from mianshen.profiles.pivot import batches, observations_sql
from mianshen.profiles.snapshot import PRESENT, build, presence_order
from mianshen.profiles.sources import list_sources
from mianshen.rules.ast import Policy
from mianshen.sqlgen.assemble import assemble
from mianshen.sqlgen.compile import needed_fields
from mianshen.sqlgen.duck import duckdb_connect
from mianshen.sqlgen.engines import results_table
from mianshen.sqlgen.screen import screenable
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
    """Field statistics from the observation mirror, and per-policy gaps from evaluating the profile
    snapshot the way a match run does (DuckDB: the snapshot, the one assembler, the one rule of
    what is missing) — a province in seconds."""
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
    duck = duckdb_connect()
    try:
        snap = build(conn, duck, as_of, {f for p in chosen for f in needed_fields(p)})
        for name, covered, stale, conflicts in _field_counts(duck, snap.last_batch, conn, as_of, sorted(stats)):
            stats[name].covered, stats[name].stale, stats[name].conflicts = covered, stale, conflicts
        gaps = _gaps(duck, chosen, as_of)
    finally:
        duck.close()
    return QualityReport(as_of, total, sorted(stats.values(), key=lambda q: q.covered), gaps)


def _field_counts(duck: Any, top: int, conn: Connection, as_of: dt.date, fields: list[str]) -> list[tuple[Any, ...]]:
    """Per field: enterprises with an observed value, those whose value is older than its source's
    freshness, and those where another source reports a different value for the same date."""
    if not fields:
        return []
    catalogue = load_catalogue()
    numeric = [f for f in fields if catalogue.fields[f].type.numeric]
    norm = "CASE WHEN {c}.field IN ({n}) THEN CAST(CAST({c}.value AS DECIMAL(38, 10)) AS VARCHAR) ELSE {c}.value END"
    numbers = ", ".join(f"'{f}'" for f in numeric) or "NULL"
    found = batches(conn, duck, top)
    return duck.execute(
        f"WITH o AS ({observations_sql(found, fields, as_of)}), "
        "w AS (SELECT uscc, field, arg_max({'day': as_of, 'source': source_id, 'value': value, 'fresh': freshness}, "
        "{'day': as_of, 'rank': -priority, 'batch': batch}) AS win FROM o GROUP BY uscc, field), "
        f"c AS (SELECT DISTINCT w.uscc, w.field FROM w JOIN o ON o.uscc = w.uscc AND o.field = w.field "
        f"AND o.as_of = w.win.day AND o.source_id <> w.win.source AND ({norm.format(c='o', n=numbers)}) <> "
        f"(CASE WHEN w.field IN ({numbers}) THEN CAST(CAST(w.win.value AS DECIMAL(38, 10)) AS VARCHAR) ELSE w.win.value END)) "
        f"SELECT w.field, count(*), count(*) FILTER (WHERE DATE '{as_of.isoformat()}' - w.win.day > w.win.fresh), "
        "count(c.uscc) FROM w LEFT JOIN c USING (uscc, field) GROUP BY w.field"
    ).fetchall()


def _gaps(duck: Any, chosen: list[Policy], as_of: dt.date) -> list[PolicyGaps]:
    """Per policy: enterprises unknown, and per missing field how many wait on it (requests.py's rule)."""
    if not chosen:
        return []
    assembly = assemble(chosen, as_of, "duckdb", "profiles", carry=(PRESENT,))
    results_table(duck, assembly, "quality_results", carry=(PRESENT,), unknown=True)
    slots = {s.column: s for s in assembly.slots}
    counts = needed(
        duck,
        "SELECT * FROM quality_results",
        chosen,
        [slots[k].conditions for k in range(len(chosen))],
        presence_order(),
        table=False,
    )
    gaps = []
    for k, policy in enumerate(chosen):
        gap = PolicyGaps(policy)
        gap.unknown = int(duck.execute(f"SELECT count(*) FROM quality_results WHERE s_{k} = 2").fetchone()[0])
        gap.by_field = {f: n for (f, pid), n in counts.items() if pid == policy.id}
        gaps.append(gap)
    return gaps
