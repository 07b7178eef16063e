"""Batch audit records: one chained audit row for many cases opened together, carrying an SM3 hash
tree of their opening content (a match run opens millions of cases; one audit row each was most
of the time of a first run).

The leaves are consecutive groups of the cases of one run and policy in enterprise order, each the
SM3 of the cases' canonical lines (`LINE`: what a case was opened with, not its surrogate id);
inner nodes hash their two children (RFC 6962's 0x00/0x01 prefixes keep a leaf from passing for a
node). The record's `data_hash` is the root; `verify_batches` recomputes it from the cases table,
so changing, adding or removing a case's opening content — amount, enterprise, policy version,
period, the data hash it was decided on — is found and named. A match run computes the lines in
DuckDB from the candidates it is about to open (`leaf_texts`), without reading millions of rows
back from the store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, select

from mianshen.store.schema import audit_log

ACTION = "case.open_batch"
ALGORITHM = "sm3-tree"
LEAF_CASES = 256
LINE = ("policy_id", "policy_version", "uscc", "period", "origin", "amount", "data_hash", "opened_run")


def _sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def line_sql(column: dict[str, str] | None = None) -> str:
    """The canonical line of a case as SQL (every engine prints these texts and integers alike);
    `column`: the expression to read a field from, where it is not a column of that name."""
    column = column or {}
    return " || '|' || ".join(f"COALESCE(CAST({column.get(f, f)} AS VARCHAR), '')" for f in LINE)


def case_lines(conn: Connection, run_id: int) -> Iterator[tuple[str, Iterator[str]]]:
    """Per policy, the opening content of a run's cases, one canonical line each in enterprise
    order — made by the database and read through the driver in one pass."""
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(
        f"SELECT policy_id, {line_sql()} FROM cases WHERE opened_run = {mark} ORDER BY policy_id, uscc, period",
        (run_id,),
    )

    def rows() -> Iterator[tuple[str, str]]:
        while batch := cursor.fetchmany(50_000):
            yield from batch

    for policy_id, group in groupby(rows(), key=lambda r: r[0]):
        yield policy_id, (text_line for _, text_line in group)


def tree_root(lines: Iterable[str]) -> tuple[str, int]:
    """(hex root, number of lines) of the hash tree over groups of LEAF_CASES lines."""
    leaves: list[str] = []
    group: list[str] = []
    count = 0
    for line in lines:
        group.append(line)
        count += 1
        if len(group) == LEAF_CASES:
            leaves.append("\n".join(group))
            group = []
    if group:
        leaves.append("\n".join(group))
    return root_of(leaves), count


def leaf_texts(duck: Any, table: str) -> dict[str, tuple[list[str], int]]:
    """Per policy: the leaves' texts (LEAF_CASES lines each) and the number of cases, for the cases
    of DuckDB table `table` (the columns of LINE) — what `case_lines` reads back after opening them."""
    rows = duck.execute(
        f"SELECT policy_id, n, string_agg(line, chr(10) ORDER BY uscc, period), count(*) FROM "
        f"(SELECT policy_id, uscc, period, {line_sql()} AS line, (row_number() OVER (PARTITION BY policy_id "
        f"ORDER BY uscc, period) - 1) // {LEAF_CASES} AS n FROM {table}) GROUP BY policy_id, n ORDER BY policy_id, n"
    ).fetchall()
    out: dict[str, tuple[list[str], int]] = {}
    for policy_id, _, text, count in rows:
        leaves, total = out.get(policy_id, ([], 0))
        leaves.append(text)
        out[policy_id] = (leaves, total + int(count))
    return out


def root_of(leaves: Sequence[str]) -> str:
    """The hex root of the tree over the leaves' texts (the hash of nothing when there are none)."""
    level = [_sm3(b"\x00" + leaf.encode()) for leaf in leaves]
    if not level:
        return _sm3(b"").hex()
    while len(level) > 1:
        paired = [_sm3(b"\x01" + level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = paired + ([level[-1]] if len(level) % 2 else [])
    return level[0].hex()


@dataclass(frozen=True)
class BatchProblem:
    audit_id: int
    problem: str


def roots(conn: Connection, run_id: int) -> dict[str, tuple[str, int]]:
    """Per policy: (root, cases) of the hash tree over the cases a run opened, read from the store."""
    return {policy_id: tree_root(lines) for policy_id, lines in case_lines(conn, run_id)}


def verify_batches(conn: Connection) -> list[BatchProblem]:
    """Every batch record's tree recomputed from the cases it covers."""
    problems = []
    rows = conn.execute(
        select(audit_log.c.id, audit_log.c.entity_id, audit_log.c.data_hash, audit_log.c.after)
        .where(audit_log.c.action == ACTION)
        .order_by(audit_log.c.id)
    ).all()
    found: dict[int, dict[str, tuple[str, int]]] = {}
    for r in rows:
        after = json.loads(r.after or "{}")
        run = int(after.get("run", -1))
        if run not in found:
            found[run] = roots(conn, run)
        root, count = found[run].get(str(after.get("policy_id", "")), tree_root(()))
        if count != after.get("cases"):
            problems.append(
                BatchProblem(r.id, f"立案批次记录 {r.entity_id} 覆盖 {after.get('cases')} 件案件，现有 {count} 件")
            )
        elif root != r.data_hash:
            problems.append(
                BatchProblem(r.id, f"立案批次记录 {r.entity_id} 的案件内容与记录的哈希树不符（案件被改动）")
            )
    return problems
