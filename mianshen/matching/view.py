"""Reading the library (library.py): a run's view as SQL for DuckDB over its Parquet files.

`results_sql` gives one row per enterprise with each chosen policy's status code, amount and
unknown mask (columns s_<k>, a_<k>, u_<k>, k = the policy's place in the list asked for), taking
each (policy, enterprise) from the newest layer that holds both. `profiles_sql` does the same for
the profile snapshots. `ids` narrows every layer to the enterprises of a table (pushed into each
file's scan), so looking at a thousand enterprises of a province reads a thousand rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mianshen.matching.library import Layer, Manifest, PolicyColumns, read_files


def _newest(parts: list[str], key: str = "id") -> str:
    """Rows of several layers (each tagged `layer`, newest 0): for each id, the newest one."""
    if len(parts) == 1:
        return parts[0]
    union = " UNION ALL BY NAME ".join(f"SELECT * FROM ({p}) AS l{i}" for i, p in enumerate(parts))
    return f"SELECT * EXCLUDE (layer) FROM ({union}) QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY layer) = 1"


def _picked(k: int, columns: PolicyColumns) -> str:
    c = columns.column
    return f"s_{c} AS s_{k}, a_{c} AS a_{k}, {columns.unknown()} AS u_{k}"


def _where(ids: str | None) -> str:
    return f" WHERE id IN (SELECT id FROM {ids})" if ids else ""


def remember(
    duck: Any, manifest: Manifest, library: Path, policies: Sequence[str], ids: str, reading: Manifest | None = None
) -> None:
    """Read the view of `manifest` for the enterprises of DuckDB table `ids` once: later `results_sql`
    calls for them (comparing, data requests, totals — each a scan of every layer's files, which are
    a province's rows) read the table instead. `reading`: a manifest that gives the same view for
    these enterprises from fewer layers (a run's own new layer, which holds all of them)."""
    table = f"view_{manifest.run}_{ids}"
    sql = results_sql(reading or manifest, library, policies, ids)
    duck.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}")
    manifest.remembered[ids] = (table, list(policies))


def results_sql(manifest: Manifest, library: Path, policies: Sequence[str], ids: str | None = None) -> str:
    """SELECT id, city, present, s_<k>, a_<k>, u_<k> for policies[k] (each active in the manifest)."""
    found = manifest.remembered.get(ids) if ids else None
    if found is not None and set(policies) <= set(found[1]):
        table, order = found
        picked = ", ".join(f"{c}_{order.index(p)} AS {c}_{k}" for k, p in enumerate(policies) for c in "sau")
        return f"SELECT id, city, present, {picked} FROM {table}"
    groups: dict[tuple[tuple[str, str], ...], list[tuple[int, list[tuple[Layer, PolicyColumns]]]]] = {}
    for k, policy_id in enumerate(policies):
        chain = manifest.chain(policy_id)
        if not chain:
            raise KeyError(policy_id)
        signature = tuple((layer.folder, columns.file) for layer, columns in chain)
        groups.setdefault(signature, []).append((k, chain))
    selects = []
    for members in groups.values():
        depth = len(members[0][1])
        parts = []
        for i in range(depth):
            file = members[0][1][i][1].file
            picked = ", ".join(_picked(k, chain[i][1]) for k, chain in members)
            parts.append(
                f"SELECT id, city, present, {picked}, {i} AS layer FROM {read_files(library, [file])}{_where(ids)}"
            )
        selects.append(_newest(parts) if depth > 1 else parts[0].replace(", 0 AS layer", "", 1))
    if len(selects) == 1:
        return selects[0]
    joined = f"({selects[0]}) AS g0"
    for i, sql in enumerate(selects[1:], start=1):
        joined += f" FULL JOIN ({sql}) AS g{i} USING (id)"
    cities = ", ".join(f"g{i}.city" for i in range(len(selects)))
    present = ", ".join(f"g{i}.present" for i in range(len(selects)))
    return (
        f"SELECT id, COALESCE({cities}) AS city, COALESCE({present}) AS present, * EXCLUDE (id, city, present) "
        f"FROM {joined}"
    )


def profiles_sql(manifest: Manifest, library: Path, ids: str | None = None) -> str:
    """The profile snapshot of the view: each enterprise's profile from the newest layer holding it."""
    seen: list[str] = []
    for layer in manifest.layers:
        if layer.profiles not in seen:
            seen.append(layer.profiles)
    parts = [f"SELECT *, {i} AS layer FROM {read_files(library, [name])}{_where(ids)}" for i, name in enumerate(seen)]
    if len(parts) == 1:
        return f"SELECT * FROM {read_files(library, seen)}{_where(ids)}"
    return _newest(parts)
