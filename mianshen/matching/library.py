"""Writing a run's results into 匹配库 as set operations in the store: matches and changes.

A match row is rewritten only when its result or its input hash differs, so `run_id` and
`updated_at` name the run that last changed what we know about the pair — an untouched row keeps
them. Every status or amount difference (and every new pair) becomes a `match_changes` row.

The comparison is one join of `match_new` (this run's rows, staging.py) with `matches`; what
differs is kept in `match_written`, and only those rows are written or looked at again by
Python (cases, data requests). A run that changes nothing writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Date, bindparam, text

from mianshen.matching.staging import DIFF, MASKS, NEW, PERIODS, WRITTEN, temporary_table
from mianshen.sqlgen.batch import decode
from mianshen.store.schema import matches

_CHANGED = "(old_status IS NULL OR old_status <> status OR COALESCE(old_amount, '') <> COALESCE(amount, ''))"
_CONTENT = ("status", "amount", "failed", "unknown", "input_hash")


@dataclass
class Written:
    evaluated: Counter[str] = field(default_factory=Counter)  # policy id → pairs evaluated
    changed: Counter[str] = field(default_factory=Counter)  # status or amount changed (or new pair)
    new_eligible: Counter[str] = field(default_factory=Counter)
    lost: list[dict[str, Any]] = field(default_factory=list)  # was eligible, is no longer


def _typed(sql: str, **values: Any) -> Any:
    statement = text(sql)
    binds = []
    if "as_of" in values:
        binds.append(bindparam("as_of", type_=Date()))
    if "now" in values:
        binds.append(bindparam("now", type_=matches.c.updated_at.type))
    return statement.bindparams(*binds, **values) if binds else statement.bindparams(**values)


def write_matches(conn: Connection, run_id: int, as_of: dt.date, conditions: Mapping[str, Sequence[str]]) -> Written:
    """Compare `match_new` with the library, record changes, update and insert what differs.

    Failed and unknown conditions are not compared: for one policy version and date they follow
    from the inputs, which the hash covers. Their masks are decoded to condition ids only for the
    written rows, through a small table of the distinct masks (`conditions`: policy id → ids).
    """
    conn.execute(
        _typed(
            f"CREATE TEMPORARY TABLE {DIFF} AS "
            f"SELECT n.*, m.status AS old_status, m.amount AS old_amount FROM {NEW} n "
            "LEFT JOIN matches m ON m.policy_id = n.policy_id AND m.policy_version = n.policy_version "
            "AND m.uscc = n.uscc "
            "WHERE m.uscc IS NULL OR m.status <> n.status OR m.input_hash <> n.input_hash "
            "OR COALESCE(m.amount, '') <> COALESCE(n.amount, '') OR m.profile_as_of <> :as_of",
            as_of=as_of,
        )
    )
    _decode_masks(conn, conditions)
    out = Written()
    for pid, n in conn.execute(text(f"SELECT policy_id, COUNT(*) FROM {NEW} GROUP BY policy_id")):
        out.evaluated[pid] = int(n)
    tallies = conn.execute(
        text(
            "SELECT policy_id, COUNT(*), SUM(CASE WHEN status = 'eligible' AND COALESCE(old_status, '') <> 'eligible' "
            f"THEN 1 ELSE 0 END) FROM {WRITTEN} WHERE {_CHANGED} GROUP BY policy_id"
        )
    )
    for pid, n, eligible in tallies:
        out.changed[pid], out.new_eligible[pid] = int(n), int(eligible or 0)
    out.lost = [
        dict(r._mapping)
        for r in conn.execute(
            text(
                f"SELECT policy_id, uscc, old_status, status AS new_status, old_amount, amount AS new_amount "
                f"FROM {WRITTEN} WHERE old_status = 'eligible' AND status <> 'eligible' ORDER BY policy_id, uscc"
            )
        )
    ]
    conn.execute(
        text(
            "INSERT INTO match_changes (run_id, policy_id, uscc, old_status, new_status, old_amount, new_amount) "
            f"SELECT :run, policy_id, uscc, old_status, status, old_amount, amount FROM {WRITTEN} WHERE {_CHANGED} "
            "ORDER BY policy_id, uscc"
        ).bindparams(run=run_id)
    )
    stamp = {"as_of": as_of, "run": run_id, "now": dt.datetime.now(dt.UTC)}
    sets = ", ".join(f"{c} = w.{c}" for c in _CONTENT)
    conn.execute(
        _typed(
            f"UPDATE matches SET {sets}, profile_as_of = :as_of, run_id = :run, updated_at = :now FROM {WRITTEN} w "
            "WHERE matches.policy_id = w.policy_id AND matches.policy_version = w.policy_version "
            "AND matches.uscc = w.uscc AND w.old_status IS NOT NULL",
            **stamp,
        )
    )
    columns = "policy_id, policy_version, uscc, " + ", ".join(_CONTENT)
    conn.execute(
        _typed(
            f"INSERT INTO matches ({columns}, profile_as_of, run_id, updated_at) "
            f"SELECT {columns}, :as_of, :run, :now FROM {WRITTEN} WHERE old_status IS NULL",
            **stamp,
        )
    )
    return out


def _decode_masks(conn: Connection, conditions: Mapping[str, Sequence[str]]) -> None:
    """`match_written`: the differing rows with `failed` and `unknown` (comma-separated condition ids).

    One join against a small table of the distinct masks, written once: adding the two columns to
    the differing rows and updating them in place rewrote every row twice (a third of a first run).
    """
    found = conn.execute(
        text(
            f"SELECT DISTINCT policy_id, failed_mask FROM {DIFF} UNION SELECT DISTINCT policy_id, unknown_mask FROM {DIFF}"
        )
    ).all()
    temporary_table(conn, MASKS, "policy_id TEXT, mask BIGINT, ids TEXT, PRIMARY KEY (policy_id, mask)")
    if found:
        conn.execute(
            text(f"INSERT INTO {MASKS} (policy_id, mask, ids) VALUES (:p, :m, :ids)"),
            [{"p": p, "m": int(m), "ids": decode(int(m), conditions[p])} for p, m in found],
        )
    conn.execute(
        text(
            f"CREATE TEMPORARY TABLE {WRITTEN} AS SELECT d.*, f.ids AS failed, u.ids AS unknown FROM {DIFF} d "
            f"LEFT JOIN {MASKS} f ON f.policy_id = d.policy_id AND f.mask = d.failed_mask "
            f"LEFT JOIN {MASKS} u ON u.policy_id = d.policy_id AND u.mask = d.unknown_mask"
        )
    )
    conn.execute(text(f"DROP TABLE {DIFF}"))


def cases_to_open(conn: Connection, periods: Mapping[str, str]) -> list[Any]:
    """Pairs this run wrote as eligible (new, newly eligible, or a changed amount) for a policy in
    `periods` (policy id → its benefit period) with no case for that period yet — the only pairs
    that may need one: an unchanged eligible pair got its case when it became eligible. Chosen by
    the store, so a province's millions of eligible pairs never pass through Python."""
    if not periods:
        return []
    temporary_table(conn, PERIODS, "policy_id TEXT PRIMARY KEY, period TEXT")
    conn.execute(
        text(f"INSERT INTO {PERIODS} (policy_id, period) VALUES (:p, :period)"),
        [{"p": pid, "period": period} for pid, period in sorted(periods.items())],
    )
    return list(
        conn.execute(
            text(
                f"SELECT w.policy_id, w.policy_version, w.uscc, w.amount, w.input_hash FROM {WRITTEN} w "
                f"JOIN {PERIODS} p ON p.policy_id = w.policy_id WHERE w.status = 'eligible' AND NOT EXISTS "
                "(SELECT 1 FROM cases c WHERE c.policy_id = w.policy_id AND c.uscc = w.uscc AND c.period = p.period) "
                "ORDER BY w.policy_id, w.uscc"
            )
        )
    )
