"""A file someone hands the platform is measured before it is parsed (issue 16, M5: a 56 KB XLSX of
300,000 rows froze the server for 47 s; a 560 KB one reached 3.4 GB; an 8 MB CSV whose header had a
million columns used 2.8 GB; a 438 KB DOCX froze drafting for 118 s).

- its content must be what its name says (magic bytes): a renamed file is refused by name;
- a zip container (XLSX, DOCX, OFD) is refused when its entries declare more than the format's cap
  uncompressed, or one entry expands more than MAX_RATIO times; Python's zipfile never yields more
  than an entry declares (it stops there and fails the CRC), so the declared sizes bound the reading;
- rows and columns are counted while reading (`count_row`, `check_columns`), and a file with more
  than MAX_REJECTS bad rows is refused as a whole: nothing of it is imported.

Every refusal is an InputError in Chinese naming the file (its name only, never a temporary path).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from mianshen.errors import InputError

MB = 1024 * 1024
MAX_ROWS = 10_000_000  # CSV, JSON Lines, Parquet: twice the largest import the benchmarks make
MAX_XLSX_ROWS = 1_048_576  # Excel's own last row: a sheet with more was not written by Excel
MAX_COLUMNS = 1000  # a data source maps a few dozen; the catalogue has fewer than 300 fields
MAX_LINE = 1 * MB  # a CSV header or one JSON Lines record
MAX_REJECTS = 1000  # bad rows before the whole file is refused
MAX_RATIO = 200  # uncompressed / compressed for one zip entry over 1 MB
MAX_ENTRIES = 10_000
UNZIPPED = {".xlsx": 200 * MB, ".docx": 20 * MB, ".ofd": 200 * MB, ".zip": 200 * MB}

_ZIP = b"PK\x03\x04"
MAGIC: dict[str, tuple[bytes, ...]] = {
    ".xlsx": (_ZIP,),
    ".docx": (_ZIP,),
    ".ofd": (_ZIP,),
    ".zip": (_ZIP,),
    ".parquet": (b"PAR1",),
    ".pdf": (b"%PDF",),
    ".png": (b"\x89PNG",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".doc": (b"\xd0\xcf\x11\xe0",),
    ".xls": (b"\xd0\xcf\x11\xe0",),
}
TEXT = {".csv", ".jsonl", ".ndjson", ".txt", ".yaml", ".yml"}  # no NUL, no binary container
_BINARY = (_ZIP, b"PAR1", b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"\xd0\xcf\x11\xe0")
KIND_NAMES = {
    ".xlsx": "Excel（.xlsx）",
    ".docx": "Word（.docx）",
    ".parquet": "Parquet",
    ".csv": "CSV",
    ".jsonl": "JSON Lines",
    ".pdf": "PDF",
    ".png": "PNG 图片",
    ".jpg": "JPG 图片",
    ".jpeg": "JPG 图片",
}


def check_file(path: Path, name: str | None = None) -> None:
    """Magic bytes for the file's suffix, and for a zip container its declared sizes."""
    shown = name or path.name
    suffix = Path(shown).suffix.lower() or path.suffix.lower()
    with path.open("rb") as handle:
        head = handle.read(4096)
    kind = KIND_NAMES.get(suffix, suffix.lstrip(".").upper())
    if suffix in MAGIC and not head.startswith(MAGIC[suffix]):
        raise InputError(f"文件内容不是 {kind} 文件（扩展名与内容不符），请上传原始文件", shown)
    if suffix in TEXT and (b"\0" in head or head.startswith(_BINARY)):
        raise InputError(f"文件内容不是文本（扩展名为 {suffix}，内容却是二进制文件），请上传原始文件", shown)
    if suffix in UNZIPPED:
        check_zip(path, UNZIPPED[suffix], shown)


def check_zip(path: Path, cap: int, shown: str) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError("文件已损坏，无法打开（不是完整的压缩文件）", shown) from exc
    if len(entries) > MAX_ENTRIES:
        raise InputError(f"文件内含 {len(entries)} 个部件，超过上限 {MAX_ENTRIES}，疑似异常文件，未予处理", shown)
    total = sum(e.file_size for e in entries)
    if total > cap:
        raise InputError(f"文件解压后为 {total / MB:,.0f} MB，超过上限 {cap // MB} MB，未予处理；请拆分后上传", shown)
    for e in entries:
        if e.file_size > MB and e.file_size > MAX_RATIO * max(e.compress_size, 1):
            raise InputError(
                f"文件压缩比异常（{e.compress_size / 1024:,.0f} KB 解压为 {e.file_size / MB:,.0f} MB），"
                "疑似“压缩炸弹”，未予处理",
                shown,
            )


def count_row(number: int, cap: int, shown: str) -> None:
    if number > cap:
        raise InputError(f"文件超过 {cap:,} 行，未予导入；请拆分后分批导入", shown)


def check_columns(count: int, shown: str) -> None:
    if count > MAX_COLUMNS:
        raise InputError(f"表头有 {count:,} 列，超过上限 {MAX_COLUMNS} 列，未予导入", shown)


def check_header(names: list[str], shown: str) -> None:
    """A column named twice: which one holds the data is a guess, so the file is refused."""
    named = [n for n in names if n]
    twice = next((n for i, n in enumerate(named) if n in named[:i]), None) if len(set(named)) < len(named) else None
    if twice is not None:
        raise InputError(f"表头中“{twice}”出现了不止一次，无法确定取哪一列，未予导入", shown)


def too_many_rejects(number: int, shown: str) -> InputError:
    return InputError(
        f"错误行超过 {MAX_REJECTS} 行（至第 {number} 行），整个文件未导入、未留下任何记录；"
        "请确认选对了文件和数据源，修正后重新导入",
        shown,
    )
