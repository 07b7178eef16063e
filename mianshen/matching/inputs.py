"""The matcher's inputs: profiles of a set of enterprises, limited to the fields policies read.

`profiles.current.read_population` assembles every enterprise with every derivation; a match run
needs only the fields of the active policies and, when incremental, only the enterprises whose data
changed. The same precedence rule (`choose`) and derivations (`add_derived`) apply, so a profile
read here has the values `mianshen profile show` prints for the fields it contains (划型 without
its reason sentence: a run stores values, and the sentences cost more than the rest of the read).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, select

from mianshen.catalogue import load_catalogue
from mianshen.profiles.current import FieldValue, StoredProfile, observation_query, observed
from mianshen.profiles.derive import INPUTS, add_derived, with_inputs
from mianshen.store.schema import data_sources, enterprises, import_batches, observations

CHUNK = 500  # USCCs per IN (…) list: well under SQLite's bound-parameter limit
_SKIP = FieldValue("", "", "", "skip", "", dt.date.min, None)  # marks a derivation nobody reads


def read_profiles(
    conn: Connection, as_of: dt.date, fields: set[str], usccs: Iterable[str] | None = None
) -> dict[str, StoredProfile]:
    """Profiles as of `as_of` holding `fields` (and what their derivations read), by USCC.

    `usccs=None` reads every enterprise in one scan; otherwise the enterprises are read in chunks.
    """
    wanted = sorted(with_inputs(fields))
    if usccs is None:
        return _assemble(conn, as_of, fields, wanted, None)
    todo = sorted(set(usccs))
    out: dict[str, StoredProfile] = {}
    for i in range(0, len(todo), CHUNK):
        out.update(_assemble(conn, as_of, fields, wanted, todo[i : i + CHUNK]))
    return out


def _winners(as_of: dt.date, wanted: list[str], usccs: list[str] | None) -> Any:
    """One row per (enterprise, field): the observation the precedence rule of profiles/current.py
    picks, chosen by the database (a window function) instead of sorting in Python. Conflicts are
    not needed to match, only to show a profile, so they are not collected here."""
    ranked = observation_query(as_of).where(observations.c.field.in_(wanted))
    if usccs is not None:
        ranked = ranked.where(observations.c.uscc.in_(usccs))
    order = (observations.c.as_of.desc(), data_sources.c.priority, observations.c.batch_id.desc())
    rank = func.row_number().over(partition_by=(observations.c.uscc, observations.c.field), order_by=order)
    inner = ranked.add_columns(rank.label("rank")).subquery()
    return select(inner).where(inner.c.rank == 1)


def _assemble(
    conn: Connection, as_of: dt.date, fields: set[str], wanted: list[str], usccs: list[str] | None
) -> dict[str, StoredProfile]:
    firms = select(enterprises.c.uscc, enterprises.c.name, enterprises.c.uscc_status)
    if usccs is not None:
        firms = firms.where(enterprises.c.uscc.in_(usccs))
    catalogue = load_catalogue()
    by_firm: dict[str, dict[str, FieldValue]] = {}
    for r in conn.execute(_winners(as_of, wanted, usccs)):
        spec = catalogue.get(r.field)
        if spec is None:
            continue  # a field retired from the catalogue: kept in observations, not in profiles
        by_firm.setdefault(r.uscc, {})[r.field] = observed(r, spec)
    # Derivations no policy reads are the slow part of reading 100k profiles (划型, 小型微利 reasons):
    # `add_derived` leaves a field alone when present, so a placeholder skips it and is then dropped.
    skip = [name for name in INPUTS if name not in fields]
    out = {}
    for firm in conn.execute(firms):
        profile = StoredProfile(firm.uscc, firm.name, firm.uscc_status, as_of, by_firm.get(firm.uscc, {}))
        for name in skip:
            profile.fields.setdefault(name, _SKIP)
        add_derived(profile, explain=False)  # a run stores values; `profile show` explains them
        profile.fields = {k: v for k, v in profile.fields.items() if v is not _SKIP}
        out[firm.uscc] = profile
    return out


def changed_enterprises(conn: Connection, after_batch: int) -> set[str]:
    """Enterprises with an observation (or a first appearance) in a batch newer than `after_batch`."""
    seen = conn.execute(select(observations.c.uscc).where(observations.c.batch_id > after_batch).distinct())
    new = conn.execute(select(enterprises.c.uscc).where(enterprises.c.first_batch_id > after_batch))
    return {r[0] for r in seen} | {r[0] for r in new}


def last_batch(conn: Connection) -> int:
    found = conn.execute(select(import_batches.c.id).order_by(import_batches.c.id.desc()).limit(1)).scalar()
    return int(found or 0)
