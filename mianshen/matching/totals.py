"""Library totals (库内合计) per policy version and status, kept in `match_totals`.

A run's report gives, per policy version, how many pairs of the whole library are eligible,
ineligible and unknown and the eligible amount total — not only the pairs the run evaluated.
Counting them is a scan of every pair (10^7 pairs: about 15 s on SQLite, longer than a 1% re-match
itself), so they are kept instead: a version without totals is counted once in full; after that
each run adds what it wrote (the new status and amount of each written pair, `match_written`) and
takes away what those pairs were before (its `old_status`, `old_amount`). The rows a run writes
are the only ones whose status or amount can move, so the kept totals stay the library's.

Sums are exact: integer cents on SQLite (amounts are stored as two-place text, see
sqlgen.batch._amount_text; SQLite's own SUM of text is floating point) and NUMERIC on PostgreSQL.
An amount in any other shape makes its version be counted again in full, in Python.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Connection, bindparam, select, text

from mianshen.matching.staging import WRITTEN
from mianshen.store.schema import match_totals, matches

STATUSES = ("eligible", "ineligible", "unknown")
Key = tuple[str, int]  # policy id, version
Totals = dict[tuple[str, int, str], tuple[int, Decimal]]  # (id, version, status) → pairs, amount total


def _sums(conn: Connection, column: str) -> tuple[str, str]:
    """(exact sum of `column`, count of amounts in another shape) as SQL for this store."""
    if conn.dialect.name == "postgresql":
        return f"SUM(CAST({column} AS NUMERIC))", "0"
    two_places = f"{column} GLOB '*[0-9].[0-9][0-9]'"
    return (
        f"SUM(CASE WHEN {two_places} THEN CAST(REPLACE({column}, '.', '') AS INTEGER) END)",
        f"SUM(CASE WHEN {column} IS NOT NULL AND NOT {two_places} THEN 1 ELSE 0 END)",
    )


def _amount(conn: Connection, summed: object) -> Decimal:
    if summed is None:
        return Decimal(0)
    return Decimal(str(summed)) if conn.dialect.name == "postgresql" else Decimal(int(str(summed))).scaleb(-2)


def _grouped(conn: Connection, sql: str, ids: list[str]) -> list[tuple[str, int, str, int, object, int]]:
    query = text(sql).bindparams(bindparam("ids", expanding=True))
    return [(str(p), int(v), str(s), int(n), t, int(o or 0)) for p, v, s, n, t, o in conn.execute(query, {"ids": ids})]


def library_totals(conn: Connection, keys: list[Key]) -> Totals:
    """The totals of these versions after this run's writes (call once per run, after write_matches)."""
    if not keys:
        return {}
    ids = sorted({pid for pid, _ in keys})
    wanted = set(keys)
    kept: Totals = {}
    rows = conn.execute(select(match_totals).where(match_totals.c.policy_id.in_(ids))).all()
    for r in rows:
        if (r.policy_id, r.policy_version) in wanted:
            kept[(r.policy_id, r.policy_version, r.status)] = (int(r.pairs), Decimal(r.total))
    known = {(pid, version) for pid, version, _ in kept}
    stale = wanted - known
    if known:  # a first run of every version has nothing kept to move: it is counted below
        stale |= _add_written(conn, kept, ids, known)
    for key in stale:
        for status in STATUSES:
            kept.pop((*key, status), None)
    kept.update(_count(conn, sorted(stale)))
    _store(conn, kept, wanted)
    return kept


def _add_written(conn: Connection, kept: Totals, ids: list[str], known: set[Key]) -> set[Key]:
    """Apply this run's written pairs to the kept totals; returns versions to count in full."""
    new_sum, new_other = _sums(conn, "amount")
    old_sum, old_other = _sums(conn, "old_amount")
    added = _grouped(
        conn,
        f"SELECT policy_id, policy_version, status, COUNT(*), {new_sum}, {new_other} FROM {WRITTEN} "
        "WHERE policy_id IN :ids GROUP BY policy_id, policy_version, status",
        ids,
    )
    removed = _grouped(
        conn,
        f"SELECT policy_id, policy_version, old_status, COUNT(*), {old_sum}, {old_other} FROM {WRITTEN} "
        "WHERE policy_id IN :ids AND old_status IS NOT NULL GROUP BY policy_id, policy_version, old_status",
        ids,
    )
    recount: set[Key] = set()
    for sign, found in ((1, added), (-1, removed)):
        for pid, version, status, n, summed, other in found:
            if (pid, version) not in known:
                continue
            if other:
                recount.add((pid, version))
                continue
            pairs, total = kept.get((pid, version, status), (0, Decimal(0)))
            amount = _amount(conn, summed) if status == "eligible" else Decimal(0)
            kept[(pid, version, status)] = (pairs + sign * n, total + sign * amount)
    return recount


def _count(conn: Connection, keys: list[Key]) -> Totals:
    """Full counts of these versions from the library (zero rows included, so they are kept)."""
    out: Totals = {(*key, status): (0, Decimal(0)) for key in keys for status in STATUSES}
    if not keys:
        return out
    summed, other = _sums(conn, "amount")
    found = _grouped(
        conn,
        f"SELECT policy_id, policy_version, status, COUNT(*), {summed}, {other} FROM matches "
        "WHERE policy_id IN :ids GROUP BY policy_id, policy_version, status",
        sorted({pid for pid, _ in keys}),
    )
    for pid, version, status, n, total, unusual in found:
        if (pid, version, status) not in out:
            continue
        amount = _amount(conn, total) if status == "eligible" else Decimal(0)
        if unusual and status == "eligible":
            amounts = select(matches.c.amount).where(
                matches.c.policy_id == pid, matches.c.policy_version == version, matches.c.status == status
            )
            amount = sum((Decimal(a) for (a,) in conn.execute(amounts) if a is not None), Decimal(0))
        out[(pid, version, status)] = (n, amount)
    return out


def _store(conn: Connection, totals: Totals, keys: set[Key]) -> None:
    by_id: defaultdict[str, list[int]] = defaultdict(list)
    for pid, version in keys:
        by_id[pid].append(version)
    for pid, versions in by_id.items():
        conn.execute(
            match_totals.delete().where(match_totals.c.policy_id == pid, match_totals.c.policy_version.in_(versions))
        )
    rows = [
        {"policy_id": p, "policy_version": v, "status": s, "pairs": n, "total": format(t, "f")}
        for (p, v, s), (n, t) in totals.items()
        if (p, v) in keys
    ]
    if rows:
        conn.execute(match_totals.insert(), rows)
