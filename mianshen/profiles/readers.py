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

from mianshen import filecheck
from mianshen.errors import InputError
from mianshen.sqlgen.duck import duckdb_connect

Row = tuple[int, dict[str, Any]]
FORMATS = (".csv", ".xlsx", ".parquet", ".jsonl")


def read_rows(path: str | Path) -> Iterator[Row]:
    """The file's rows; measured first (filecheck: content matches the name, zip sizes, columns),
    and counted while read."""
    file = Path(path)
    suffix = file.suffix.lower()
    if not file.is_file():
        raise InputError("文件不存在", str(path))
    if suffix not in (*FORMATS, ".ndjson"):
        raise InputError(f"不支持的文件格式“{suffix}”，可用：{'、'.join(FORMATS)}", file.name)
    filecheck.check_file(file)
    if suffix == ".csv":
        _csv_header(file)
        return _csv(file)
    if suffix == ".xlsx":
        return _xlsx(file)
    if suffix == ".parquet":
        _parquet_shape(file)
        return _parquet(file)
    return _jsonl(file)


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


def _csv_header(file: Path) -> None:
    """The header line, read at most MAX_LINE bytes: a million columns is refused, not parsed."""
    with file.open("rb") as handle:
        line = handle.readline(filecheck.MAX_LINE + 1)
    if len(line) > filecheck.MAX_LINE:
        raise InputError(f"表头一行超过 {filecheck.MAX_LINE // filecheck.MB} MB，未予导入", file.name)
    try:
        header = next(csv.reader([line.decode("utf-8-sig")]), [])
    except (UnicodeDecodeError, csv.Error):
        return  # the row reader names the problem
    filecheck.check_columns(len(header), file.name)
    filecheck.check_header([h.strip() for h in header], file.name)


def _csv(file: Path) -> Iterator[Row]:
    number = 1
    try:
        with file.open(encoding="utf-8-sig", newline="") as handle:  # Excel writes a BOM
            records = csv.reader(handle)
            header = next(records, None)
            if header is None:
                return
            for record in records:
                if record:  # a blank line is no row (as csv.DictReader skips it)
                    number += 1
                    filecheck.count_row(number, filecheck.MAX_ROWS, file.name)
                    yield number, csv_row(header, record)
    except UnicodeDecodeError as exc:
        raise InputError("CSV 文件不是 UTF-8 编码（可在 Excel 中另存为“CSV UTF-8”）", file.name) from exc
    except csv.Error as exc:  # a cell over csv.field_size_limit, a NUL: the file is not a table
        raise InputError(
            f"CSV 文件第 {number + 1} 行附近无法读取（某格过长或含非法字符，一格最多 131072 字）", file.name
        ) from exc


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
        sheet = book.worksheets[0]
        # the sheet's declared size: a sheet claiming a million columns is refused before it is read
        filecheck.check_columns(int(sheet.max_column or 0), file.name)
        rows = sheet.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        filecheck.check_columns(len(header), file.name)
        filecheck.check_header(header, file.name)
        for number, values in enumerate(rows, start=2):
            filecheck.count_row(number, filecheck.MAX_XLSX_ROWS, file.name)
            if len(values) > filecheck.MAX_COLUMNS:
                filecheck.check_columns(len(values), file.name)
            if all(v is None for v in values):
                continue
            padded = list(values) + [None] * (len(header) - len(values))  # Excel omits trailing empty cells
            yield number, {h: _cell(v) for h, v in zip(header, padded, strict=False) if h}
        book.close()
    except InputError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged file, also midway
        raise InputError("无法读取 Excel 文件（文件已损坏，或不是 Excel 2007 及以后的 .xlsx 格式）", file.name) from exc


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _parquet_shape(file: Path) -> None:
    """Rows and columns from the file's own metadata, before a row is read."""
    conn = duckdb_connect()
    try:
        rows = conn.execute("SELECT sum(num_rows) FROM parquet_file_metadata(?)", [str(file)]).fetchone()
        columns = conn.execute("SELECT count(*) FROM parquet_schema(?)", [str(file)]).fetchone()
    except Exception as exc:
        raise InputError("无法读取 Parquet 文件（文件已损坏或不是 Parquet 格式）", file.name) from exc
    finally:
        conn.close()
    filecheck.count_row(int((rows or [0])[0] or 0) + 1, filecheck.MAX_ROWS + 1, file.name)
    filecheck.check_columns(int((columns or [0])[0] or 0) - 1, file.name)  # the schema's root counts too


def _parquet(file: Path) -> Iterator[Row]:
    conn = duckdb_connect()
    try:
        cursor = conn.execute("SELECT * FROM read_parquet(?)", [str(file)])
        names = [d[0] for d in cursor.description]
        number = 1
        while batch := cursor.fetchmany(10000):
            for values in batch:
                number += 1
                yield number, dict(zip(names, values, strict=True))
    except Exception as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError("无法读取 Parquet 文件（文件已损坏或不是 Parquet 格式）", file.name) from exc
    finally:
        conn.close()


def _jsonl(file: Path) -> Iterator[Row]:
    number = 0
    try:
        with file.open(encoding="utf-8") as handle:
            while line := handle.readline(filecheck.MAX_LINE + 1):
                number += 1
                if len(line) > filecheck.MAX_LINE:
                    raise InputError(f"第 {number} 行超过 {filecheck.MAX_LINE // filecheck.MB} MB，未予导入", file.name)
                filecheck.count_row(number, filecheck.MAX_ROWS, file.name)
                if line.strip():
                    row = json_row(line)
                    filecheck.check_columns(len(row), file.name)
                    yield number, row
    except UnicodeDecodeError as exc:
        raise InputError(f"第 {number + 1} 行不是 UTF-8 编码，未予导入", file.name) from exc


def json_row(line: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"__error__": f"不是有效的 JSON：{exc.msg}"}
    except RecursionError:  # thousands of nested brackets
        return {"__error__": "不是有效的 JSON：嵌套层数过多"}
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
