"""The profile of an enterprise as of a date, derived from its observations, with provenance.

Rule per field: the observation with the latest as-of date on or before the date wins; when two
sources report the same date, the source with the smaller `priority` number wins (the other value
is kept as a conflict, shown to the user); a later batch of the same source replaces an earlier one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, select

from mianshen.catalogue import load_catalogue
from mianshen.errors import InputError
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
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # (source, value text) disagreeing
    derived: bool = False


@dataclass
class StoredProfile:
    uscc: str
    name: str | None
    uscc_status: str
    as_of: dt.date
    fields: dict[str, FieldValue]

    def to_profile(self) -> Profile:
        """The evaluator's input: values with their source and as-of date."""
        return Profile(
            self.uscc,
            {k: v.value for k, v in self.fields.items()},
            {k: v.source for k, v in self.fields.items()},
            {k: v.as_of for k, v in self.fields.items()},
        )

    def as_dict(self) -> dict[str, Any]:
        from mianshen.rules.trace import _json

        return {
            "uscc": self.uscc, "name": self.name, "uscc_status": self.uscc_status, "as_of": self.as_of.isoformat(),
            "fields": {
                k: {"label": v.label, "value": _json(v.value), "source": v.source, "source_id": v.source_id,
                    "as_of": v.as_of.isoformat(), "batch": v.batch_id, "derived": v.derived,
                    "conflicts": [{"source": s, "value": t} for s, t in v.conflicts]}
                for k, v in self.fields.items()
            },
        }


def read_profile(conn: Connection, uscc: str, as_of: dt.date) -> StoredProfile:
    firm = conn.execute(select(enterprises).where(enterprises.c.uscc == uscc.strip().upper())).mappings().first()
    if firm is None:
        raise InputError(f"企业画像库中没有统一社会信用代码为 {uscc} 的企业")
    query = (
        select(observations.c.field, observations.c.value, observations.c.source_id, observations.c.as_of,
               observations.c.batch_id, data_sources.c.priority, data_sources.c.name, data_sources.c.department)
        .join(data_sources, data_sources.c.id == observations.c.source_id)
        .where(and_(observations.c.uscc == firm["uscc"], observations.c.as_of <= as_of))
    )
    rows = sorted(conn.execute(query).all(), key=lambda r: (r.field, -r.as_of.toordinal(), r.priority, -r.batch_id))
    catalogue = load_catalogue()
    chosen: dict[str, FieldValue] = {}
    for r in rows:
        spec = catalogue.get(r.field)
        if spec is None:
            continue  # a field retired from the catalogue: kept in observations, not in profiles
        current = chosen.get(r.field)
        if current is None:
            chosen[r.field] = FieldValue(r.field, spec.label, from_text(r.value, spec.type), r.source_id,
                                         f"{r.department}·{r.name}", r.as_of, r.batch_id)
        elif r.as_of == current.as_of and r.source_id != current.source_id:
            if from_text(r.value, spec.type) != current.value:
                current.conflicts.append((f"{r.department}·{r.name}", r.value))
    profile = StoredProfile(firm["uscc"], firm["name"], firm["uscc_status"], as_of, chosen)
    from mianshen.profiles.derive import add_derived

    add_derived(profile)
    return profile
