"""The audit chain: `mianshen audit verify` names the first tampered row; `audit log` lists events."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner
from sqlalchemy import Engine, select, text

from mianshen.audit.log import SYSTEM, Actor, _row_content, digest, record
from mianshen.cli import audit as _audit  # noqa: F401  (registers the command)
from mianshen.cli.main import cli
from mianshen.store.schema import audit_log

OFFICER = Actor("张三", "department", department="市工信局")


def _url(store: Engine) -> str:
    return store.url.render_as_string(hide_password=False)


def _fill(store: Engine, n: int = 5) -> list[int]:
    with store.begin() as conn:
        return [
            record(
                conn,
                OFFICER if i % 2 else SYSTEM,
                "case.approve",
                "case",
                i,
                {"state": "publicity"},
                {"state": "approved"},
            )
            for i in range(1, n + 1)
        ]


def _verify(store: Engine) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", "verify", "--db", _url(store)])
    return result.exit_code, result.output


def test_intact_chain_verifies(store: Engine) -> None:
    _fill(store)
    code, out = _verify(store)
    assert code == 0 and "审计链完整，共 5 行" in out


def test_editing_one_row_names_that_row(store: Engine) -> None:
    ids = _fill(store)
    with store.begin() as conn:
        conn.execute(text("UPDATE audit_log SET after = :a WHERE id = :i"), {"a": '{"state":"rejected"}', "i": ids[2]})
    code, out = _verify(store)
    assert code == 1 and f"id={ids[2]}" in out and "本行内容与其哈希不符" in out


def test_a_row_rehashed_after_editing_breaks_the_link_of_the_next_row(store: Engine) -> None:
    ids = _fill(store)
    with store.begin() as conn:  # a forger who recomputes the edited row's own hash
        row = dict(conn.execute(select(audit_log).where(audit_log.c.id == ids[1])).mappings().one())
        row["actor"] = "李四"
        if row["at"].tzinfo is None:
            row["at"] = row["at"].replace(tzinfo=dt.UTC)
        forged = digest(_row_content(row), row["algorithm"])
        conn.execute(
            text("UPDATE audit_log SET actor = '李四', row_hash = :h WHERE id = :i"), {"h": forged, "i": ids[1]}
        )
    code, out = _verify(store)
    assert code == 1 and f"id={ids[2]}" in out and "链接不符" in out


def test_deleting_a_row_names_the_next_row(store: Engine) -> None:
    ids = _fill(store)
    with store.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": ids[1]})
    code, out = _verify(store)
    assert code == 1 and f"id={ids[2]}" in out


def test_empty_log_verifies(store: Engine) -> None:
    code, out = _verify(store)
    assert code == 0 and "共 0 行" in out


def test_audit_log_filters_and_json(store: Engine) -> None:
    _fill(store, 4)
    runner = CliRunner()
    out = runner.invoke(cli, ["audit", "log", "--entity", "case:3", "--db", _url(store)]).output
    assert "case:3" in out and "case:2" not in out and "张三" in out
    lines = runner.invoke(cli, ["audit", "log", "--actor", "系统", "--json", "--db", _url(store)]).output.splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["entity_id"] for e in events] == ["2", "4"] and events[0]["after"] == {"state": "approved"}
    bad = runner.invoke(cli, ["audit", "log", "--entity", ":3", "--db", _url(store)])
    assert bad.exit_code == 2 and "错误" in bad.output
