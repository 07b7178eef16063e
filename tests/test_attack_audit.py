"""Issue 16, M6 and M8: untrusted text is capped before it is audited or stored, and a hand-edited
audit row (an unknown algorithm, an unreadable time) is reported as the first broken row — by
`mianshen audit verify` and on /audit — instead of crashing."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine, func, select, text

from mianshen.audit.log import Actor, record, verify
from mianshen.cli.main import cli
from mianshen.store.schema import audit_log

from . import test_web_console_fixtures as wf
from .test_web_console_fixtures import enterprise_client, login, make_client

staffed = wf.staffed  # the fixture: a store with one account per staff role

HUGE = "x" * 1_000_000


def log_size(engine: Engine) -> int:
    sizes = [func.coalesce(func.length(audit_log.c[c]), 0) for c in ("actor", "entity_id", "before", "after")]
    with engine.connect() as conn:
        return int(conn.execute(select(func.sum(sizes[0] + sizes[1] + sizes[2] + sizes[3]))).scalar_one() or 0)


def test_huge_usernames_do_not_grow_the_log(staffed: Engine) -> None:
    before = log_size(staffed)
    client = make_client(staffed)
    client.get("/login")
    for _ in range(20):
        r = client.post("/login", data={"username": HUGE, "password": "x", "csrf_token": client.cookies["ms_csrf"]})
        assert r.status_code in (401, 429) and HUGE[:1000] not in r.text
    assert log_size(staffed) - before < 20 * 1000  # was 39 MB


def test_every_audited_field_is_capped(store: Engine) -> None:
    with store.begin() as conn:
        record(conn, Actor(HUGE, "public"), "objection", "case", HUGE, {"reason": HUGE}, {HUGE: list(range(10**5))})
    with store.connect() as conn:
        row = conn.execute(select(audit_log)).mappings().one()
        assert verify(conn).first_broken is None  # capped rows still chain
    assert len(row["actor"]) < 300 and len(row["entity_id"]) < 300
    assert len(row["before"]) < 3000 and len(row["after"]) < 20_000
    assert "已截断" in row["actor"]


def test_long_objections_and_corrections_are_refused_at_the_edge(staffed: Engine) -> None:
    anon = make_client(staffed)
    anon.get("/login")
    r = anon.post("/publicity/1/objection", data={"reason": "理由" * 2000, "csrf_token": anon.cookies["ms_csrf"]})
    assert r.status_code == 400 and "最多 2000 字" in r.text
    firm = enterprise_client(staffed, "91110108551385082Q")
    body = {"field": "insured_count", "value": "10", "reason": "数据有误" * 1000}
    r = firm.post("/api/my/corrections", json=body, headers={"X-CSRF-Token": firm.cookies["ms_csrf"]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "too_long"
    before = log_size(staffed)
    r = firm.post("/api/my/cases/1/object", json={"reason": HUGE}, headers={"X-CSRF-Token": firm.cookies["ms_csrf"]})
    assert r.status_code == 400 and log_size(staffed) == before


def tamper(engine: Engine, column: str, value: str) -> int:
    with engine.begin() as conn:
        for n in range(3):
            record(conn, Actor("系统", "system"), "test", "case", n)
        second = conn.execute(select(audit_log.c.id).order_by(audit_log.c.id).offset(1).limit(1)).scalar_one()
        conn.execute(text(f"UPDATE audit_log SET {column} = :v WHERE id = :id"), {"v": value, "id": second})
    return int(second)


def test_an_unknown_algorithm_is_the_first_broken_row(staffed: Engine, tmp_path: Path) -> None:
    broken = tamper(staffed, "algorithm", "md5")
    with staffed.connect() as conn:
        check = verify(conn)
    assert check.first_broken == broken and "哈希算法无法识别" in check.problem
    page = login(staffed, "aud").get("/audit")
    assert page.status_code == 200 and "哈希算法无法识别" in page.text
    api = login(staffed, "aud").get("/api/audit/verify").json()
    assert api["first_broken"] == broken


def test_audit_verify_command_reports_instead_of_crashing(tmp_path: Path) -> None:
    from mianshen.store.db import open_store

    url = f"sqlite:///{tmp_path}/store.sqlite"
    engine = open_store(url)
    broken = tamper(engine, "algorithm", "md5")
    result = CliRunner().invoke(cli, ["audit", "verify", "--db", url])
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    assert f"id={broken}" in result.output and "哈希算法无法识别" in result.output
    assert "Traceback" not in result.output and "ValueError" not in result.output


def test_an_unreadable_time_is_the_first_broken_row(tmp_path: Path) -> None:
    from mianshen.store.db import open_store

    engine = open_store(f"sqlite:///{tmp_path}/store.sqlite")  # PostgreSQL keeps no text in a time column
    broken = tamper(engine, "at", "not a time")
    with engine.connect() as conn:
        check = verify(conn)
    assert check.first_broken == broken and "时间无法识别" in check.problem
