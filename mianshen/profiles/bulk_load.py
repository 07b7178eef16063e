"""Loading an import file into DuckDB for column-wise checks, as type-tagged raw values.

Each needed cell becomes text that says which Python value the row reader would have produced:
`s` + the string, `i` + an int, `f` + the repr of a float, `g` + a DuckDB double's text, `d` + a
Decimal, `b1`/`b0` for a bool, `t` + an ISO date, NULL for None; `x` is a value the checks do not
know (a list, a timestamp, …) and `m` a key missing from a JSON object. Anything tagged `x` or
`m` sends its row to the row-by-row checker, so the tags only have to be exact, not complete.

Three ways in, all giving the table `src_rows(rn, whole, t0 … tn)` (`whole`: the row as a whole
is unreadable, e.g. broken JSON):
- a *plain* CSV (no quote characters, one line per record, ≥ 2 columns) is read by DuckDB itself;
  on such text DuckDB and Python's csv module split identically, and anything DuckDB rejects
  (ragged rows, bad UTF-8, over-long lines) falls back to the Python reader;
- Parquet is read by DuckDB, which is also what the row reader uses;
- anything else (quoted CSV, JSON Lines, XLSX) goes through the row reader itself, and only the
  tagged text crosses to DuckDB, 50,000 rows per string.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from mianshen import filecheck
from mianshen.profiles.readers import read_rows

ROWS_PER_LOAD = 50_000
_ROW, _CELL = "\x1e", "\x1f"  # record and unit separators: never in real data, checked anyway
# csv.field_size_limit(): a longer line may hold a field the csv module refuses, so such a file is
# left to the csv module (which then raises, as it always did)
_FIELD_LIMIT = 131072
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load(conn: Any, file: Path, columns: list[str]) -> bool:
    """Fill `src_rows` with the tagged `columns` of every row; True when DuckDB read the file itself
    (then a plain CSV's rows can be found again by line, see readers.rows_at)."""
    suffix = file.suffix.lower()
    if suffix == ".parquet":
        _parquet(conn, file, columns)
        return False
    if suffix == ".csv" and _plain_csv(conn, file, columns):
        return True
    _python_rows(conn, file, columns)
    return False


def _parquet(conn: Any, file: Path, columns: list[str]) -> None:
    described = conn.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(file)]).fetchall()
    types = {row[0]: str(row[1]) for row in described}
    if len(types) != len(described):  # duplicate names: let the row reader decide what they mean
        _python_rows(conn, file, columns)
        return
    tags = [_typed_tag(_quote(c), types[c]) if c in types else "'m'" for c in columns]
    _native(conn, f"read_parquet('{_literal(file)}')", tags)


def _typed_tag(column: str, kind: str) -> str:
    """The tag of a typed DuckDB column, matching the Python value DuckDB hands the row reader."""
    if kind == "VARCHAR":
        text = f"'s' || {column}"
    elif kind == "BOOLEAN":
        text = f"CASE WHEN {column} THEN 'b1' ELSE 'b0' END"
    elif kind in _INTEGERS or kind == "UHUGEINT":
        text = f"'i' || CAST({column} AS VARCHAR)"
    elif kind.startswith("DECIMAL"):
        text = f"'d' || CAST({column} AS VARCHAR)"
    elif kind in ("DOUBLE", "FLOAT"):
        text = f"'g' || CAST(CAST({column} AS DOUBLE) AS VARCHAR)"
    elif kind == "DATE":  # Python's date holds years 1–9999 only
        text = f"CASE WHEN isfinite({column}) AND year({column}) BETWEEN 1 AND 9999 THEN 't' || CAST({column} AS VARCHAR) ELSE 'x' END"
    else:
        text = "'x'"
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE {text} END"


def _plain_csv(conn: Any, file: Path, columns: list[str]) -> bool:
    import duckdb

    try:
        if not _plain_bytes(file):
            return False
        with file.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
    except UnicodeDecodeError:
        return False  # the row reader reports it in Chinese
    if len(header) < 2:  # DuckDB reads a blank line of a one-column file as a row; csv skips it
        return False
    # the cell each name reads, as csv_row resolves duplicate and padded header names
    position: dict[str, int] = {}
    for name, index in dict(zip(header, range(len(header)), strict=True)).items():
        position[name.strip()] = index
    tags = [f"'s' || coalesce(c{position[c]}, '')" if c in position else "'m'" for c in columns]
    types = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header)))
    source = (
        f"read_csv('{_literal(file)}', header = false, skip = 1, delim = ',', quote = '', escape = '', "
        f"auto_detect = false, strict_mode = true, null_padding = false, max_line_size = {_FIELD_LIMIT}, "
        f"columns = {{{types}}})"
    )
    try:  # an empty cell reads as NULL here and as "" in csv: both are blank, and tagged "s"
        _native(conn, source, tags)
    except duckdb.Error:  # ragged rows, bad UTF-8, long lines: DuckDB refuses, csv decides
        conn.execute("DROP TABLE IF EXISTS src_raw")
        return False
    (rows,) = conn.execute("SELECT count(*) FROM src_raw").fetchone()
    filecheck.count_row(int(rows) + 1, filecheck.MAX_ROWS, file.name)
    return True


