"""Issue 16, low: imports, data-source definitions and contact changes (the phone that receives the
enterprise's sign-in codes) are audited with who made them — on the CLI the --actor given or the
machine's login name, on the web the signed-in staff member."""

from __future__ import annotations

import getpass
import json
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from mianshen.cli import data as _data  # noqa: F401  (registers the commands)
from mianshen.cli import user as _user  # noqa: F401
from mianshen.cli.main import cli
from mianshen.profiles.demo_data import DemoSummary
from mianshen.store.schema import audit_log

from . import matching_fixtures as fx

demo = fx.demo


def events(engine: Engine, action: str) -> list[dict[str, object]]:
    query = select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def run(engine: Engine, *args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--db", engine.url.render_as_string(hide_password=False)])
    assert result.exit_code == 0, result.output
    return result.output


def test_sources_and_imports_on_the_command_line_name_who(store: Engine, demo: DemoSummary) -> None:
    run(store, "data", "sources", str(demo.out / "sources.yaml"), "--actor", "张数据")
    registered = events(store, "data_source.register")
    assert registered and {e["actor"] for e in registered} == {"张数据"} and registered[0]["before"] is None
    run(store, "data", "sources", str(demo.out / "sources.yaml"))  # again, as the machine's user
    again = events(store, "data_source.register")[len(registered) :]
    assert {e["actor"] for e in again} == {f"本机用户 {getpass.getuser()}"} and again[0]["before"] is not None
    first = demo.files[0]
    run(store, "data", "import", "--source", first["source"], str(demo.out / first["file"]), "--actor", "李导入")
    (done,) = events(store, "data.import")
    detail = json.loads(str(done["after"]))
    assert done["actor"] == "李导入" and detail["file"] == first["file"] and detail["accepted"] > 0


def test_a_contact_change_is_audited_with_the_phone_masked(store: Engine) -> None:
    uscc = "91410100MA45ABCD1X"
    run(store, "contact", uscc, "--name", "王会计", "--phone", "13900001234", "--actor", "赵管理员")
    run(store, "contact", uscc, "--name", "王会计", "--phone", "13700005678")
    first, second = events(store, "contact.set")
    assert first["actor"] == "赵管理员" and first["entity_id"] == uscc
    assert json.loads(str(second["before"]))["phone"] == "139****1234"
    assert json.loads(str(second["after"]))["phone"] == "137****5678"
    assert "13700005678" not in str(second) and second["actor"] == f"本机用户 {getpass.getuser()}"


def test_an_answer_uploaded_on_the_web_is_audited_as_the_staff_member(
    store: Engine, demo: DemoSummary, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inbox's upload runs the real import: its audit event names the member of staff."""
    from mianshen.audit.log import Actor
    from mianshen.web.console import inbox_routes

    no_match = SimpleNamespace(requests_resolved=0, requests_opened=0)  # no policy here to match against
    monkeypatch.setattr(inbox_routes, "run_match", lambda engine, day: no_match)

    run(store, "data", "sources", str(demo.out / "sources.yaml"))
    first = demo.files[0]
    copy = demo.out / f"upload-{first['file']}"  # the page keeps the upload and removes it afterwards
    copy.write_bytes((demo.out / first["file"]).read_bytes())
    params = {"path": str(copy), "as_of": "2025-06-30", "source": first["source"], "field": "x", "name": "补报"}
    inbox_routes.import_and_rematch(store, Actor("王科长", "data_manager"), params)
    assert [e["actor"] for e in events(store, "data.import")] == ["王科长"]
