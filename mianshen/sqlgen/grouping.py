"""Grouping policies that differ only in their constants into one query with a table of constants.

A catalogue holds many policies of the same shape (a county's copy of a provincial rule with its
own thresholds; the benchmark's 20 variants of each policy). Compiled one by one, each is a scan of
the profile table, and at a few thousand enterprises the per-query overhead dominates. Here each
compiled tree has its constants (typed literals and the strings compared with columns) replaced by
columns `mk_<i>_<type>`; trees that then print the same SQL form one group, evaluated once over
`profiles CROSS JOIN constants` — the shape of the best hand-written query (benchmarks/handwritten.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from mianshen.catalogue import Catalogue
from mianshen.rules.ast import Policy
from mianshen.sqlgen.compile import compile_tree

SOURCE = "mk_source"  # the table name policies are compiled against, replaced per group
POLICY_ID, POLICY_VERSION = "mk_policy_id", "mk_policy_version"
_COMPARED_BY = (exp.In, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.StrPosition, exp.Anonymous)


# Compiled shapes per process, keyed by the Policy object itself (parsed versions are cached in
# matching/publish.py, so a worker re-matching the same versions compiles each once per date).
# The entry keeps the object alive, so its id cannot be reused by another policy while cached.
_COMPILED: dict[tuple[object, ...], tuple[Policy, str, list[str], list[str]]] = {}
_COMPILED_MAX = 4096


@dataclass
class Group:
    sql: str  # the shared query over SOURCE, constants as columns
    names: list[str]  # constant columns, in order
    carry: str  # the input-hash column the group's rows carry
    rows: list[tuple[str, ...]] = field(default_factory=list)  # per policy: id, version, constants (SQL text)
    policy_ids: list[str] = field(default_factory=list)
    per_enterprise: str = ""  # derived columns read no constant: computed before the cross join

    def inline_shared(self) -> None:
        """Write back as literals the constants every policy of the group has alike (a scale factor,
        a shared cap): the engine folds them, and what no longer reads a per-policy column is
        computed once per enterprise rather than once per pair."""
        keep = []
        for j, name in enumerate(self.names):
            values = {row[2 + j] for row in self.rows}
            if len(values) == 1:
                (value,) = values
                self.sql = re.sub(rf"\b{name}\b", value.replace("\\", r"\\"), self.sql)
            else:
                keep.append(j)
        self.names = [self.names[j] for j in keep]
        self.rows = [(*row[:2], *(row[2 + j] for j in keep)) for row in self.rows]
        self._hoist_derived()

    def _hoist_derived(self) -> None:
        """Move the policy's derived columns (`SELECT *, … AS dv_x FROM mk_source`, see
        compile.query) below the cross join when none reads a constant column."""
        end = self.sql.find(f" FROM {SOURCE})")
        start = self.sql.rfind("(SELECT *", 0, end)  # derived formulas hold no subquery
        if end < 0 or not self.sql.startswith("(SELECT *, ", start) or self.sql.count(f"FROM {SOURCE}") != 1:
            return  # no derived columns (`SELECT * FROM mk_source`), or not the shape compile.query makes
        derived = self.sql[start + len("(SELECT *") : end]
        if re.search(r"\bmk_\w+", derived):
            return
        self.per_enterprise = derived
        self.sql = self.sql[:start] + "(SELECT *" + self.sql[end:]

    def constants(self, dialect: str) -> str:
        """The constants table as a UNION ALL of one-row SELECTs (VALUES cannot name columns in SQLite)."""
        header = [POLICY_ID, POLICY_VERSION, *self.names]
        return " UNION ALL ".join(
            "SELECT " + ", ".join(f"{v} AS {n}" for v, n in zip(row, header, strict=True)) for row in self.rows
        )


def _tag(node: exp.Expression) -> str:
    if isinstance(node, exp.Cast):
        kind = node.to.this
        if kind in (exp.DataType.Type.DATE,):
            return "t"
        return "d" if kind in (exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL) else "c"
    return "s"


def _constants(tree: exp.Expression) -> list[exp.Expression]:
    found: list[exp.Expression] = []
    for node in tree.walk():
        if (
            isinstance(node, exp.Cast)
            and isinstance(node.this, exp.Literal)
            and node.this.is_string
            or (
                isinstance(node, exp.Literal)
                and node.is_string
                and isinstance(node.parent, _COMPARED_BY)
                and not isinstance(node.parent, exp.Cast)
            )
        ):
            found.append(node)
    return found


def parametrize(tree: exp.Expression, dialect: str) -> tuple[str, list[str], list[str]]:
    """(shared SQL, constant column names, constants as SQL text) for one compiled tree (rewritten in place)."""
    names, values = [], []
    for i, node in enumerate(_constants(tree)):
        name = f"mk_{i}_{_tag(node)}"
        values.append(node.sql(dialect=dialect))
        names.append(name)
        node.replace(exp.column(name))
    return tree.sql(dialect=dialect, copy=False), names, values  # the tree is not used again


def group_policies(
    policies: Sequence[Policy],
    as_of: dt.date,
    dialect: str,
    catalogue: Catalogue,
    carry: dict[str, str],
) -> list[Group]:
    """Policies grouped by shape; `carry`: policy id → the input-hash column its rows carry."""
    groups: dict[str, Group] = {}
    for p in policies:
        key = (id(p), p.id, p.version, as_of, dialect, carry[p.id])
        found = _COMPILED.get(key)
        if found is None or found[0] is not p:
            tree = compile_tree(p, as_of, dialect, SOURCE, catalogue, (carry[p.id], POLICY_ID, POLICY_VERSION))
            if len(_COMPILED) >= _COMPILED_MAX:
                _COMPILED.clear()
            found = _COMPILED[key] = (p, *parametrize(tree, dialect))
        _, sql, names, values = found
        group = groups.setdefault(sql, Group(sql, names, carry[p.id]))
        pid = p.id.replace("'", "''")
        group.rows.append((f"'{pid}'", str(int(p.version)), *values))
        group.policy_ids.append(p.id)
    for group in groups.values():
        group.inline_shared()
    return list(groups.values())
