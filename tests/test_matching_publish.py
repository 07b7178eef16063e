"""Publishing policy versions, and the `policy publish|versions` and `match` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from mianshen.cli import data, match, policy  # noqa: F401  (registers the commands)
from mianshen.cli.main import cli
from mianshen.errors import InputError
from mianshen.matching.publish import active_versions, publish_policy
from mianshen.matching.runs import run_match
from mianshen.rules.loader import SHIPPED
from mianshen.store.schema import audit_log, cases, match_runs, policy_versions

from . import matching_fixtures as fx
from .matching_fixtures import ACTIVE, ADMIN, AS_OF, N, copy_policy, count

demo, populated = fx.demo, fx.populated  # fixtures shared with test_matching.py


def test_publish_stores_the_text_and_retires_the_previous_version(store: Engine, tmp_path: Path) -> None:
    path = copy_policy(tmp_path, "kuogang-buzhu")
    with store.begin() as conn:
        first = publish_policy(conn, path, ADMIN)
        assert publish_policy(conn, path, ADMIN).unchanged  # the same file again changes nothing
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("title:", "# 勘误\ntitle:", 1), encoding="utf-8")
    with store.begin() as conn, pytest.raises(InputError, match="version 改为 2"):
        publish_policy(conn, path, ADMIN)
    path.write_text(text.replace("version: 1", "version: 2", 1), encoding="utf-8")
    with store.begin() as conn:
        second = publish_policy(conn, path, ADMIN)
        rows = {r.version: r for r in conn.execute(select(policy_versions))}
        events = conn.execute(select(audit_log).where(audit_log.c.action == "policy.publish")).all()
        active = active_versions(conn, AS_OF)
    assert (first.version, second.version, second.retired) == (1, 2, 1)
    assert (rows[1].state, rows[2].state) == ("retired", "published")
    assert rows[2].source_yaml == path.read_text(encoding="utf-8") and len(rows[2].sha256) == 64
    assert len(events) == 2 and events[1].data_hash == rows[2].sha256
    assert [(row.version, p.version) for row, p in active] == [(2, 2)]


def test_a_new_version_does_not_open_the_same_benefit_again(populated: Engine, tmp_path: Path) -> None:
    path = copy_policy(tmp_path, "kuogang-buzhu")
    with populated.begin() as conn:
        publish_policy(conn, path, ADMIN)
    first = run_match(populated, AS_OF)
    path.write_text(path.read_text(encoding="utf-8").replace("version: 1", "version: 2", 1), encoding="utf-8")
    with populated.begin() as conn:
        publish_policy(conn, path, ADMIN)
    second = run_match(populated, AS_OF)
    assert first.cases_created > 0 and second.evaluated == N and second.cases_created == 0
    assert count(populated, cases) == first.cases_created


def test_cli_publish_versions_and_match(populated: Engine, tmp_path: Path) -> None:
    url = str(populated.url.render_as_string(hide_password=False))
    runner = CliRunner()
    result = runner.invoke(cli, ["policy", "publish", str(SHIPPED), "--actor", "张三", "--db", url])
    assert result.exit_code == 0, result.output
    assert result.output.count("版已发布") == 10  # 8 policies, 2 of them renewed (v2 files)
    listed = runner.invoke(cli, ["policy", "versions", "--json", "--db", url])
    assert listed.exit_code == 0 and len(json.loads(listed.output)) == 10
    run = runner.invoke(cli, ["match", "--as-of", AS_OF.isoformat(), "--json", "--db", url])
    assert run.exit_code == 0, run.output
    out = json.loads(run.output)
    assert out["scope"] == "full" and out["evaluated"] == ACTIVE * N and len(out["policies"]) == ACTIVE
    paying = ("wengang-fanhuan", "kuogang-buzhu")  # 条件类 with money to pay (see docs/matching.md)
    assert out["cases_created"] == sum(p["eligible"] for p in out["policies"] if p["policy_id"] in paying)
    text = runner.invoke(cli, ["match", "--as-of", AS_OF.isoformat(), "--db", url])
    assert text.exit_code == 0 and "增量" in text.output and "新立案 0 件" in text.output
    one = runner.invoke(cli, ["match", "--policy", "kuogang-buzhu", "--as-of", AS_OF.isoformat(), "--db", url])
    assert one.exit_code == 0 and f"评估 {N} 对" in one.output and "变化 0 对" in one.output
    bad = runner.invoke(cli, ["match", "--as-of", "2025/06/30", "--db", url])
    assert bad.exit_code == 2 and "不是有效日期" in bad.output


def test_match_without_a_published_policy_says_so(store: Engine) -> None:
    """Before any policy is published there is nothing to match: a Chinese message and exit code 2,
    and no match run is left behind."""
    url = store.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["match", "--as-of", AS_OF.isoformat(), "--db", url])
    assert result.exit_code == 2, result.output
    assert "没有生效的已发布政策" in result.output and "Traceback" not in result.output
    with store.connect() as conn:
        assert conn.execute(select(match_runs)).first() is None
