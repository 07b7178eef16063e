"""Tables for people to open in a spreadsheet (CSV and XLSX): the one writer every export uses.

Any text in an export may come from outside — a policy title, an enterprise name from a
department's file, a rejected row of an upload — and a spreadsheet runs a cell that starts with
`=`, `+`, `-` or `@` (or a tab or line break before one) as a formula: `=HYPERLINK(…)` becomes a
live link, `=cmd|…` a command on old Excel (CSV/formula injection, OWASP). Such a cell is written
with a leading apostrophe, which spreadsheets show as text; plain numbers such as `-12.50` are
left alone. XLSX cells are all written as text, so amounts stay exact and codes keep their zeros.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def safe_cell(value: Any) -> str:
    """The cell as text a spreadsheet will not run."""
    text = "" if value is None else str(value)
    stripped = text.lstrip(" \t\r\n")
    if stripped[:1] in TRIGGERS and stripped and not NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_rows(rows: Iterable[Iterable[Any]]) -> Iterable[list[str]]:
    return ([safe_cell(v) for v in row] for row in rows)


def write_csv(handle: IO[str], header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> None:
    writer = csv.writer(handle)
    writer.writerow(safe_cell(v) for v in header)
    writer.writerows(safe_rows(rows))


def csv_bytes(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    """UTF-8 with a BOM, so Excel reads the Chinese."""
    buffer = io.StringIO()
    write_csv(buffer, header, rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def save_csv(path: Path, header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # BOM: opens in Excel
        write_csv(handle, header, rows)


def save_xlsx(target: Path | IO[bytes], title: str, header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> None:
    """One sheet, written row by row (100,000 rows fit); every cell text."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append([safe_cell(v) for v in header])
    for row in safe_rows(rows):
        sheet.append(row)
    book.save(target)


def xlsx_bytes(title: str, header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    buffer = io.BytesIO()
    save_xlsx(buffer, title, header, rows)
    return buffer.getvalue()
