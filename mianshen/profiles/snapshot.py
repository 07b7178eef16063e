"""Profile snapshots (画像快照): every enterprise's profile as of a date, as one wide table made by SQL.

DuckDB reads the observation mirror (mirror.py), keeps per (enterprise, field) the observation the
rule of current.py picks — the latest data date on or before the as-of date, then the source with
the smaller priority number, then the later batch — pivots them into one typed column per field,
and adds the derived tags (derive_sql.py) and one input hash per enterprise. `profile show` and the
portal still assemble one enterprise in Python (with sources, conflicts and reasons); this is the
same profile for a population, read by match runs, simulation, data quality and Spark exports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from mianshen.catalogue import FieldType, load_catalogue
from mianshen.errors import InputError
from mianshen.profiles import mirror
from mianshen.profiles.derive import INPUTS, with_inputs
from mianshen.profiles.derive_sql import JOINS, derived_sql
from mianshen.rules.profile import Profile
from mianshen.store.schema import data_sources, enterprises, import_batches

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
    files = list(mirror.ensure(conn, duck, top).values())
    wanted = sorted(f for f in with_inputs({*fields, "region_code"}) if f in catalogue.fields)
    firms_table(conn, duck, scope)
    sources_tables(conn, duck)
    observed = ", ".join(
        f"arg_max(value, {{'day': as_of, 'rank': -priority, 'batch': batch}}) FILTER (WHERE field = '{f}') AS {f}"
        for f in wanted
    )
    source = observations_sql(files)
    limited = "AND o.uscc IN (SELECT id FROM firms)" if scope is not None else ""
    pivot = (
        f"SELECT o.uscc{', ' + observed if observed else ''} FROM ({source}) AS o JOIN srcs AS s ON s.id = o.source_id "
        f"WHERE o.as_of <= DATE '{as_of.isoformat()}' AND o.field IN ({_names(wanted)}) {limited} GROUP BY o.uscc"
    )
    casts = ", ".join(f"{typed('v.' + f, catalogue.fields[f].type)} AS {f}" for f in wanted)
    duck.execute(
        f"CREATE OR REPLACE TEMP TABLE snapshot_observed AS SELECT f.id{', ' + casts if casts else ''} "
        f"FROM firms AS f LEFT JOIN ({pivot}) AS v ON v.uscc = f.id"
    )
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


def _names(fields: Sequence[str]) -> str:
    return ", ".join(f"'{f}'" for f in fields) or "NULL"


def observations_sql(files: Sequence[Path]) -> str:
    """Every mirror file, each row tagged with its batch (the file's name) and source."""
    if not files:
        return (
            "SELECT NULL::VARCHAR AS uscc, NULL::VARCHAR AS field, NULL::VARCHAR AS value, NULL::DATE AS as_of, "
            "NULL::BIGINT AS batch, NULL::VARCHAR AS source_id WHERE false"
        )
    listed = ", ".join(f"'{str(p).replace(chr(39), chr(39) * 2)}'" for p in files)
    return (
        "SELECT r.uscc, r.field, r.value, r.as_of, b.batch, b.source_id FROM "
        f"read_parquet([{listed}], filename = true) AS r JOIN batches AS b ON b.file = r.filename"
    )


def firms_table(conn: Connection, duck: Any, scope: Collection[str] | None) -> None:
    """`firms(id)`: the enterprises to read — every registered one, or those of `scope`."""
    query = select(enterprises.c.uscc)
    if scope is not None:
        wanted = sorted(set(scope))
        found: list[str] = []
        for i in range(0, len(wanted), 500):
            found += [r[0] for r in conn.execute(query.where(enterprises.c.uscc.in_(wanted[i : i + 500])))]
    else:
        found = [r[0] for r in conn.execute(query)]
    duck.execute("CREATE OR REPLACE TEMP TABLE firms AS SELECT unnest(?::VARCHAR[]) AS id", [found])


def sources_tables(conn: Connection, duck: Any) -> None:
    """`srcs(id, priority, freshness)` and `batches(file, batch, source_id)` for the pivot's precedence rule."""
    rows = conn.execute(select(data_sources.c.id, data_sources.c.priority, data_sources.c.freshness_days)).all()
    duck.execute(
        "CREATE OR REPLACE TEMP TABLE srcs AS SELECT unnest(?::VARCHAR[]) AS id, unnest(?::BIGINT[]) AS priority, "
        "unnest(?::BIGINT[]) AS freshness",
        [[r[0] for r in rows], [int(r[1]) for r in rows], [int(r[2]) for r in rows]],
    )
    batches = conn.execute(
        select(
            import_batches.c.id,
            import_batches.c.source_id,
            import_batches.c.file_sha256,
            import_batches.c.as_of,
            import_batches.c.imported_at,
        )
    ).all()
    folder = mirror.folder(conn)
    files = [str(folder / mirror.file_name(b.id, mirror.token(*b))) for b in batches]
    duck.execute(
        "CREATE OR REPLACE TEMP TABLE batches AS SELECT unnest(?::VARCHAR[]) AS file, unnest(?::BIGINT[]) AS batch, "
        "unnest(?::VARCHAR[]) AS source_id",
        [files, [b.id for b in batches], [b.source_id for b in batches]],
    )


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
