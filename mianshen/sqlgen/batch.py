"""Batch matching SQL: every policy over one profile table in one statement, rows shaped for the store.

Per-pair work stays in the engine: the input hash is computed once per enterprise and per distinct
set of fields read (the 100 benchmark variants read only a handful of distinct sets), carried
through each compiled query, and the condition masks are decoded to the comma-separated ids the
match library stores. Only rows whose content changed ever reach Python (matching/library.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from mianshen.catalogue import Catalogue, load_catalogue
from mianshen.profiles.derive import with_inputs
from mianshen.rules.ast import Policy, spine
from mianshen.sqlgen.compile import needed_fields
from mianshen.sqlgen.grouping import POLICY_ID, POLICY_VERSION, SOURCE, Group, group_policies

RESULT_COLUMNS = (
    "policy_id",
    "policy_version",
    "uscc",
    "status",
    "amount",
    "failed_mask",
    "unknown_mask",
    "input_hash",
)
SCOPE_TABLE = "match_scope"  # enterprises an incremental policy is limited to
_NULL_MARK = "\\N"


def hash_fields(policy: Policy, catalogue: Catalogue) -> tuple[str, ...]:
    """What one policy reads for one enterprise, including the observed inputs of derived fields
    (a new input that leaves a derived tag unchanged may still change which data is missing)."""
    return tuple(sorted(f for f in with_inputs(set(needed_fields(policy))) if f in catalogue.fields))


def _sha256(dialect: str, text: str) -> str:
    if dialect == "postgres":
        return f"encode(sha256(convert_to({text}, 'UTF8')), 'hex')"
    if dialect == "sqlite":
        return f"ms_sha256({text})"  # registered on the connection (engines.py)
    if dialect == "spark":
        return f"sha2({text}, 256)"
    return f"sha256({text})"


def hash_expression(dialect: str, fields: Sequence[str], as_of: dt.date) -> str:
    """SHA-256 of the as-of date and the fields' values as the engine prints them ('\\N' for none).

    The text is engine-specific (a DECIMAL prints differently in DuckDB and PostgreSQL), so switching
    engines rewrites each row once with the same status — no change is recorded.
    """
    parts = [f"'{as_of.isoformat()}'"]
    parts += [f"COALESCE(CAST({f} AS TEXT), '{_NULL_MARK}')" for f in fields]
    return _sha256(dialect, " || '|' || ".join(parts))


def _amount_text(dialect: str) -> str:
    """The amount as the library stores it: exact text with 2 places ('1234.50'), as `run_compiled` does."""
    if dialect == "sqlite":
        return "ms_round(amount, 2)"
    numeric = "NUMERIC(38, 2)" if dialect == "postgres" else "DECIMAL(38, 2)"
    return f"CAST(CAST(ROUND(amount, 2) AS {numeric}) AS TEXT)"


@dataclass(frozen=True)
class BatchPlan:
    groups: list[Group]  # policies of the same shape share one query
    scoped: list[Group]  # the same, for policies limited to `match_scope`
    hashes: dict[tuple[str, ...], str]  # read fields → hash column
    conditions: dict[str, tuple[str, ...]]  # policy id → condition ids in mask bit order
    fields: tuple[str, ...]  # every profile column any policy or hash reads

    @property
    def queries(self) -> int:
        return len(self.groups) + len(self.scoped)


def plan_batch(
    policies: Sequence[Policy],
    as_of: dt.date,
    dialect: str,
    catalogue: Catalogue | None = None,
    scoped: set[str] | frozenset[str] = frozenset(),
) -> BatchPlan:
    """`scoped`: ids of policies whose rows are limited to the enterprises in `match_scope(uscc)`."""
    catalogue = catalogue or load_catalogue()
    hashes: dict[tuple[str, ...], str] = {}
    carry: dict[str, str] = {}
    fields: set[str] = set()
    for p in policies:
        reads = hash_fields(p, catalogue)
        carry[p.id] = hashes.setdefault(reads, f"h_{len(hashes)}")
        fields.update(needed_fields(p), reads)
    conditions = {p.id: tuple(c.id for c in spine(p.conditions)) + ("amount",) for p in policies}
    everyone = [p for p in policies if p.id not in scoped]
    limited = [p for p in policies if p.id in scoped]
    return BatchPlan(
        group_policies(everyone, as_of, dialect, catalogue, carry),
        group_policies(limited, as_of, dialect, catalogue, carry),
        hashes,
        conditions,
        tuple(sorted(fields)),
    )


def add_hash_columns(cursor: object, dialect: str, table: str, plan: BatchPlan, as_of: dt.date) -> None:
    """One pass over the profile table computing every hash column (UPDATE works on all three engines)."""
    for column in plan.hashes.values():
        cursor.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")  # type: ignore[attr-defined]
    assignments = ", ".join(
        f"{column} = {hash_expression(dialect, reads, as_of)}" for reads, column in plan.hashes.items()
    )
    if assignments:
        cursor.execute(f"UPDATE {table} SET {assignments}")  # type: ignore[attr-defined]


def batch_select(dialect: str, plan: BatchPlan, table: str) -> str:
    """One UNION ALL statement: every group's rows in the store's shape (RESULT_COLUMNS)."""
    parts = []
    for groups, where in ((plan.groups, ""), (plan.scoped, f" WHERE id IN (SELECT uscc FROM {SCOPE_TABLE})")):
        for g in groups:
            source = (
                f"SELECT * FROM (SELECT *{g.per_enterprise} FROM {table}{where}) AS s "
                f"CROSS JOIN ({g.constants(dialect)}) AS k"
            )
            hash_column = g.carry
            parts.append(
                f"SELECT {POLICY_ID} AS policy_id, {POLICY_VERSION} AS policy_version, id AS uscc, status, "
                f"CASE WHEN amount IS NULL THEN NULL ELSE {_amount_text(dialect)} END AS amount, "
                f"failed_mask, unknown_mask, {hash_column} AS input_hash "
                f"FROM (WITH {SOURCE} AS ({source}) {g.sql}) AS q"
            )
    return "\nUNION ALL\n".join(parts)


def decode(mask: int, ids: Sequence[str]) -> str:
    """A condition bit mask as the comma-separated ids the match library stores."""
    return ",".join(cid for i, cid in enumerate(ids) if mask >> i & 1)
