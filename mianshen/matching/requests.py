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

from sqlalchemy import Connection, DateTime, text

from mianshen.matching.staging import REQUESTS, WRITTEN, append_rows, temporary_table
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
    now = dt.datetime.now(dt.UTC)
    staged = _Staged(conn, now)  # before the SELECT: SQLite cannot drop a table while a statement is reading
    # Streamed: a first run over a province has tens of millions of unknown pairs, and PostgreSQL's
    # driver would otherwise hold the whole result in memory.
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
    opened: Counter[str] = Counter()
    resolved: Counter[str] = Counter()
    missing = _Missing(inputs)
    for r in rows:
        if r.status != "unknown":  # known now: its open request is answered
            staged.add(r.rid, r.policy_id, r.uscc, r.fields, r.opened_run, r.opened_at, now)
            resolved[r.policy_id] += 1
            continue
        names = missing(r.policy_id, r.unknown, present[r.uscc])
        if r.rid is None:
            staged.add(None, r.policy_id, r.uscc, names, run_id, now, None)
            opened[r.policy_id] += 1
        elif r.resolved_at is not None:  # asked again
            staged.add(r.rid, r.policy_id, r.uscc, names, run_id, now, None)
            opened[r.policy_id] += 1
        elif r.fields != names:  # still open: keep its opening, refresh what is missing
            staged.add(r.rid, r.policy_id, r.uscc, names, r.opened_run, r.opened_at, None)
    staged.apply()
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


class _Staged:
    """The run's new and changed requests, appended to a temporary table a chunk at a time through
    the driver (a first run over a province has tens of millions; memory stays flat), then
    applied to `data_requests` by one INSERT and one UPDATE. The timestamps are converted by their
    column type, so they are stored exactly as a SQLAlchemy statement would store them."""

    COLUMNS = ("seq", "id", "policy_id", "uscc", "fields", "opened_run", "opened_at", "resolved_at")

    def __init__(self, conn: Connection, now: dt.datetime) -> None:
        self.conn, self.seq = conn, 0
        self.rows: list[tuple[Any, ...]] = []
        moment_type = data_requests.c.opened_at.type.dialect_impl(conn.dialect)  # the generic type converts nothing
        self.stamp = moment_type.bind_processor(conn.dialect) or (lambda value: value)
        self.now, self.now_stored = now, self.stamp(now)  # most rows carry the run's own time: converted once
        moment = "TIMESTAMPTZ" if conn.dialect.name == "postgresql" else "TEXT"
        columns = "seq INTEGER, id INTEGER, policy_id TEXT, uscc TEXT, fields TEXT, opened_run INTEGER"
        temporary_table(conn, REQUESTS, f"{columns}, opened_at {moment}, resolved_at {moment}")

    def _stored(self, moment: Any) -> Any:
        return None if moment is None else self.now_stored if moment is self.now else self.stamp(moment)

    def add(self, rid: int | None, policy_id: str, uscc: str, fields: str, run: int, opened: Any, done: Any) -> None:
        self.seq += 1
        self.rows.append((self.seq, rid, policy_id, uscc, fields, run, self._stored(opened), self._stored(done)))
        if len(self.rows) >= _CHUNK:
            self._flush()

    def _flush(self) -> None:
        append_rows(self.conn, REQUESTS, self.COLUMNS, (self.rows,))
        self.rows = []

    def apply(self) -> None:
        self._flush()
        self.conn.execute(
            text(
                "INSERT INTO data_requests (policy_id, uscc, fields, opened_run, opened_at) "
                f"SELECT policy_id, uscc, fields, opened_run, opened_at FROM {REQUESTS} WHERE id IS NULL ORDER BY seq"
            )
        )
        self.conn.execute(
            text(
                "UPDATE data_requests SET fields = s.fields, opened_run = s.opened_run, opened_at = s.opened_at, "
                f"resolved_at = s.resolved_at FROM {REQUESTS} s WHERE s.id = data_requests.id"
            )
        )
        self.conn.execute(text(f"DROP TABLE {REQUESTS}"))
