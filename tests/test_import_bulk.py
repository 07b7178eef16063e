"""The bulk import gives what checking every row in Python gives, in every file format.

Each file holds ordinary rows and awkward ones (bad check characters, lower-case codes, blanks,
numbers with commas, spaces or full-width digits, out-of-range values, malformed dates, repeated
codes, broken JSON lines). The expected result is computed the old way: read_rows → check_row row
by row, a USCC seen twice in the file rejected the second time.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from mianshen.errors import InputError
from mianshen.profiles import bulk_load
from mianshen.profiles.bulk_load import _plain_bytes
from mianshen.profiles.imports import import_file
from mianshen.profiles.readers import read_rows
from mianshen.profiles.sources import get_source, load_source_file, register_source
from mianshen.profiles.validate import check_row
from mianshen.reference.uscc import make_uscc
from mianshen.store.schema import enterprises, import_rejects, observations

DAY = dt.date(2025, 6, 30)
SOURCES = """\
sources:
  - id: mixed
    name: 混合
    department: 测试
    as_of_column: 数据日期
    columns:
      统一社会信用代码: uscc
      名称: name
      从业人数: employees
      营业收入（万元）: {field: revenue_last_year, unit: 万元}
      总资产: total_assets
      参保平均: insured_avg_last_year
      增速: {field: main_revenue_growth_q1, unit: "%"}
      成立日期: established_on
      失信: serious_dishonesty
      类型: subject_type
      行业: industry_code
      标签: enterprise_tags
      路径: region_path
