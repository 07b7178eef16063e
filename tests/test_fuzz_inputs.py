"""Issue 16: hostile files through the importers, `data sources`, `policy check` and the upload
routes give clean Chinese errors, never a traceback or a 500. Hypothesis makes the files: random
bytes behind each format's magic, broken CSV and JSON Lines, mangled YAML; a small budget each (a few
seconds), so this runs with the normal suite."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from mianshen.cli.main import cli, load_commands
from mianshen.rules.loader import SHIPPED

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .test_profiles_import import MARKET, SOURCES
from .test_web_console_fixtures import login

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
SUFFIXES = (".csv", ".xlsx", ".parquet", ".jsonl")
demo, populated, site, web_env = fx.demo, fx.populated, wf.site, wf.web_env
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def clean(result: Result) -> None:
    """Either it worked, or it said why in Chinese and exited non-zero: no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    if result.exit_code:
        assert result.exit_code in (1, 2) and CHINESE.search(result.output), result.output


def cells() -> st.SearchStrategy[str]:
    tokens = st.sampled_from(list('a1,"\n\r\t;\0\ufeff-=统一代码 9') + ["91110108551385082Q", "2020-02-30", "-5"])
    return st.lists(tokens, max_size=40).map("".join)


def csv_bytes() -> st.SearchStrategy[bytes]:
    header = st.sampled_from([MARKET.splitlines()[0], "", "统一社会信用代码", ",,,", '"a""b'])
    return st.builds(lambda h, body: (h + "\n" + body).encode("utf-8", "surrogatepass"), header, cells())


def json_lines() -> st.SearchStrategy[bytes]:
    values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=8,
    )
    line = st.one_of(values.map(lambda v: yaml.safe_dump(v, allow_unicode=True)[:200]), st.text(max_size=30))
    return st.lists(line, max_size=5).map(lambda lines: "\n".join(x.replace("\n", " ") for x in lines).encode())


