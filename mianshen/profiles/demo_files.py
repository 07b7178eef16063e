"""Writers for the demo import files, one per data source, with deliberate data-quality problems.

Each file counts what it wrote, so the generator can say exactly how many rows the import must
reject (bad dates, non-numbers, malformed codes, a broken JSON line) and how many it must accept
with a warning (codes that fail only a check character). A corruption is placed on a chosen row
position rather than a chosen entity, because which entities appear in a sparse file is only known
while writing it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mianshen.profiles.demo_population import Entity


class Corruptions:
    """Which rows of one file get which deliberate defect; never a row whose USCC is already odd."""

    def __init__(self, rng: random.Random, kinds: tuple[str, ...], per_kind: int, bound: int) -> None:
        count = min(per_kind * len(kinds), max(bound, 1))
        positions = sorted(rng.sample(range(max(bound, 1)), count)) if kinds else []
        self.todo = [(p, kinds[i % len(kinds)]) for i, p in enumerate(positions)]
        self.done: dict[str, int] = {}

    def take(self, position: int, entity: Entity) -> str:
        if not self.todo or position < self.todo[0][0] or entity.check_problem:
            return ""
        kind = self.todo.pop(0)[1]
        self.done[kind] = self.done.get(kind, 0) + 1
        return kind


class OutFile:
    """Common counters; subclasses write CSV, JSON Lines, a CSV staged for Parquet, or XLSX."""

    def __init__(self, path: Path, header: list[str], corruptions: Corruptions) -> None:
        self.path, self.header, self.corruptions = path, header, corruptions
        self.rows = self.rejects = self.warnings = self.missing = self.stale = self.conflicts = 0

    def defect(self, entity: Entity) -> str:
        kind = self.corruptions.take(self.rows, entity)
        self.rows += 1
        if kind:
            self.rejects += 1
        elif entity.check_problem:
            self.warnings += 1
        return kind

    def blank(self, rng: random.Random, value: Any, share: float) -> Any:
        """Leave a value out (as real extracts do) so the profile shows it as unknown, not as zero."""
        if rng.random() < share:
            self.missing += 1
            return None
        return value

    def write(self, values: list[Any]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.path.name,
            "rows": self.rows,
            "rejects": self.rejects,
            "warnings": self.warnings,
            "missing_values": self.missing,
            "stale_rows": self.stale,
            "conflicts": self.conflicts,
            "defects": dict(sorted(self.corruptions.done.items())),
        }


class CsvFile(OutFile):
    def __init__(self, path: Path, header: list[str], corruptions: Corruptions) -> None:
        super().__init__(path, header, corruptions)
        self.handle: IO[str] = path.open("w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.handle)
        self.writer.writerow(header)

    def write(self, values: list[Any]) -> None:
        self.writer.writerow(values)

    def close(self) -> None:
        self.handle.close()


class ParquetFile(CsvFile):
    """Staged as CSV (fast with csv.writer), then typed and written by DuckDB's COPY: no pyarrow needed."""

    def __init__(self, path: Path, columns: list[tuple[str, str]], corruptions: Corruptions) -> None:
        self.columns = columns
        self.target = path
        super().__init__(path.with_suffix(".staging.csv"), [c for c, _ in columns], corruptions)

    def close(self) -> None:
        from mianshen.sqlgen.engines import duckdb_connect

        super().close()
        casts = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in self.columns)
        conn = duckdb_connect()
        try:
            # all_varchar: the staged text is typed here, once; bad text stays in VARCHAR columns on purpose
            conn.execute(
                f"COPY (SELECT {casts} FROM read_csv('{self.path}', header=true, all_varchar=true)) "
                f"TO '{self.target}' (FORMAT parquet, COMPRESSION zstd)"
            )
        finally:
            conn.close()
        self.path.unlink()
        self.path = self.target


class JsonlFile(OutFile):
    def __init__(self, path: Path, header: list[str], corruptions: Corruptions) -> None:
        super().__init__(path, header, corruptions)
        self.handle: IO[str] = path.open("w", encoding="utf-8")

    def write(self, values: list[Any]) -> None:
        # every key is written, null when unknown: a missing key is a reject ("缺少列"), null is just unknown
        self.handle.write(json.dumps(dict(zip(self.header, values, strict=True)), ensure_ascii=False) + "\n")

    def write_broken(self, values: list[Any]) -> None:
        """An export cut off mid-line: the import must reject exactly this line."""
        text = json.dumps(dict(zip(self.header, values, strict=True)), ensure_ascii=False)
        self.handle.write(text[: len(text) // 2] + "\n")

    def close(self) -> None:
        self.handle.close()


class XlsxFile(OutFile):
    """openpyxl write-only mode streams rows to disk; only the small tagged set goes here."""

    def __init__(self, path: Path, header: list[str], corruptions: Corruptions) -> None:
        from openpyxl import Workbook

        super().__init__(path, header, corruptions)
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet("企业资质")
        self.sheet.append(header)

    def write(self, values: list[Any]) -> None:
        self.sheet.append(values)

    def close(self) -> None:
        self.book.save(self.path)


@dataclass
class DemoSummary:
    enterprises: int
    seed: int
    as_of: dt.date
    out: Path
    seconds: float
    files: list[dict[str, Any]]
    bad_uscc: dict[str, str]  # deliberately check-failing code → "outer" / "inner"

    @property
    def rejects(self) -> int:
        return sum(f["rejects"] for f in self.files)

    def manifest(self) -> dict[str, Any]:
        return {
            "enterprises": self.enterprises,
            "seed": self.seed,
            "as_of": self.as_of.isoformat(),
            "files": self.files,
            "bad_uscc": self.bad_uscc,
        }
