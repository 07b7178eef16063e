"""Data requests (补数请求) from a run: an unknown pair asks for the fields it lacks; a pair that
became known resolves its open request.

Only the pairs the run wrote (`match_written`) can change a request: an unchanged row has the same
status, unknown conditions and input hash — hence the same fields missing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, DateTime, bindparam, text

from mianshen.matching.staging import WRITTEN
from mianshen.profiles.current import StoredProfile
from mianshen.profiles.derive import INPUTS
from mianshen.store.schema import data_requests

_STAMP = DateTime(timezone=True)


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
    inputs: Mapping[str, dict[str, list[str]]],
    profiles: Mapping[str, StoredProfile],
) -> tuple[Counter[str], Counter[str]]:
    """Open, refresh or resolve requests for the written pairs; (opened, resolved) per policy.

    `inputs`: per policy id, condition id → the catalogue fields it reads.
    """
    rows = conn.execute(
        text(
            "SELECT w.policy_id, w.uscc, w.status, w.unknown, r.id AS rid, r.fields, r.opened_run, r.opened_at, "
            f"r.resolved_at FROM {WRITTEN} w LEFT JOIN data_requests r ON r.policy_id = w.policy_id "
            "AND r.uscc = w.uscc WHERE w.status = 'unknown' OR (r.id IS NOT NULL AND r.resolved_at IS NULL) "
            "ORDER BY w.policy_id, w.uscc"
        ).columns(opened_at=_STAMP, resolved_at=_STAMP)
    )
    now = dt.datetime.now(dt.UTC)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    opened: Counter[str] = Counter()
    resolved: Counter[str] = Counter()
    for r in rows:
        if r.status != "unknown":  # known now: its open request is answered
            updates.append(_update(r.rid, r.fields, r.opened_run, r.opened_at, now))
            resolved[r.policy_id] += 1
            continue
        ids = r.unknown.split(",") if r.unknown else []
        names = ",".join(missing_fields(inputs[r.policy_id], ids, profiles[r.uscc]))
        if r.rid is None:
            inserts.append({"policy_id": r.policy_id, "uscc": r.uscc, "fields": names, "opened_run": run_id})
            opened[r.policy_id] += 1
        elif r.resolved_at is not None:  # asked again
            updates.append(_update(r.rid, names, run_id, now, None))
            opened[r.policy_id] += 1
        elif r.fields != names:  # still open: keep its opening, refresh what is missing
            updates.append(_update(r.rid, names, r.opened_run, r.opened_at, None))
    if inserts:
        conn.execute(data_requests.insert(), [{**r, "opened_at": now} for r in inserts])
    if updates:
        statement = (
            data_requests.update()
            .where(data_requests.c.id == bindparam("k_id"))
            .values({k: bindparam(k) for k in ("fields", "opened_run", "opened_at", "resolved_at")})
        )
        conn.execute(statement, updates)
    return opened, resolved


def _update(rid: int, fields: str, opened_run: int, opened_at: Any, resolved_at: Any) -> dict[str, Any]:
    return {"k_id": rid, "fields": fields, "opened_run": opened_run, "opened_at": opened_at, "resolved_at": resolved_at}
