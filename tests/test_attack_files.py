"""Issue 16, M5 and the low items on files: decompression bombs, huge headers, floods of bad rows,
content that is not what its name says, and hostile upload names are refused as a whole, in Chinese,
before they cost the server memory or time and without writing anything."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine

from mianshen import filecheck
from mianshen.assist.document import read_document
from mianshen.errors import InputError
from mianshen.profiles.imports import import_file
from mianshen.profiles.readers import read_rows
from mianshen.store.schema import import_batches, import_rejects, list_rejects, list_uploads

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .test_profiles_import import DAY, count, setup_store
from .test_web_console_fixtures import login

HEADER = "统一社会信用代码,企业名称,主体类型,成立日期,行业代码,从业人数\n"


def xlsx_with_sheet(path: Path, sheet_xml: bytes) -> Path:
    """A real workbook whose first sheet is replaced by `sheet_xml` (compressed as Excel would)."""
    plain = io.BytesIO()
    book = Workbook()
    book.active.append(["统一社会信用代码"])  # type: ignore[union-attr]
    book.save(plain)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = sheet_xml if entry.filename == "xl/worksheets/sheet1.xml" else source.read(entry)
            target.writestr(entry.filename, data)
    return path


def rows_xml(rows: int) -> bytes:
    body = '<row><c t="inlineStr"><is><t>XYZ</t></is></c></row>' * rows  # rows need no numbers
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>统一社会信用代码</t></is></c></row>'
        f"{body}</sheetData></worksheet>"
    ).encode()


def test_an_xlsx_that_expands_a_thousand_fold_is_refused_unread(store: Engine, tmp_path: Path) -> None:
    setup_store(store, tmp_path)
    bomb = xlsx_with_sheet(tmp_path / "bomb.xlsx", rows_xml(300_000))
    assert bomb.stat().st_size < 2 * filecheck.MB  # small on disk, ~20 MB of rows inside
    with pytest.raises(InputError, match="压缩比异常") as refused:
        import_file(store, "market", bomb, DAY)
    assert "bomb.xlsx" in str(refused.value) and str(tmp_path) not in str(refused.value)
    assert count(store, import_batches) == 0 and count(store, import_rejects) == 0


def test_declared_sizes_over_the_cap_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(filecheck.UNZIPPED, ".xlsx", 1 * filecheck.MB)
    path = xlsx_with_sheet(tmp_path / "big.xlsx", b"<x>" + b"1234567890" * 150_000 + b"</x>")
    with pytest.raises(InputError, match="解压后为 .* MB，超过上限 1 MB"):
        read_rows(path)


def test_more_than_a_thousand_bad_rows_refuse_the_file_as_a_whole(store: Engine, tmp_path: Path) -> None:
    setup_store(store, tmp_path)
    flood = tmp_path / "flood.csv"
    flood.write_text(HEADER + "".join(f"BAD{n},某公司,企业,2020-01-01,C3011,3\n" for n in range(1500)), "utf-8")
    with pytest.raises(InputError, match="错误行超过 1000 行.*整个文件未导入"):
        import_file(store, "market", flood, DAY)
    assert count(store, import_batches) == 0 and count(store, import_rejects) == 0


def test_a_header_of_a_hundred_thousand_columns_is_refused(store: Engine, tmp_path: Path) -> None:
    setup_store(store, tmp_path)
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{n}" for n in range(100_000)) + "\n1\n", "utf-8")
    with pytest.raises(InputError, match="表头有 100,000 列，超过上限 1000 列"):
        import_file(store, "market", wide, DAY)
    assert count(store, import_batches) == 0


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("data.xlsx", HEADER.encode(), "扩展名与内容不符"),
        ("data.parquet", HEADER.encode(), "扩展名与内容不符"),
        ("data.csv", b"PK\x03\x04" + b"\0" * 100, "内容却是二进制文件"),
    ],
)
def test_content_must_match_the_extension(tmp_path: Path, name: str, content: bytes, said: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=said):
        read_rows(path)


def test_a_csv_cell_of_five_million_characters_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "name.csv"
    path.write_text('统一社会信用代码,企业名称\n91110108551385082Q,"' + "名" * 5_000_000 + '"\n', "utf-8")
    with pytest.raises(InputError, match="第 2 行附近无法读取"):
        list(read_rows(path))


def test_deeply_nested_json_is_a_bad_row_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}\n", "utf-8")
    assert [row for _, row in read_rows(path)] == [{"__error__": "不是有效的 JSON：嵌套层数过多"}]


def test_a_docx_bomb_is_refused_before_drafting(tmp_path: Path) -> None:
    import docx

    plain = tmp_path / "plain.docx"
    docx.Document().save(str(plain))
    bomb = tmp_path / "bomb.docx"
    body = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
    body += b"<w:p/>" * 4_000_000 + b"</w:body></w:document>"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            target.writestr(entry.filename, body if entry.filename == "word/document.xml" else source.read(entry))
    with pytest.raises(InputError, match=r"解压后为 \d+ MB，超过上限 20 MB"):
        read_document(bomb)


def test_a_very_long_text_is_refused_before_drafting(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("第一条 " + "企业" * 200_000, "utf-8")
    with pytest.raises(InputError, match="超过上限 300,000 字"):
        read_document(path)


# the demo population with the 名单类 policy of 科技厅 published
demo, populated, site, web_env = fx.demo, fx.populated, wf.site, wf.web_env


def test_hostile_list_uploads_are_clean_refusals_and_leave_nothing(site: Engine) -> None:
    client = login(site, "kj")
    url = "/api/console/policies/gaoqi-rending-jiangli/list"
    flood = "统一社会信用代码,金额,备注\n" + "123,100,坏\n" * 1500
    for name, content, said in (
        ("..", b"x", "文件名无效"),
        (".", b"x", "文件名无效"),
        ("名单.xlsx", "统一社会信用代码,金额\n".encode(), "扩展名与内容不符"),
        ("名单.csv", flood.encode(), "错误行超过 1000 行"),
    ):
        r = client.post(url, files={"file": (name, content, "text/csv")}, data={"csrf_token": wf.csrf(client)})
        assert r.status_code == 400, (name, r.text)
        message = r.json()["error"]["message"]
        assert said in message and tempfile.gettempdir() not in message, message
    assert count(site, list_uploads) == 0 and count(site, list_rejects) == 0


def test_implausible_values_are_rejected_rows(store: Engine, tmp_path: Path) -> None:
    """Employees −5, founded 0001-01-01 and a 300-character name were imported as data."""
    setup_store(store, tmp_path)
    odd = tmp_path / "odd.csv"
    rows = [
        "91110108551385082Q,甲公司,企业,2020-01-01,C3011,-5",
        "91440101MA5CJQ4N59,乙公司,企业,0001-01-01,C3011,3",
        f"91110108551385082F,{'名' * 300},企业,2020-01-01,C3011,3",
        "91370000728611939A,丙公司,企业,2020-01-01,C3011,0",
    ]
    odd.write_text(HEADER + "\n".join(rows) + "\n", "utf-8")
    report = import_file(store, "market", odd, DAY)
    reasons = {r["row_number"]: r["reason"] for r in report.rejects if r["severity"] == "error"}
    assert "不能为负数" in reasons[2] and "应在 1900 年至 2100 年之间" in reasons[3] and "企业名称过长" in reasons[4]
    assert report.accepted == 1


def test_a_column_named_twice_is_refused(store: Engine, tmp_path: Path) -> None:
    setup_store(store, tmp_path)
    twice = tmp_path / "twice.csv"
    twice.write_text(
        HEADER.replace("从业人数", "企业名称") + "91110108551385082Q,甲公司,企业,2020-01-01,C3011,乙公司\n", "utf-8"
    )
    with pytest.raises(InputError, match="表头中“企业名称”出现了不止一次"):
        import_file(store, "market", twice, DAY)
