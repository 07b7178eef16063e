"""Profile snapshots (画像快照): every enterprise's profile as of a date, as one wide table made by SQL.

DuckDB joins the observation mirror's batches (mirror.py) into one row per enterprise, choosing
per field the observation the rule of current.py picks (pivot.py), types each column, and adds
the derived tags (derive_sql.py), one input hash per enterprise and which fields are present. `profile show` and the
portal still assemble one enterprise in Python (with sources, conflicts and reasons); this is the
same profile for a population, read by match runs, simulation, data quality and Spark exports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from mianshen.catalogue import FieldType, load_catalogue
from mianshen.errors import InputError
from mianshen.profiles.derive import INPUTS, with_inputs
from mianshen.profiles.derive_sql import JOINS, derived_sql
from mianshen.profiles.pivot import batches, pivot_sql
from mianshen.rules.profile import Profile
from mianshen.store.schema import enterprises, import_batches

HASH = "input_hash"
CITY = "city"  # the region code's first four digits ('0000' when unknown): the library's sort key
PRESENT = "present"  # bit i set when the i-th field of `presence_order()` has a value (data requests)


def presence_order() -> tuple[str, ...]:
    """The fields whose presence `present` records, in bit order (a layer keeps the order it used)."""
    names = tuple(sorted(load_catalogue().fields))
    if len(names) > 63:
        raise InputError(f"字段目录有 {len(names)} 个字段，超过数据请求位图的 63 位；请扩展 present 列")
    return names


_NULL_MARK = "\\N"


@dataclass(frozen=True)
class Snapshot:
    table: str
    as_of: dt.date
    last_batch: int
    fields: tuple[str, ...]  # columns besides `id` and the input hash
    enterprises: int


def last_batch(conn: Connection) -> int:
    return int(conn.execute(select(func.max(import_batches.c.id))).scalar() or 0)


def typed(column: str, kind: FieldType) -> str:
    """An observation's canonical text (rules/values.py `from_text`) as the column type batch SQL reads."""
    if kind == FieldType.BOOLEAN:
        return f"({column} = 'true')"
    if kind == FieldType.TAGS:  # "|a|b|", sorted: what `strpos(tags, '|a|')` tests
        parts = f"list_sort(list_distinct(list_filter(string_split({column}, '|'), lambda t: t <> '')))"
        return f"CASE WHEN {column} IS NULL THEN NULL ELSE '|' || array_to_string({parts}, '|') || '|' END"
    if kind == FieldType.DATE:
        return f"CAST({column} AS DATE)"
    if kind == FieldType.INTEGER:
        return f"CAST({column} AS BIGINT)"
    if kind.numeric:
        return f"CAST({column} AS DECIMAL(38, 10))"
    return column


def build(
    conn: Connection,
    duck: Any,
    as_of: dt.date,
    fields: Collection[str],
    *,
    table: str = "profiles",
    scope: Collection[str] | None = None,
    upto: int | None = None,
) -> Snapshot:
    """Create `table` in `duck`: `id`, the `fields` (and what their derivations read), `input_hash`.

    `scope`: only these enterprises (an incremental run); `upto`: observations of batches up to
    this one (default: every committed batch)."""
    catalogue = load_catalogue()
    top = last_batch(conn) if upto is None else upto
    found = batches(conn, duck, top)
    wanted = sorted(f for f in with_inputs({*fields, "region_code"}) if f in catalogue.fields)
    firms_table(conn, duck, scope)
    casts = "".join(f", {typed('v.' + f, catalogue.fields[f].type)} AS {f}" for f in wanted)
    pivot = pivot_sql(found, wanted, as_of, "firms" if scope is not None else None)
    duck.execute(f"CREATE OR REPLACE TEMP TABLE snapshot_observed AS SELECT v.id{casts} FROM ({pivot}) AS v")
    with_derived(duck, "snapshot_observed", table, wanted, as_of)
    duck.execute("DROP TABLE snapshot_observed")
    count = int(duck.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    return Snapshot(table, as_of, top, tuple(wanted), count)


def with_derived(duck: Any, source: str, table: str, fields: Sequence[str], as_of: dt.date) -> None:
    """`table`: the rows of `source` (`id` and the observed `fields`) with each derived field that is
    NULL computed (an observed value wins), and the input hash."""
    derived = [f for f in fields if f in INPUTS]
    expressions = derived_sql(duck, source, derived, as_of)
    joins = " ".join(JOINS[f] for f in derived if f in JOINS)
    columns = "".join(f", COALESCE(p.{f}, {expressions[f]}) AS {f}" if f in expressions else f", p.{f}" for f in fields)
    city = f"COALESCE(substr(region_code, 1, 4), '0000') AS {CITY}, " if "region_code" in fields else ""
    duck.execute(
        f"CREATE OR REPLACE TABLE {table} AS SELECT {city}*, {input_hash_sql(fields, as_of)} AS {HASH}, "
        f"{present_sql(fields)} AS {PRESENT} FROM (SELECT p.id{columns} FROM {source} AS p {joins})"
        f"{' ORDER BY city, id' if city else ''}"
    )


def present_sql(fields: Sequence[str]) -> str:
    """`present` of a row holding `fields` (the others count as absent)."""
    order = presence_order()
    bits = [f"(CASE WHEN {f} IS NULL THEN 0 ELSE {1 << order.index(f)} END)" for f in fields if f in order]
    return f"CAST({' + '.join(bits) or '0'} AS BIGINT)"


def input_hash_sql(fields: Sequence[str], as_of: dt.date) -> str:
    """SHA-256 of the as-of date and every field's value as DuckDB prints it ('\\N' for none): what
    a decision on this enterprise was made on (the data hash of the cases a run opens)."""
    parts = [f"'{as_of.isoformat()}'"] + [f"COALESCE(CAST({f} AS VARCHAR), '{_NULL_MARK}')" for f in fields]
    return f"sha256({' || chr(124) || '.join(parts)})"


def firms_table(conn: Connection, duck: Any, scope: Collection[str] | None) -> None:
    """`firms(id)`: the enterprises to read — every registered one, or those of `scope`."""
    query = select(enterprises.c.uscc)
    if scope is not None:
        wanted = sorted(set(scope))
        found: list[str] = []
        for i in range(0, len(wanted), 500):
            found += [r[0] for r in conn.execute(query.where(enterprises.c.uscc.in_(wanted[i : i + 500])))]
    else:  # a province's USCCs straight from the driver: SQLAlchemy's rows cost a second per million
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("SELECT uscc FROM enterprises")
        found = [r[0] for r in cursor.fetchall()]
    duck.execute("CREATE OR REPLACE TEMP TABLE firms AS SELECT unnest(?::VARCHAR[]) AS id", [found])


def evaluator_profiles(duck: Any, table: str, fields: Sequence[str]) -> list[Profile]:
    """Rows of a snapshot table as the Python evaluator's profiles (values only; tags as sets)."""
    catalogue = load_catalogue()
    names = [f for f in fields if f in catalogue.fields]
    rows = duck.execute(f"SELECT id{''.join(', ' + n for n in names)} FROM {table} ORDER BY id").fetchall()
    tags = {n for n in names if catalogue.fields[n].type == FieldType.TAGS}
    out = []
    for row in rows:
        values = {
            name: frozenset(t for t in value.split("|") if t) if name in tags else value
            for name, value in zip(names, row[1:], strict=True)
            if value is not None
        }
        out.append(Profile(row[0], values))
    return out
