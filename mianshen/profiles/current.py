"""The profile of an enterprise as of a date, derived from its observations, with provenance.

Rule per field: the observation with the latest as-of date on or before the date wins; when two
sources report the same date, the source with the smaller `priority` number wins (the other value
is kept as a conflict, shown to the user); a later batch of the same source replaces an earlier one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from sqlalchemy import Connection, Select, select

from mianshen.catalogue import load_catalogue
from mianshen.errors import InputError
from mianshen.profiles.derive import add_derived, with_inputs
from mianshen.rules.profile import Profile
from mianshen.rules.values import Value, from_text
from mianshen.store.schema import data_sources, enterprises, observations


@dataclass
class FieldValue:
    field: str
    label: str
    value: Value
    source_id: str
    source: str  # department and source name
    as_of: dt.date
    batch_id: int | None
    conflicts: list[tuple[str, str]] = dc_field(default_factory=list)  # (source, value text) disagreeing
    derived: bool = False


@dataclass
class StoredProfile:
    uscc: str
    name: str | None
    uscc_status: str
    as_of: dt.date
    fields: dict[str, FieldValue]

    def values(self) -> dict[str, Any]:
        """Field → value: what a batch engine loads (the evaluator's input without sources and dates)."""
        return {k: v.value for k, v in self.fields.items()}

    def to_profile(self) -> Profile:
        """The evaluator's input: values with their source and as-of date."""
        return Profile(
            self.uscc,
            self.values(),
            {k: v.source for k, v in self.fields.items()},
            {k: v.as_of for k, v in self.fields.items()},
        )

    def as_dict(self) -> dict[str, Any]:
        from mianshen.rules.trace import _json

        return {
            "uscc": self.uscc,
            "name": self.name,
            "uscc_status": self.uscc_status,
            "as_of": self.as_of.isoformat(),
            "fields": {
                k: {
                    "label": v.label,
                    "value": _json(v.value),
                    "source": v.source,
                    "source_id": v.source_id,
                    "as_of": v.as_of.isoformat(),
                    "batch": v.batch_id,
                    "derived": v.derived,
                    "conflicts": [{"source": s, "value": t} for s, t in v.conflicts],
                }
                for k, v in self.fields.items()
            },
        }


def observation_query(as_of: dt.date) -> Select[Any]:
    return (
        select(
            observations.c.uscc,
            observations.c.field,
            observations.c.value,
            observations.c.source_id,
            observations.c.as_of,
            observations.c.batch_id,
            data_sources.c.priority,
            data_sources.c.name,
            data_sources.c.department,
        )
        .join(data_sources, data_sources.c.id == observations.c.source_id)
        .where(observations.c.as_of <= as_of)
    )


def observed(r: Any, spec: Any) -> FieldValue:
    """The field value an observation row (joined with its data source) gives."""
    return FieldValue(
        r.field, spec.label, from_text(r.value, spec.type), r.source_id, f"{r.department}·{r.name}", r.as_of, r.batch_id
    )


def _precedence(r: Any) -> tuple[Any, ...]:
    return (r.field, -r.as_of.toordinal(), r.priority, -r.batch_id)


def choose(rows: Iterable[Any]) -> dict[str, FieldValue]:
    """Apply the rule of this module to one enterprise's observations."""
    catalogue = load_catalogue()
    chosen: dict[str, FieldValue] = {}
    for r in sorted(rows, key=_precedence):
        spec = catalogue.get(r.field)
        if spec is None:
            continue  # a field retired from the catalogue: kept in observations, not in profiles
        current = chosen.get(r.field)
        if current is None:
            chosen[r.field] = observed(r, spec)
        elif (
            r.as_of == current.as_of
            and r.source_id != current.source_id
            and from_text(r.value, spec.type) != current.value
        ):
            current.conflicts.append((f"{r.department}·{r.name}", r.value))
    return chosen


def read_profile(conn: Connection, uscc: str, as_of: dt.date) -> StoredProfile:
    firm = conn.execute(select(enterprises).where(enterprises.c.uscc == uscc.strip().upper())).mappings().first()
    if firm is None:
        raise InputError(f"企业画像库中没有统一社会信用代码为 {uscc} 的企业")
    rows = conn.execute(observation_query(as_of).where(observations.c.uscc == firm["uscc"])).all()
    profile = StoredProfile(firm["uscc"], firm["name"], firm["uscc_status"], as_of, choose(rows))
    add_derived(profile)
    return profile


def read_population(conn: Connection, as_of: dt.date, fields: Iterable[str] | None = None) -> Iterator[StoredProfile]:
    """Every enterprise's profile as of the date, streamed in USCC order (one query)."""
    query = observation_query(as_of)
    if fields is not None:
        query = query.where(observations.c.field.in_(sorted(with_inputs(set(fields)))))
    firms = conn.execute(
        select(enterprises.c.uscc, enterprises.c.name, enterprises.c.uscc_status).order_by(enterprises.c.uscc)
    ).all()
    rows = conn.execute(query.order_by(observations.c.uscc)).all()
    by_firm: dict[str, list[Any]] = {}
    for r in rows:
        by_firm.setdefault(r.uscc, []).append(r)
    for firm in firms:
        profile = StoredProfile(firm.uscc, firm.name, firm.uscc_status, as_of, choose(by_firm.get(firm.uscc, [])))
        add_derived(profile)
        yield profile


def field_values(conn: Connection, usccs: Iterable[str], field: str, as_of: dt.date) -> dict[str, Value]:
    """One field's value for each of a few enterprises (a queue page's regions), by the rule above,
    through the store's (uscc, field, as_of) index; a population is read by snapshot.py instead."""
    wanted = sorted(set(usccs))
    found: dict[str, list[Any]] = {}
    for i in range(0, len(wanted), 500):
        query = observation_query(as_of).where(
            observations.c.field == field, observations.c.uscc.in_(wanted[i : i + 500])
        )
        for r in conn.execute(query):
            found.setdefault(r.uscc, []).append(r)
    out = {}
    for uscc, rows in found.items():
        chosen = choose(rows).get(field)
        if chosen is not None:
            out[uscc] = chosen.value
    return out
