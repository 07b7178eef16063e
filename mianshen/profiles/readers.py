"""Reading import files row by row: CSV, XLSX, Parquet and JSON Lines, with their row numbers.

Row numbers are what a person sees when they open the file: CSV and XLSX count the header as
row 1, JSON Lines counts lines.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mianshen.errors import InputError
from mianshen.sqlgen.duck import duckdb_connect

Row = tuple[int, dict[str, Any]]
FORMATS = (".csv", ".xlsx", ".parquet", ".jsonl")


def read_rows(path: str | Path) -> Iterator[Row]:
    file = Path(path)
    suffix = file.suffix.lower()
    if not file.is_file():
        raise InputError("文件不存在", str(path))
    if suffix == ".csv":
        return _csv(file)
    if suffix == ".xlsx":
        return _xlsx(file)
    if suffix == ".parquet":
        return _parquet(file)
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl(file)
    raise InputError(f"不支持的文件格式“{suffix}”，可用：{'、'.join(FORMATS)}", str(path))


def rows_at(path: str | Path, numbers: Iterable[int], plain_csv: bool = False) -> Iterator[Row]:
    """The rows with these numbers, exactly as `read_rows` yields them (for reject reports).

    Only the wanted rows are parsed: a Parquet file is filtered by row index, JSON Lines and a
    plain CSV (no quotes, so one line is one record; see bulk_load) are skipped line by line.
    """
    file, wanted = Path(path), sorted(set(numbers))
    if not wanted:
        return iter(())
    suffix = file.suffix.lower()
    if suffix == ".parquet":
        return _parquet_at(file, wanted)
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_at(file, wanted)
    if suffix == ".csv" and plain_csv:
        return _plain_csv_at(file, wanted)
    chosen = set(wanted)
    return (row for row in read_rows(file) if row[0] in chosen)


def _csv(file: Path) -> Iterator[Row]:
    try:
        with file.open(encoding="utf-8-sig", newline="") as handle:  # Excel writes a BOM
            records = csv.reader(handle)
            header = next(records, None)
            if header is None:
                return
            number = 1
            for record in records:
                if record:  # a blank line is no row (as csv.DictReader skips it)
                    number += 1
                    yield number, csv_row(header, record)
    except UnicodeDecodeError as exc:
        raise InputError("CSV 文件不是 UTF-8 编码（可在 Excel 中另存为“CSV UTF-8”）", str(file)) from exc


def csv_row(header: list[str], record: list[str]) -> dict[str, Any]:
    """One CSV record as csv.DictReader makes it (short rows padded with None, extra cells
    dropped, the last of duplicate headers winning), with the header names stripped."""
    row: dict[str | None, Any] = dict(zip(header, record, strict=False))
    for key in header[len(record) :]:
        row[key] = None
    return {k.strip(): v for k, v in row.items() if k is not None}


def _xlsx(file: Path) -> Iterator[Row]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InputError(f"无法读取 Excel 文件：{exc}", str(file)) from exc
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
    for number, values in enumerate(rows, start=2):
        if all(v is None for v in values):
            continue
        padded = list(values) + [None] * (len(header) - len(values))  # Excel omits trailing empty cells
        yield number, {h: _cell(v) for h, v in zip(header, padded, strict=False) if h}
    book.close()


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _parquet(file: Path) -> Iterator[Row]:
    conn = duckdb_connect()
    try:
        cursor = conn.execute("SELECT * FROM read_parquet(?)", [str(file)])
    except Exception as exc:
        raise InputError(f"无法读取 Parquet 文件：{exc}", str(file)) from exc
    names = [d[0] for d in cursor.description]
    number = 1
    while batch := cursor.fetchmany(10000):
        for values in batch:
            number += 1
            yield number, dict(zip(names, values, strict=True))
    conn.close()


def _jsonl(file: Path) -> Iterator[Row]:
    with file.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, json_row(line)


def json_row(line: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"__error__": f"不是有效的 JSON：{exc.msg}"}
    return row if isinstance(row, dict) else {"__error__": "每行应为一个 JSON 对象"}


def _jsonl_at(file: Path, wanted: list[int]) -> Iterator[Row]:
    todo = iter(wanted)
    target = next(todo)
    with file.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if number == target:
                if line.strip():
                    yield number, json_row(line)
                target = next(todo, 0)
                if not target:
                    return


def _plain_csv_at(file: Path, wanted: list[int]) -> Iterator[Row]:
    todo = iter(wanted)
    target = next(todo)
    with file.open("rb") as handle:
        header = next(csv.reader([handle.readline().decode("utf-8-sig")]))
        number = 1
        for line in handle:
            if line in (b"\n", b"\r\n"):
                continue  # blank: not a row
            number += 1
            if number == target:
                yield number, csv_row(header, next(csv.reader([line.decode("utf-8")])))
                target = next(todo, 0)
                if not target:
                    return


def _parquet_at(file: Path, wanted: list[int]) -> Iterator[Row]:
    conn = duckdb_connect()
    try:
        names = [d[0] for d in conn.execute("SELECT * FROM read_parquet(?) LIMIT 0", [str(file)]).description]
        if "file_row_number" in names:  # the index column DuckDB would add is taken: read them all
            chosen = set(wanted)
            yield from (row for row in _parquet(file) if row[0] in chosen)
            return
        listed = ", ".join(f'"{n.replace(chr(34), chr(34) * 2)}"' for n in names)
        cursor = conn.execute(
            f"SELECT file_row_number, {listed} FROM read_parquet(?, file_row_number = true) "
            "WHERE file_row_number IN (SELECT unnest(?)) ORDER BY file_row_number",
            [str(file), [n - 2 for n in wanted]],
        )
        while batch := cursor.fetchmany(10000):
            for index, *values in batch:
                yield index + 2, dict(zip(names, values, strict=True))
    finally:
        conn.close()
