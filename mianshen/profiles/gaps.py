"""What data a policy lacks for an enterprise (缺什么数据): the one rule for data requests, data
quality, `profile gaps` and the portal's "缺少以下数据".

A condition is unknown when a field it reads is missing; the fields to ask for are the missing
inputs of the unknown conditions, a derived tag (划型, 小型微利 …) asked for through its missing
observed inputs. When every input is present and a condition is still unknown (a division by zero,
a value out of range), all its inputs are listed for a data check.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from mianshen.profiles.derive import INPUTS
from mianshen.rules.ast import Condition, Group, Leaf, Policy, spine
from mianshen.rules.formula import references
from mianshen.sqlgen.engines import decode


def condition_fields(cond: Condition) -> list[str]:
    if isinstance(cond, Leaf):
        return [cond.field]
    if isinstance(cond, Group):
        return [f for c in cond.children for f in condition_fields(c)]
    return ["subject_type"] if cond.id == "subject" else []


def inputs_by_condition(policy: Policy) -> dict[str, list[str]]:
    """Condition id → the profile fields it reads (derived fields expanded to their inputs)."""
    derived = {d.name: references(d.formula) for d in policy.derived.values()}

    def expand(names: list[str]) -> list[str]:
        return [x for n in names for x in (derived.get(n) or [n])]

    out = {c.id: expand(condition_fields(c)) for c in spine(policy.conditions)}
    amount_inputs = [n for t in policy.amount.tiers for n in references(t.formula)]
    amount_inputs += [n for t in policy.amount.tiers if t.when is not None for n in condition_fields(t.when)]
    out["amount"] = expand(amount_inputs)
    return out


def missing_fields(inputs: dict[str, list[str]], unknown_ids: Sequence[str], have: Collection[str]) -> list[str]:
    """The catalogue fields to ask for, given the unknown condition ids and the fields present."""
    names = list(dict.fromkeys(n for cid in unknown_ids for n in inputs.get(cid, [])))
    out: list[str] = []
    for name in names:
        if name in have:
            continue
        sources = [i for i in INPUTS.get(name, ()) if i not in have]
        out.extend(sources or [name])
    return list(dict.fromkeys(out)) or names


def consulted(policy: Policy, columns: Collection[str]) -> list[str]:
    """The profile columns whose presence decides what a pair of this policy lacks."""
    names = {n for ns in inputs_by_condition(policy).values() for n in ns}
    names |= {i for n in names for i in INPUTS.get(n, ())}
    return sorted(names & set(columns))


def needed(
    duck: Any, results: str, profiles: str, policies: Sequence[Policy], conditions: Sequence[tuple[str, ...]]
) -> None:
    """DuckDB table `needs(uscc, field, policies)` for a population: from the unknown pairs of
    `results` (s_<k>, u_<k> for policies[k], the assembler's columns) and which fields each profile
    of `profiles` has. `missing_fields` runs once per distinct (policy, unknown conditions, fields
    present) — a few hundred in a province — and the rest is joins."""
    columns = [r[0] for r in duck.execute(f"DESCRIBE SELECT * FROM ({profiles})").fetchall()]
    reads = [consulted(p, columns) for p in policies]
    parts = []
    for k, fields in enumerate(reads):
        have = " || ".join(f"CASE WHEN q.{f} IS NULL THEN '0' ELSE '1' END" for f in fields) or "''"
        parts.append(
            f"SELECT r.id, {k} AS p, r.u_{k} AS mask, {have} AS have FROM r JOIN q USING (id) WHERE r.s_{k} = 2"
        )
    duck.execute(
        f"CREATE OR REPLACE TEMP TABLE unknown_pairs AS WITH r AS ({results}), q AS ({profiles}) "
        + (
            " UNION ALL ".join(parts)
            if parts
            else "SELECT NULL::VARCHAR AS id, 0 AS p, 0 AS mask, '' AS have WHERE false"
        )
    )
    combos = duck.execute("SELECT DISTINCT p, mask, have FROM unknown_pairs").fetchall()
    inputs = [inputs_by_condition(p) for p in policies]
    mapped = []
    for k, mask, have in combos:
        present = {f for f, bit in zip(reads[k], have, strict=True) if bit == "1"}
        for name in missing_fields(inputs[k], decode(conditions[k], mask), present):
            mapped.append((k, mask, have, name, policies[k].id))
    duck.execute(
        "CREATE OR REPLACE TEMP TABLE missing_map (p INTEGER, mask BIGINT, have VARCHAR, field VARCHAR, pid VARCHAR)"
    )
    if mapped:
        duck.executemany("INSERT INTO missing_map VALUES (?, ?, ?, ?, ?)", mapped)
    duck.execute(
        "CREATE OR REPLACE TEMP TABLE needs AS SELECT u.id AS uscc, m.field, "
        "string_agg(DISTINCT m.pid, ',' ORDER BY m.pid) AS policies FROM unknown_pairs u "
        "JOIN missing_map m USING (p, mask, have) GROUP BY u.id, m.field"
    )
    duck.execute("DROP TABLE unknown_pairs")