"""
HEADER = ["统一社会信用代码", "名称", "数据日期", "从业人数", "营业收入（万元）", "总资产", "参保平均", "增速"]
HEADER += ["成立日期", "失信", "类型", "行业", "标签", "路径"]
GOOD = ["", "甲公司", "2025-03-31", "15", "1234.56", "6300231.96", "65.21", "12.5", "2020-01-01", "否", "企业"]
GOOD += ["C3011", "高新技术企业", "河南省"]
AWKWARD: dict[str, list[Any]] = {
    "名称": ["  两端空格 ", "\u3000全角空格\u3000", "", 12345],
    "数据日期": ["2025-02-29", "20250331", " 2025-03-31 ", "", "2025-3-31", dt.date(2025, 3, 31)],
    "从业人数": ["1,234", " 12 ", "+5", "007", "12.0", "12.5", "１２", "-0", "", 12, 12.0, True, 10**16],
    "营业收入（万元）": ["300万", "1e3", "0.00001", "99999999999.9999", "-0", "", 1.5, "abc"],
    "总资产": ["999999999999999", "1000000000000000", "123456789012345.6", "0.00000000001", "1.50", 0.1],
    "参保平均": ["NaN", "inf", "5.", ".5", " 6.5 ", 1e-05, 65.21],
    "增速": ["5%", "0.123456789", "-3", "0"],
    "成立日期": ["2021-02-30", "2020-1-1", "２０２０-01-01", "0000-01-01", "2020-W01-1", ""],
    "失信": ["是", "true", "TRUE", " 否", "1", True, 0],
    "类型": [" 企业 ", "公司", "个体工商户"],
    "行业": ["3011", "c3011", "Z9999", "C30", 3011],
    "标签": ["高新技术企业，规上工业企业", "不存在", "", ["专精特新中小企业"]],
    "路径": [" 郑州 ", "\x85x", "a|b", 7],
}


def rows() -> list[list[Any]]:
    """The ordinary row with each awkward value in turn, then codes that are themselves awkward."""
    made: list[list[Any]] = []
    for column, values in AWKWARD.items():
        for value in values:
            row = list(GOOD)
            row[HEADER.index(column)] = value
            made.append(row)
    for row_number, row in enumerate(made):
        row[0] = make_uscc("9", "1", "410102", f"{row_number:08d}")
    good = make_uscc("9", "1", "410102", "MA5CJQ4N")
    for code in [good.lower(), f" {good} ", good[:17] + "0", "91110108551385082F", good[:17], "", "ＡＢＣ", good]:
        made.append([code, *GOOD[1:]])  # the last repeats the lower-case one: a duplicate
    made.append([made[0][0], *GOOD[1:]])  # repeats the first row's code
    return made


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


def write(path: Path, table: list[list[Any]]) -> None:
    suffix = path.suffix
    if suffix == ".csv":
        quoted = "quoted" in path.name
        texts = [[as_text(v) for v in row] for row in table]
        if not quoted:  # a plain file, read by DuckDB itself: no cell that would need quotes
            texts = [row for row in texts if not any(c in v for v in row for c in ',"\r\n')]
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_ALL if quoted else csv.QUOTE_MINIMAL)
            writer.writerow(HEADER)
            writer.writerows(texts)
    elif suffix == ".jsonl":
        with path.open("w", encoding="utf-8") as handle:
            for i, row in enumerate(table):
                record = {h: (v.isoformat() if isinstance(v, dt.date) else v) for h, v in zip(HEADER, row, strict=True)}
                if i == 3:
                    del record["总资产"]  # a missing key is a reject, null is just unknown
                if i == 5:
                    handle.write('{"统一社会信用代码": "broken\n')
                if i == 7:
                    handle.write("\n[1, 2]\n")
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("s")
        sheet.append(HEADER)
        for row in table:
            sheet.append([", ".join(v) if isinstance(v, list) else v for v in row])
        book.save(path)
    else:  # Parquet, typed columns: an unreadable value becomes NULL
        from mianshen.sqlgen.duck import duckdb_connect

        staging = path.with_suffix(".csv")
        write(staging, table)
        types = {
            "从业人数": "BIGINT",
            "总资产": "DECIMAL(18,2)",
            "参保平均": "DOUBLE",
            "成立日期": "DATE",
            "失信": "BOOLEAN",
        }
        casts = ", ".join(f'TRY_CAST("{h}" AS {types.get(h, "VARCHAR")}) AS "{h}"' for h in HEADER)
        conn = duckdb_connect()
        conn.execute(f"CREATE TABLE staged AS SELECT * FROM read_csv('{staging}', header = true, all_varchar = true)")
        conn.execute(f"COPY (SELECT {casts} FROM staged) TO '{path}' (FORMAT parquet)")
        conn.close()
        staging.unlink()


def expected(engine: Engine, file: Path) -> dict[str, Any]:
    """The old way, row by row, with repeated codes rejected across the whole file."""
    with engine.connect() as conn:
        source = get_source(conn, "mixed")
    seen: set[str] = set()
    found: dict[str, Any] = {"obs": Counter(), "rejects": [], "firms": {}, "read": 0}
    for number, raw in read_rows(file):
        found["read"] += 1
        checked = check_row(source, number, raw, DAY)
        if checked.uscc in seen and not checked.errors:
            checked.errors.append(f"统一社会信用代码 {checked.uscc} 在本文件中重复出现")
        text = json.dumps(raw, ensure_ascii=False, default=str)
        if checked.errors:
            reason = "；".join(checked.errors + checked.warnings)
            found["rejects"].append((number, "error", checked.uscc, reason, text))
            continue
        assert checked.uscc and checked.as_of
        seen.add(checked.uscc)
        if checked.warnings:
            found["rejects"].append((number, "warning", checked.uscc, "；".join(checked.warnings), text))
        status = "check_failed" if checked.warnings else "valid"
        found["firms"][checked.uscc] = (checked.name, status, "；".join(checked.warnings) or None)
        for name, value in checked.values.items():
            found["obs"][(checked.uscc, name, value, checked.as_of.isoformat())] += 1
    return found


@pytest.mark.parametrize("name", ["plain.csv", "quoted.csv", "data.jsonl", "data.parquet", "data.xlsx"])
def test_bulk_import_equals_row_by_row(
    store: Engine, tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    with store.begin() as conn:
        for source in load_source_file(tmp_path / "sources.yaml"):
            register_source(conn, source)
    file = tmp_path / name
    write(file, rows())
    if name in ("plain.csv", "data.parquet"):  # DuckDB reads these itself, never the row reader

        def refuse(*args: object) -> None:
            raise AssertionError("read row by row")

        monkeypatch.setattr(bulk_load, "_python_rows", refuse)
    want = expected(store, file)
    report = import_file(store, "mixed", file, DAY)
    assert report.rows_read == want["read"]
    assert [(r["row_number"], r["severity"], r["uscc"], r["reason"], r["raw"]) for r in report.rejects] == want[
        "rejects"
    ]
    assert report.rejected == sum(r[1] == "error" for r in want["rejects"])
    assert report.warnings == sum(r[1] == "warning" for r in want["rejects"])
    assert report.observations == sum(want["obs"].values())
    with store.connect() as conn:
        got = Counter(
            (u, f, v, d if isinstance(d, str) else d.isoformat())
            for u, f, v, d in conn.execute(
                select(observations.c.uscc, observations.c.field, observations.c.value, observations.c.as_of)
            )
        )
        firms = {u: (n, s, p) for u, n, s, p in conn.execute(select(enterprises).with_only_columns(
            enterprises.c.uscc, enterprises.c.name, enterprises.c.uscc_status, enterprises.c.uscc_problems
        ))}  # fmt: skip
        stored = conn.execute(
            select(import_rejects.c.row_number, import_rejects.c.reason).order_by(import_rejects.c.id)
        ).all()
    assert got == want["obs"]
    assert firms == want["firms"]
    assert [tuple(r) for r in stored] == [(r[0], r[3]) for r in want["rejects"]]
    assert any(r[1] == "warning" for r in want["rejects"]) and len(want["obs"]) > 100  # not a vacuous file


def test_plain_csv_is_recognised_by_its_bytes(tmp_path: Path) -> None:
    cases = {
        "a,b\n1,2\n": True,
        "\ufeffa,b\r\n1,2\r\n": True,
        'a,b\n"1",2\n': False,  # quotes: only the csv module decides what they mean
        "a,b\r\n1,2\n": False,  # mixed line ends
        "a,b\r1,2\r": False,  # old Mac line ends
        "\na,b\n1,2\n": False,  # a blank first line is csv.DictReader's (empty) header
        "a,b\n1\x002\n": False,
    }
    for i, (text, plain) in enumerate(cases.items()):
        path = tmp_path / f"{i}.csv"
        path.write_bytes(text.encode("utf-8"))
        assert _plain_bytes(path) is plain, text


def test_a_repeated_code_is_rejected_even_close_by(store: Engine, tmp_path: Path) -> None:
    """The row-by-row import only noticed a repeat across its 20,000-row chunks; now anywhere."""
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    with store.begin() as conn:
        for source in load_source_file(tmp_path / "sources.yaml"):
            register_source(conn, source)
    code = make_uscc("9", "1", "410102", "00000001")
    file = tmp_path / "twice.csv"
    write(file, [[code, *GOOD[1:]], [code.lower(), *GOOD[1:]]])
    report = import_file(store, "mixed", file, DAY)
    assert (report.accepted, report.rejected) == (1, 1)
    assert report.rejects[0]["row_number"] == 3 and "重复出现" in report.rejects[0]["reason"]


def test_csv_rows_are_what_dictreader_made(tmp_path: Path) -> None:
    """readers._csv builds rows from csv.reader; they must be csv.DictReader's, as before."""
    cases = [
        "",
        "\n",
        "\na,b\n1,2\n",
        "a,b\n",
        'a,b\n1\n1,2,3\n\n\n"x\ny",2\n',
        '\ufeffa,b\r\n1,2\r\n\r\n3,"4""5"\r\n',
        'a,b\n"unterminated,2\n3,4',
        "a,b\r1,2\r3,4",
        "a,b\n x ,\t\n,,\n",
    ]
    for i, text in enumerate(cases):
        path = tmp_path / f"{i}.csv"
        path.write_text(text, encoding="utf-8", newline="")
        with path.open(encoding="utf-8-sig", newline="") as handle:
            before = [
                (n, {k.strip(): v for k, v in row.items() if k is not None})
                for n, row in enumerate(csv.DictReader(handle), start=2)
            ]
        assert list(read_rows(path)) == before, text
    # a header naming a column twice (after trimming) is refused since issue 16 (tests/test_attack_files.py)
    (tmp_path / "twice.csv").write_text("a ,a, a\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputError, match="出现了不止一次"):
        read_rows(tmp_path / "twice.csv")
