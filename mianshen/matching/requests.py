"""Data requests (补数请求) from a run: an unknown pair asks for the fields it lacks; a pair that
became known resolves its open request.

Only the pairs the run wrote (`match_written`) can change a request: an unchanged row has the same
status, unknown conditions and input hash — hence the same fields missing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, DateTime, bindparam, text

from mianshen.matching.staging import WRITTEN, append_rows
from mianshen.profiles.derive import INPUTS
from mianshen.store.schema import data_requests

_STAMP = DateTime(timezone=True)
_CHUNK = 20_000


def missing_fields(inputs: dict[str, list[str]], unknown_ids: Iterable[str], have: Collection[str]) -> list[str]:
    """The catalogue fields to ask for: inputs of the unknown conditions the profile lacks.

    A derived tag (划型, 小型微利 …) is asked for through its missing observed inputs; when every
    input is present but a condition is still unknown, all its inputs are listed for a data check.
    """
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
    present: Mapping[str, Collection[str]],
) -> tuple[Counter[str], Counter[str]]:
    """Open, refresh or resolve requests for the written pairs; (opened, resolved) per policy.

    `inputs`: per policy id, condition id → the catalogue fields it reads; `present`: per USCC, the
    fields its profile has.
    """
    # Streamed: a first run over a province has tens of millions of unknown pairs, and PostgreSQL's
    # driver would otherwise hold the whole result in memory (4 GB at 100,000 enterprises).
    rows = conn.execute(
        text(
            "SELECT w.policy_id, w.uscc, w.status, w.unknown, r.id AS rid, r.fields, r.opened_run, r.opened_at, "
            f"r.resolved_at FROM {WRITTEN} w LEFT JOIN data_requests r ON r.policy_id = w.policy_id "
            "AND r.uscc = w.uscc WHERE w.status = 'unknown' OR (r.id IS NOT NULL AND r.resolved_at IS NULL) "
            "ORDER BY w.policy_id, w.uscc"
        )
        .columns(opened_at=_STAMP, resolved_at=_STAMP)
        .execution_options(stream_results=True, yield_per=_CHUNK)
    )
    now = dt.datetime.now(dt.UTC)
    inserts: list[tuple[str, str, str, int]] = []
    updates: list[dict[str, Any]] = []
    opened: Counter[str] = Counter()
    resolved: Counter[str] = Counter()
    missing = _Missing(inputs)
    for r in rows:
        if r.status != "unknown":  # known now: its open request is answered
            updates.append(_update(r.rid, r.fields, r.opened_run, r.opened_at, now))
            resolved[r.policy_id] += 1
            continue
        names = missing(r.policy_id, r.unknown, present[r.uscc])
        if r.rid is None:
            inserts.append((r.policy_id, r.uscc, names, run_id))
            opened[r.policy_id] += 1
        elif r.resolved_at is not None:  # asked again
            updates.append(_update(r.rid, names, run_id, now, None))
            opened[r.policy_id] += 1
        elif r.fields != names:  # still open: keep its opening, refresh what is missing
            updates.append(_update(r.rid, names, r.opened_run, r.opened_at, None))
    if inserts:
        _insert(conn, inserts, now)
    if updates:
        statement = (
            data_requests.update()
            .where(data_requests.c.id == bindparam("k_id"))
            .values({k: bindparam(k) for k in ("fields", "opened_run", "opened_at", "resolved_at")})
        )
        conn.execute(statement, updates)
    return opened, resolved


class _Missing:
    """`missing_fields` for millions of unknown pairs: the answer depends only on the policy, its
    unknown conditions and which of the fields they read the profile has, so it is computed once
    per distinct combination (a few hundred in a province) and looked up after that."""

    def __init__(self, inputs: Mapping[str, dict[str, list[str]]]) -> None:
        self.inputs = inputs
        self.read: dict[tuple[str, str], tuple[list[str], tuple[str, ...]]] = {}
        self.answers: dict[tuple[str, str, tuple[bool, ...]], str] = {}

    def __call__(self, policy_id: str, unknown: str | None, have: Collection[str]) -> str:
        key = (policy_id, unknown or "")
        found = self.read.get(key)
        if found is None:
            ids = unknown.split(",") if unknown else []
            names = list(dict.fromkeys(n for cid in ids for n in self.inputs[policy_id].get(cid, [])))
            found = self.read[key] = ids, tuple(dict.fromkeys([*names, *(i for n in names for i in INPUTS.get(n, ()))]))
        ids, consulted = found
        present = tuple(f in have for f in consulted)
        answer = self.answers.get((*key, present))
        if answer is None:
            answer = self.answers[(*key, present)] = ",".join(missing_fields(self.inputs[policy_id], ids, have))
        return answer


def _insert(conn: Connection, rows: list[tuple[str, str, str, int]], now: dt.datetime) -> None:
    """New requests (millions on a first run) straight to the driver. The timestamp is converted
    once by its column type, so it is stored exactly as a SQLAlchemy insert would store it."""
    convert = data_requests.c.opened_at.type.bind_processor(conn.dialect)
    stamp = convert(now) if convert else now
    columns = ("policy_id", "uscc", "fields", "opened_run", "opened_at")
    append_rows(conn, data_requests.name, columns, ([(*r, stamp) for r in rows],))


def _update(rid: int, fields: str, opened_run: int, opened_at: Any, resolved_at: Any) -> dict[str, Any]:
    return {"k_id": rid, "fields": fields, "opened_run": opened_run, "opened_at": opened_at, "resolved_at": resolved_at}