def _plain_bytes(file: Path) -> bool:
    """No quote or NUL, one kind of line end, and a header on the first line."""
    crlf = lf = 0
    first = True
    with file.open("rb") as handle:
        while block := handle.read(1 << 24):
            if block.endswith(b"\r"):
                block += handle.read(1)
            if first:
                first = False
                body = block.removeprefix(b"\xef\xbb\xbf")
                if body.startswith((b"\n", b"\r")) or not body:
                    return False
            if b'"' in block or b"\0" in block:
                return False
            crlf += block.count(b"\r\n")
            lf += block.count(b"\n")
            if block.count(b"\r") != block.count(b"\r\n"):
                return False
    return crlf in (0, lf)


def _native(conn: Any, source: str, tags: list[str]) -> None:
    cells = ", ".join(f"{t} AS t{i}" for i, t in enumerate(tags))
    conn.execute(f"CREATE TABLE src_raw AS SELECT {cells} FROM {source}")
    # rowid follows the file (insertion order is kept), and the header is row 1
    conn.execute("CREATE VIEW src_rows AS SELECT rowid + 2 AS rn, false AS whole, * FROM src_raw")


def _python_rows(conn: Any, file: Path, columns: list[str]) -> None:
    cells = ", ".join(f"t{i} VARCHAR" for i in range(len(columns)))
    conn.execute(f"CREATE TABLE src_raw (rn BIGINT, whole BOOLEAN, {cells})")
    conn.execute("CREATE VIEW src_rows AS SELECT * FROM src_raw")
    split = ", ".join(f"nullif(r[{i + 3}], '') AS t{i}" for i in range(len(columns)))
    insert = (
        f"INSERT INTO src_raw SELECT CAST(r[1] AS BIGINT), r[2] = '1', {split} "
        f"FROM (SELECT string_split(unnest(string_split(?, chr({ord(_ROW)}))), chr({ord(_CELL)})) AS r)"
    )
    for chunk in _tagged_chunks(read_rows(file), columns):
        conn.execute(insert, [chunk])


def _tagged_chunks(rows: Iterator[tuple[int, dict[str, Any]]], columns: list[str]) -> Iterator[str]:
    unreadable = [""] * len(columns)
    cells = len(columns) + 1
    pending: list[str] = []
    for number, raw in rows:
        if "__error__" in raw:
            line = _CELL.join([str(number), "1", *unreadable])
        else:  # strings and None inline: the common cases, without a call per value
            values = [raw.get(c, _MISSING) for c in columns]
            tags = [("s" + v) if type(v) is str else ("" if v is None else tag(v)) for v in values]
            line = _CELL.join([str(number), "0", *tags])
            if line.count(_CELL) != cells or _ROW in line:  # a separator inside a value
                line = _CELL.join([str(number), "0", *(["x"] * len(columns))])
        pending.append(line)
        if len(pending) >= ROWS_PER_LOAD:
            yield _ROW.join(pending)
            pending = []
    if pending:
        yield _ROW.join(pending)


_MISSING = object()  # a key absent from a JSON object


def tag(value: Any) -> str:
    """A Python value as tagged text ("" for None); see the module docstring."""
    if value is _MISSING:
        return "m"
    kind = type(value)
    if kind is str:
        return "s" + value
    if value is None:
        return ""
    if kind is bool:
        return "b1" if value else "b0"
    if kind is int:
        return f"i{value}"
    if kind is float:
        return "f" + repr(value)
    if kind is Decimal:
        return "d" + str(value)
    if kind is dt.date:
        return "t" + value.isoformat()
    return "x"


def untag(text: str | None) -> Any:
    """The Python value a tag stands for (the inverse of `tag` and of the DuckDB tags)."""
    if text is None:
        return None
    kind, body = text[0], text[1:]
    if kind == "s":
        return body
    if kind == "i":
        return int(body)
    if kind in ("f", "g"):
        return float(body)
    if kind == "b":
        return body == "1"
    if kind == "d":
        return Decimal(body)
    if kind == "t":
        return dt.date.fromisoformat(body)
    raise ValueError(f"no value for tag {text[:1]!r}")


def _literal(file: Path) -> str:
    return str(file).replace("'", "''")
