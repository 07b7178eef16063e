"""Versions of one policy over time: renewals (政策延续) and which version applies on a day.

A policy renewed for a new period keeps its id; the renewal is a new version whose period starts
after the previous version's ends (2025 稳岗返还 v1 to 2025-12-31, 2026 v2 from 2026-01-01). In a
catalogue folder each version is its own file — `<id>.yaml` for the first, `<id>.v<N>.yaml` for
version N — so the earlier text stays as history, cases of its period keep being decided by it, and
a test dated in that period still sees it. A new version whose period overlaps an earlier one is a
correction and replaces it (matching/publish.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

_VERSIONED = re.compile(r"^(?P<stem>.+)\.v(?P<n>\d+)$")


class Dated(Protocol):
    @property
    def version(self) -> int: ...
    @property
    def valid_from(self) -> dt.date: ...
    @property
    def valid_to(self) -> dt.date | None: ...


D = TypeVar("D", bound=Dated)


def file_order(path: Path) -> tuple[str, str, int]:
    """Sort key for policy files: `x.yaml` before `x.v2.yaml` before `x.v10.yaml` (publishing goes in
    version order; plain name order would put `x.v2.yaml` first)."""
    match = _VERSIONED.match(path.stem)
    stem, number = (match["stem"], int(match["n"])) if match else (path.stem, 0)
    return (str(path.parent), stem, number)


def in_force(item: Dated, day: dt.date) -> bool:
    return item.valid_from <= day and (item.valid_to is None or day <= item.valid_to)


def renews(later: Dated, earlier: Dated) -> bool:
    """`later` continues `earlier` for a new period: it starts after `earlier` has ended."""
    return earlier.valid_to is not None and later.valid_from > earlier.valid_to


def version_on(versions: Iterable[D], day: dt.date) -> D:
    """The version of one policy that applies on `day`: the one in force; else the latest one that had
    started (an expired policy is shown, and screened, by its last text); else the first to come."""
    ordered = sorted(versions, key=lambda v: v.version)
    if not ordered:
        raise ValueError("no versions")
    for v in reversed(ordered):
        if in_force(v, day):
            return v
    started = [v for v in ordered if v.valid_from <= day]
    return started[-1] if started else ordered[0]


class HasId(Dated, Protocol):
    @property
    def id(self) -> str: ...


P = TypeVar("P", bound=HasId)


def one_per_policy(policies: Sequence[P], day: dt.date) -> list[P]:
    """A catalogue with renewals reduced to the version of each policy that applies on `day`."""
    by_id: dict[str, list[P]] = {}
    for p in policies:
        by_id.setdefault(p.id, []).append(p)
    return [version_on(vs, day) for vs in by_id.values()]


def same_period(versions: Iterable[D], version: int) -> list[D]:
    """The versions of one policy that belong to the period of `version`: it and its corrections, not
    the versions a renewal ended or the renewals after it (a budget is a period's budget)."""
    periods: list[list[D]] = []
    for v in sorted(versions, key=lambda v: v.version):
        if periods and not all(renews(v, earlier) for earlier in periods[-1]):
            periods[-1].append(v)
        else:
            periods.append([v])
    return next((p for p in periods if any(v.version == version for v in p)), [])


def expiring(items: Iterable[D], day: dt.date, within_days: int = 30) -> list[D]:
    """Items in force on `day` whose period ends within `within_days` days (到期提醒)."""
    last = day + dt.timedelta(days=within_days)
    return sorted(
        (i for i in items if in_force(i, day) and i.valid_to is not None and i.valid_to <= last),
        key=lambda i: i.valid_to or day,
    )
