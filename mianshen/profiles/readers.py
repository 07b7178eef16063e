"""Reading import files row by row: CSV, XLSX, Parquet and JSON Lines, with their row numbers.

Row numbers are what a person sees when they open the file: CSV and XLSX count the header as
row 1, JSON Lines counts lines.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mianshen.errors import InputError

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


def _csv(file: Path) -> Iterator[Row]:
    try:
        with file.open(encoding="utf-8-sig", newline="") as handle:  # Excel writes a BOM
            for number, row in enumerate(csv.DictReader(handle), start=2):
                yield number, {k.strip(): v for k, v in row.items() if k is not None}
    except UnicodeDecodeError as exc:
        raise InputError("CSV 文件不是 UTF-8 编码（可在 Excel 中另存为“CSV UTF-8”）", str(file)) from exc


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
    from mianshen.sqlgen.engines import duckdb_connect

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
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, {"__error__": f"不是有效的 JSON：{exc.msg}"}
                continue
            yield number, row if isinstance(row, dict) else {"__error__": "每行应为一个 JSON 对象"}
