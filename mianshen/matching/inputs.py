"""The matcher's inputs: profiles of a set of enterprises, limited to the fields policies read.

`profiles.current.read_population` assembles every enterprise with every derivation; a match run
needs only the fields of the active policies and, when incremental, only the enterprises whose data
changed. The same precedence rule (`choose`) and derivations (`add_derived`) apply, so a profile
read here has the values `mianshen profile show` prints for the fields it contains (划型 without
its reason sentence: a run stores values, and the sentences cost more than the rest of the read).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, func, select

from mianshen.catalogue import load_catalogue
from mianshen.profiles.current import FieldValue, StoredProfile, observation_query, observed
from mianshen.profiles.derive import INPUTS, add_derived, with_inputs
from mianshen.store.schema import data_sources, enterprises, import_batches, observations

CHUNK = 500  # USCCs per IN (…) list: well under SQLite's bound-parameter limit
_STREAM = 20_000  # rows fetched at a time (a server-side cursor on PostgreSQL)
_SKIP = FieldValue("", "", "", "skip", "", dt.date.min, None)  # marks a derivation nobody reads


def read_profiles(
    conn: Connection, as_of: dt.date, fields: set[str], usccs: Iterable[str] | None = None
) -> dict[str, StoredProfile]:
    """Profiles as of `as_of` holding `fields` (and what their derivations read), by USCC."""
    return {p.uscc: p for p in stream_profiles(conn, as_of, fields, usccs)}


def stream_profiles(
    conn: Connection, as_of: dt.date, fields: set[str], usccs: Iterable[str] | None = None
) -> Iterator[StoredProfile]:
    """The same profiles one enterprise at a time, in USCC order: a province's run keeps one
    profile in memory, not ten million (0.9 GB per 100,000 when they were all held).

    `usccs=None` reads every enterprise in one scan; otherwise the enterprises are read in chunks.
    """
    wanted = sorted(with_inputs(fields))
    if usccs is None:
        yield from _assemble(conn, as_of, fields, wanted, None)
        return
    todo = sorted(set(usccs))
    for i in range(0, len(todo), CHUNK):
        yield from _assemble(conn, as_of, fields, wanted, todo[i : i + CHUNK])


class ProfileFeed:
    """A run's profiles, read once as the engine loads them. What each enterprise has is kept for
    its data requests — as one shared set per distinct combination of present fields (a province
    has a few hundred), so the memory a run keeps per enterprise is one dictionary entry."""

    def __init__(self, profiles: Iterable[StoredProfile]) -> None:
        self._profiles = iter(profiles)
        self.present: dict[str, frozenset[str]] = {}
        self._shapes: dict[frozenset[str], frozenset[str]] = {}

    def rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(USCC, evaluator values) of each profile not yet read."""
        for profile in self._profiles:
            have = frozenset(profile.fields)
            self.present[profile.uscc] = self._shapes.setdefault(have, have)
            yield profile.uscc, profile.values()

    def finish(self) -> int:
        """Read what the engine did not (no policy to evaluate); returns how many were read."""
        for _ in self.rows():
            pass
        return len(self.present)


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
    return select(inner).where(inner.c.rank == 1).subquery()


def _rows(as_of: dt.date, wanted: list[str], usccs: list[str] | None) -> Any:
    """Every enterprise with its winning observations (none: one row of NULLs), grouped by USCC.

    One ordered join, so Python groups consecutive rows by equality and never compares USCCs
    itself (a database's collation need not sort them as Python would)."""
    won = _winners(as_of, wanted, usccs)
    query = (
        select(
            enterprises.c.uscc.label("firm"),
            enterprises.c.name.label("firm_name"),
            enterprises.c.uscc_status,
            *won.c,
        )
        .select_from(enterprises.outerjoin(won, won.c.uscc == enterprises.c.uscc))
        .order_by(enterprises.c.uscc)
    )
    if usccs is not None:
        query = query.where(enterprises.c.uscc.in_(usccs))
    return query.execution_options(stream_results=True, yield_per=_STREAM)


def _assemble(
    conn: Connection, as_of: dt.date, fields: set[str], wanted: list[str], usccs: list[str] | None
) -> Iterator[StoredProfile]:
    catalogue = load_catalogue()
    # Derivations no policy reads are the slow part of reading 100k profiles (划型, 小型微利 reasons):
    # `add_derived` leaves a field alone when present, so a placeholder skips it and is then dropped.
    skip = [name for name in INPUTS if name not in fields]
    for uscc, group in groupby(conn.execute(_rows(as_of, wanted, usccs)), key=lambda r: r.firm):
        values: dict[str, FieldValue] = {}
        for r in group:
            spec = None if r.field is None else catalogue.get(r.field)
            if spec is not None:  # None: no observation, or a field retired from the catalogue
                values[r.field] = observed(r, spec)
        profile = StoredProfile(uscc, r.firm_name, r.uscc_status, as_of, values)
        for name in skip:
            profile.fields.setdefault(name, _SKIP)
        add_derived(profile, explain=False)  # a run stores values; `profile show` explains them
        profile.fields = {k: v for k, v in profile.fields.items() if v is not _SKIP}
        yield profile


def changed_enterprises(conn: Connection, after_batch: int) -> set[str]:
    """Enterprises with an observation (or a first appearance) in a batch newer than `after_batch`."""
    seen = conn.execute(select(observations.c.uscc).where(observations.c.batch_id > after_batch).distinct())
    new = conn.execute(select(enterprises.c.uscc).where(enterprises.c.first_batch_id > after_batch))
    return {r[0] for r in seen} | {r[0] for r in new}


def last_batch(conn: Connection) -> int:
    found = conn.execute(select(import_batches.c.id).order_by(import_batches.c.id.desc()).limit(1)).scalar()
    return int(found or 0)
