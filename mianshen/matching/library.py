"""Writing one policy version's results into 匹配库: matches, changes, data requests.

A match row is rewritten only when its result or its input hash differs, so `run_id` and
`updated_at` name the run that last changed what we know about the pair — an untouched row keeps
them. Every status or amount difference (and every new pair) becomes a `match_changes` row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select

from mianshen.profiles.current import StoredProfile
from mianshen.profiles.derive import INPUTS
from mianshen.sqlgen.engines import MatchRow
from mianshen.store.schema import data_requests, match_changes, matches

CHUNK = 500
_CONTENT = ("status", "amount", "failed", "unknown", "input_hash", "profile_as_of")


@dataclass
class Written:
    changes: list[dict[str, Any]] = field(default_factory=list)
    lost: list[dict[str, Any]] = field(default_factory=list)  # was eligible, is no longer
    requests_opened: int = 0
    requests_resolved: int = 0


def match_values(row: MatchRow, input_hash: str, as_of: dt.date) -> dict[str, Any]:
    return {
        "status": row.status,
        "amount": None if row.amount is None else format(row.amount, "f"),
        "failed": ",".join(row.failed),
        "unknown": ",".join(row.unknown),
        "input_hash": input_hash,
        "profile_as_of": as_of,
    }


def _rows_by_uscc(conn: Connection, table: Any, where: Any, usccs: set[str] | None) -> dict[str, Any]:
    if usccs is None:
        return {r.uscc: r for r in conn.execute(select(table).where(where))}
    todo = sorted(usccs)
    out = {}
    for i in range(0, len(todo), CHUNK):
        chunk = todo[i : i + CHUNK]
        out.update({r.uscc: r for r in conn.execute(select(table).where(where, table.c.uscc.in_(chunk)))})
    return out


def write_matches(
    conn: Connection,
    run_id: int,
    policy_id: str,
    version: int,
    results: list[tuple[MatchRow, str]],
    as_of: dt.date,
    usccs: set[str] | None,
) -> Written:
    """Upsert one version's evaluated pairs; `usccs` is the evaluated set (None: every enterprise)."""
    where = and_(matches.c.policy_id == policy_id, matches.c.policy_version == version)
    old = _rows_by_uscc(conn, matches, where, usccs)
    now = dt.datetime.now(dt.UTC)
    inserts, updates, out = [], [], Written()
    for row, digest in results:
        values = match_values(row, digest, as_of)
        before = old.get(row.id)
        if before is None:
            inserts.append({"policy_id": policy_id, "policy_version": version, "uscc": row.id, **values})
        elif any(_same(getattr(before, k)) != _same(values[k]) for k in _CONTENT):
            updates.append({"k_policy": policy_id, "k_version": version, "k_uscc": row.id, **values})
        else:
            continue
        old_status = None if before is None else before.status
        old_amount = None if before is None else before.amount
        if old_status != values["status"] or old_amount != values["amount"]:
            change = {
                "run_id": run_id,
                "policy_id": policy_id,
                "uscc": row.id,
                "old_status": old_status,
                "new_status": values["status"],
                "old_amount": old_amount,
                "new_amount": values["amount"],
            }
            out.changes.append(change)
            if old_status == "eligible" and values["status"] != "eligible":
                out.lost.append(change)
    stamp = {"run_id": run_id, "updated_at": now}
    if inserts:
        conn.execute(matches.insert(), [{**r, **stamp} for r in inserts])
    if updates:
        statement = (
            matches.update()
            .where(
                matches.c.policy_id == bindparam("k_policy"),
                matches.c.policy_version == bindparam("k_version"),
                matches.c.uscc == bindparam("k_uscc"),
            )
            .values({k: bindparam(k) for k in (*_CONTENT, "run_id", "updated_at")})
        )
        conn.execute(statement, [{**r, **stamp} for r in updates])
    if out.changes:
        conn.execute(match_changes.insert(), out.changes)
    return out


def _same(value: Any) -> Any:
    # SQLite hands dates back as dates but an empty text column may come back as None on some drivers
    return "" if value is None else str(value)


def missing_fields(inputs: dict[str, list[str]], unknown_ids: Iterable[str], profile: StoredProfile) -> list[str]:
    """The catalogue fields to ask for: inputs of the unknown conditions the profile lacks.

    A derived tag (划型, 小型微利 …) is asked for through its missing observed inputs; when every
    input is present but a condition is still unknown, all its inputs are listed for a data check.
    """
    have = profile.fields
    names = list(dict.fromkeys(n for cid in unknown_ids for n in inputs.get(cid, [])))
    out: list[str] = []
    for name in names:
        if name in have:
            continue
        sources = [i for i in INPUTS.get(name, ()) if i not in have]
        out.extend(sources or [name])
    return list(dict.fromkeys(out)) or names


def write_requests(
    conn: Connection,
    run_id: int,
    policy_id: str,
    wanted: dict[str, list[str]],
    known: set[str],
    usccs: set[str] | None,
    written: Written,
) -> None:
    """Open or update a request per unknown pair (`wanted`: uscc → fields); resolve the known ones."""
    old = _rows_by_uscc(conn, data_requests, data_requests.c.policy_id == policy_id, usccs)
    now = dt.datetime.now(dt.UTC)
    inserts, updates = [], []
    for uscc, names in wanted.items():
        text = ",".join(names)
        before = old.get(uscc)
        if before is None:
            inserts.append({"policy_id": policy_id, "uscc": uscc, "fields": text, "opened_run": run_id})
        elif before.resolved_at is not None:
            updates.append(
                {"k_id": before.id, "fields": text, "opened_run": run_id, "opened_at": now, "resolved_at": None}
            )
        elif before.fields != text:  # still open: keep its opening, refresh what is missing
            updates.append(
                {
                    "k_id": before.id,
                    "fields": text,
                    "opened_run": before.opened_run,
                    "opened_at": before.opened_at,
                    "resolved_at": None,
                }
            )
    resolved = [
        {"k_id": r.id, "fields": r.fields, "opened_run": r.opened_run, "opened_at": r.opened_at, "resolved_at": now}
        for uscc, r in old.items()
        if uscc in known and r.resolved_at is None
    ]
    if inserts:
        conn.execute(data_requests.insert(), [{**r, "opened_at": now} for r in inserts])
    if updates or resolved:
        statement = (
            data_requests.update()
            .where(data_requests.c.id == bindparam("k_id"))
            .values({k: bindparam(k) for k in ("fields", "opened_run", "opened_at", "resolved_at")})
        )
        conn.execute(statement, updates + resolved)
    written.requests_opened += len(inserts) + sum(1 for u in updates if u["opened_run"] == run_id)
    written.requests_resolved += len(resolved)