def zipped(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def hostile(suffix: str) -> st.SearchStrategy[bytes]:
    magic = {".xlsx": b"PK\x03\x04", ".parquet": b"PAR1"}.get(suffix, b"")
    parts = [st.binary(max_size=300), st.binary(max_size=300).map(lambda b: magic + b + magic)]
    if suffix == ".csv":
        parts.append(csv_bytes())
    if suffix == ".jsonl":
        parts.append(json_lines())
    if suffix == ".xlsx":
        names = st.sampled_from(["[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml", "x"])
        parts.append(st.dictionaries(names, st.binary(max_size=100), max_size=4).map(zipped))
    return st.one_of(parts)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    db = f"sqlite:///{folder / 'store.sqlite'}"
    load_commands()
    clean(CliRunner().invoke(cli, ["data", "sources", str(folder / "sources.yaml"), "--db", db]))
    yield db, folder


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_data_import_of_hostile_files_is_never_a_traceback(world: tuple[str, Path], suffix: str) -> None:
    db, folder = world

    @FUZZ
    @given(content=hostile(suffix))
    def run(content: bytes) -> None:
        path = folder / f"input{suffix}"
        path.write_bytes(content)
        rejects = folder / "rejects.csv"
        clean(
            CliRunner().invoke(
                cli, ["data", "import", "--source", "market", "--rejects", str(rejects), str(path), "--db", db]
            )
        )

    run()


def mangled(text: str) -> st.SearchStrategy[str]:
    """A real file with a slice cut out, a slice doubled, or junk spliced in."""
    cut = st.tuples(st.integers(0, len(text)), st.integers(0, len(text)), st.text(max_size=20))
    return st.one_of(
        cut.map(lambda c: text[: min(c[0], c[1])] + c[2] + text[max(c[0], c[1]) :]),
        cut.map(lambda c: text[: c[0]] + text[c[1] :] + text[c[1] :]),
        st.text(max_size=200),
        st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    )


def test_data_sources_with_hostile_definitions_is_never_a_traceback(world: tuple[str, Path]) -> None:
    db, folder = world

    @FUZZ
    @given(text=mangled(SOURCES))
    def run(text: str) -> None:
        path = folder / "hostile-sources.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        clean(CliRunner().invoke(cli, ["data", "sources", str(path), "--db", db]))

    run()


POLICY_TEXT = (SHIPPED / "wengang-fanhuan.yaml").read_text(encoding="utf-8")


def test_policy_check_of_hostile_files_is_never_a_traceback(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("policies")
    load_commands()

    @FUZZ
    @given(text=mangled(POLICY_TEXT))
    def run(text: str) -> None:
        path = folder / "hostile.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        clean(CliRunner().invoke(cli, ["policy", "check", str(path)]))
        clean(CliRunner().invoke(cli, ["policy", "check", "--json", str(path)]))

    run()


def test_upload_routes_answer_hostile_files_in_chinese(site: Engine) -> None:
    """The 名单 upload, the policy check and a data answer: 200 or a 4xx with a Chinese message."""
    kj, hr = login(site, "kj"), login(site, "hr")

    @FUZZ
    @given(
        suffix=st.sampled_from([".csv", ".xlsx", ".yaml", ".jsonl", ".parquet", ""]),
        name=st.sampled_from(["名单", "..", ".", "a/../b", "x" * 300]),
        content=st.one_of(hostile(".csv"), hostile(".xlsx"), st.text(max_size=200).map(str.encode)),
    )
    def run(suffix: str, name: str, content: bytes) -> None:
        files = {"file": (name + suffix, content, "application/octet-stream")}
        for client, url in (
            (kj, "/api/console/policies/gaoqi-rending-jiangli/list"),
            (hr, "/api/console/policies/check"),
        ):
            r = client.post(url, files=files, data={"csrf_token": wf.csrf(client)})
            assert r.status_code < 500, (url, r.text)
            if r.status_code >= 400:
                answer = r.json()  # an error, or a check's diagnostics: either way in Chinese
                said = answer.get("error", {}).get("message") or str(answer.get("check", {}).get("diagnostics"))
                assert CHINESE.search(said), (url, r.status_code, r.text)

    run()


SOURCE_HEAD = "sources:\n  - id: a\n    name: b\n    department: c\n"
HOSTILE_SOURCES = {
    "columns-a-number": SOURCE_HEAD + "    columns: 5\n",
    "priority-too-big": SOURCE_HEAD + "    priority: 99999999999999999999999\n    columns: {x: uscc}\n",
    "column-target-a-number": SOURCE_HEAD + "    columns: {1: 2}\n",
    "unit-a-number": SOURCE_HEAD + "    columns: {x: uscc, y: {field: employees, unit: 999}}\n",
    "unknown-key": SOURCE_HEAD + "    colums: {x: uscc}\n",
    "days-not-a-number": SOURCE_HEAD + "    freshness_days: abc\n    columns: {x: uscc}\n",
}


@pytest.mark.parametrize("case", sorted(HOSTILE_SOURCES))
def test_data_sources_findings_are_clean_errors(world: tuple[str, Path], case: str) -> None:
    """The six `data sources` tracebacks of the campaign, each a Chinese error naming the key now."""
    db, folder = world
    path = folder / f"{case}.yaml"
    path.write_text(HOSTILE_SOURCES[case], encoding="utf-8")
    result = CliRunner().invoke(cli, ["data", "sources", str(path), "--db", db])
    clean(result)
    assert result.exit_code == 2 and "第1个数据源" in result.output


def hostile_import(folder: Path, case: str) -> Path:
    header = MARKET.splitlines()[0]
    if case == "jsonl-not-utf8":
        (folder / "x.jsonl").write_bytes(b'{"a": 1}\n\xff\xfe{"b"}\n')
        return folder / "x.jsonl"
    if case == "csv-huge-cell":
        (folder / "x.csv").write_text(f'{header}\n91110108551385082Q,"{"名" * 200_000}",企业\n', "utf-8")
        return folder / "x.csv"
    if case == "xlsx-broken-sheet":
        book = io.BytesIO()
        from openpyxl import Workbook

        Workbook().save(book)
        with zipfile.ZipFile(book) as source:
            entries = {e.filename: source.read(e) for e in source.infolist()}
        entries["xl/worksheets/sheet1.xml"] = b"<worksheet><sheetData><row><c><v>1</v></c></row><row"
        (folder / "x.xlsx").write_bytes(zipped(entries))
        return folder / "x.xlsx"
    if case == "parquet-truncated":
        import duckdb

        duckdb.sql(f"COPY (SELECT 1 AS a) TO '{folder / 'x.parquet'}' (FORMAT parquet)")
        data = (folder / "x.parquet").read_bytes()
        (folder / "x.parquet").write_bytes(data[:12] + data[-8:])
        return folder / "x.parquet"
    (folder / "x.csv").write_bytes(f"{header}\n".encode() + b"\0\0\0,\n")  # csv-nul
    return folder / "x.csv"


@pytest.mark.parametrize(
    "case", ["jsonl-not-utf8", "csv-huge-cell", "xlsx-broken-sheet", "parquet-truncated", "csv-nul"]
)
def test_data_import_findings_are_clean_errors(world: tuple[str, Path], case: str) -> None:
    db, folder = world
    result = CliRunner().invoke(
        cli, ["data", "import", "--source", "market", str(hostile_import(folder, case)), "--db", db]
    )
    clean(result)


def test_policy_check_findings_are_clean_errors(tmp_path: Path) -> None:
    """A formula of half a million characters (RecursionError) and one of 20,000 minus signs (MemoryError)."""
    load_commands()
    for name, formula in (("long", "+".join(["ui_premium_paid_last_year"] * 20000)), ("minus", "-" * 20000 + "x")):
        path = tmp_path / f"{name}.yaml"
        path.write_text(
            POLICY_TEXT.replace("formula: ui_premium_paid_last_year * sme_return_rate", f"formula: {formula}"), "utf-8"
        )
        result = CliRunner().invoke(cli, ["policy", "check", str(path)])
        clean(result)
        assert "算式过长：最多 2000 字" in result.output


def test_malformed_json_to_the_policy_check_is_a_400(site: Engine) -> None:
    hr = login(site, "hr")
    headers = {"X-CSRF-Token": wf.csrf(hr), "content-type": "application/json"}
    for body in (b"{", b"[1, 2]", b'"text"', b"\xff", b'{"source": ' + b"[" * 5000 + b"]" * 5000 + b"}"):
        r = hr.post("/api/console/policies/check", content=body, headers=headers)
        assert 400 <= r.status_code < 500 and CHINESE.search(r.json()["error"]["message"]), (body[:20], r.text)
    long_formula = POLICY_TEXT.replace(
        "formula: ui_premium_paid_last_year * sme_return_rate", "formula: " + "-" * 20000 + "x"
    )
    r = hr.post("/api/console/policies/check", json={"source": long_formula}, headers={"X-CSRF-Token": wf.csrf(hr)})
    assert r.status_code == 422 and "算式过长" in r.text
