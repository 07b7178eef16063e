"""Expiry and renewal (动态更新机制): a renewal is a new version of the same policy for a later period;
the earlier version stays as history and keeps its period; a policy past its period is shown as 失效
and leaves matching; the console lists policies ending within 30 days."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from mianshen.errors import InputError
from mianshen.jobs.tasks import expire_policies
from mianshen.matching.publish import active_versions, publish_policy
from mianshen.rules.loader import SHIPPED, policy_files, read_policies, shipped_or_path
from mianshen.rules.versions import one_per_policy
from mianshen.store.schema import policy_versions

from .matching_fixtures import ADMIN
from .test_web_console_fixtures import add_staff, login, make_client, web_env  # noqa: F401

V1, V2 = SHIPPED / "wengang-fanhuan.yaml", SHIPPED / "wengang-fanhuan.v2.yaml"


def _states(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(policy_versions).where(policy_versions.c.policy_id == "wengang-fanhuan"))
        return {r.version: r.state for r in rows}


def test_a_renewal_keeps_the_earlier_version_for_its_own_period(store: Engine) -> None:
    with store.begin() as conn:
        publish_policy(conn, V1, ADMIN)
        done = publish_policy(conn, V2, ADMIN)
    assert done.retired is None  # a renewal replaces nothing
    assert _states(store) == {1: "published", 2: "published"}
    with store.connect() as conn:
        on = {y: [(r.policy_id, r.version) for r, _ in active_versions(conn, dt.date(y, 6, 30))] for y in (2025, 2026)}
        after = active_versions(conn, dt.date(2027, 1, 1))
    assert on == {2025: [("wengang-fanhuan", 1)], 2026: [("wengang-fanhuan", 2)]}
    assert after == []  # past the renewal's period too: out of matching, no job needed


def test_a_version_of_an_overlapping_period_is_a_correction_and_replaces(store: Engine, tmp_path: Path) -> None:
    corrected = tmp_path / "wengang-fanhuan.yaml"
    corrected.write_text(V1.read_text("utf-8").replace("version: 1", "version: 2", 1), "utf-8")
    with store.begin() as conn:
        publish_policy(conn, V1, ADMIN)
        done = publish_policy(conn, corrected, ADMIN)
    assert done.retired == 1 and _states(store) == {1: "retired", 2: "published"}


def test_a_renewal_file_must_follow_the_earlier_period(tmp_path: Path) -> None:
    shutil.copy(V1, tmp_path / "wengang-fanhuan.yaml")
    text = V2.read_text("utf-8").replace("valid_from: 2026-01-01", "valid_from: 2025-07-01", 1)
    (tmp_path / "wengang-fanhuan.v2.yaml").write_text(text, "utf-8")
    policies, diagnostics = read_policies([tmp_path])
    errors = [d for d in diagnostics if d.severity == "error"]
    assert len(policies) == 1 and len(errors) == 1
    assert "wengang-fanhuan.v2.yaml" in errors[0].location.file and "重复" in errors[0].message
    assert "valid_from 晚于上一版的 valid_to" in errors[0].hint


def test_catalogue_files_go_in_version_order_and_one_version_applies_per_day(tmp_path: Path) -> None:
    for name in ("x.v10.yaml", "x.v2.yaml", "x.yaml", "w.yaml"):
        (tmp_path / name).write_text("", "utf-8")
    assert [p.name for p in policy_files([tmp_path])] == ["w.yaml", "x.yaml", "x.v2.yaml", "x.v10.yaml"]
    shipped, _ = read_policies([SHIPPED])
    today = {p.id: p.version for p in one_per_policy(shipped, dt.date(2026, 12, 8))}
    then = {p.id: p.version for p in one_per_policy(shipped, dt.date(2025, 6, 30))}
    assert today["wengang-fanhuan"] == today["manfuhe-shengchan"] == 2
    assert then["wengang-fanhuan"] == then["kuogang-buzhu"] == 1
    assert today["kuogang-buzhu"] == 1  # ended 2025-12-31 by every source found: not renewed, shown as 失效
    assert shipped_or_path("wengang-fanhuan", dt.date(2026, 3, 1)) == V2
    assert shipped_or_path("wengang-fanhuan", dt.date(2025, 3, 1)) == V1


def test_every_renewal_without_a_text_says_so_and_cites_no_new_number() -> None:
    shipped, _ = read_policies([SHIPPED])
    renewals = {p.id: p for p in shipped if p.version == 2}
    assert set(renewals) == {"wengang-fanhuan", "manfuhe-shengchan"}
    for pid in ("wengang-fanhuan",):  # no 2026 text obtained: 待核实, and only earlier 文号
        p = renewals[pid]
        assert p.unverified and "未取得2026年" in p.unverified
        assert not [doc for doc in p.doc_numbers if "2026" in doc]
    assert renewals["manfuhe-shengchan"].doc_numbers == ["豫工信联运行〔2026〕5号"]
    assert renewals["manfuhe-shengchan"].unverified


@pytest.fixture
def catalogue(store: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """wengang (2025 + 2026 renewal), manfuhe (2022 only) and the 2026 manfuhe renewal not yet published."""
    monkeypatch.setenv("MIANSHEN_TODAY", "2026-12-08")
    with store.begin() as conn:
        for path in (V1, V2, SHIPPED / "manfuhe-shengchan.yaml", SHIPPED / "kuogang-buzhu.yaml"):
            publish_policy(conn, path, ADMIN)
    add_staff(store)
    return store


def _card(html: str, title: str) -> str:
    start = html.index(title)
    return html[start : html.index("</li>", start)]


def test_the_public_list_shows_expired_policies_as_invalid_and_renewals_in_force(catalogue: Engine) -> None:
    expire_policies(catalogue, dt.date(2026, 12, 8))  # the job retires versions past their period
    assert _states(catalogue) == {1: "retired", 2: "published"}
    html = make_client(catalogue).get("/policies").text
    assert "失业保险稳岗返还（2025年）" not in html  # the renewal stands for the policy now
    card = _card(html, "失业保险稳岗返还（2026年）")
    assert "有效期内" in card and "待核实" in card
    assert "失效" in _card(html, "满负荷生产财政奖励（2022年第一季度）")  # retired by the job, still listed
    assert "失效" in _card(html, "一次性扩岗补助（2025年）")
    listing = make_client(catalogue).get("/api/policies").json()["policies"]
    by_id = {i["id"]: i for i in listing}
    assert by_id["manfuhe-shengchan"]["validity"] == "失效" and not by_id["manfuhe-shengchan"]["in_force"]
    assert by_id["wengang-fanhuan"]["unverified"] and by_id["wengang-fanhuan"]["in_force"]


def test_a_policy_page_announces_expiry_and_keeps_the_history(catalogue: Engine) -> None:
    client = make_client(catalogue)
    expired = client.get("/policies/kuogang-buzhu").text
    assert "本政策已于 2025-12-31 到期失效" in expired
    page = client.get("/policies/wengang-fanhuan").text
    assert "待核实" in page and "未取得2026年" in page
    assert "第 2 版：2026-01-01 至 2026-12-31（本页）" in page and "第 1 版：2025-01-01 至 2025-12-31" in page
    assert "到期失效" not in page


def test_a_renewal_published_ahead_is_shown_once_its_period_starts(
    catalogue: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIANSHEN_TODAY", "2025-12-20")
    text = make_client(catalogue).get("/policies").text
    assert "失业保险稳岗返还（2025年）" in text and "失业保险稳岗返还（2026年）" not in text


def test_the_console_lists_policies_ending_within_30_days(catalogue: Engine) -> None:
    page = login(catalogue, "admin").get("/console").text
    section = page[page.index('id="expiring"') : page.index("</section>", page.index('id="expiring"'))]
    assert "30 天内到期的政策（1 项）" in section
    assert re.search(r"失业保险稳岗返还（2026年）</a>：2026-12-31 到期（还有 23 天），尚无延续版本", section)
    assert "一次性扩岗补助" not in section  # already expired: not "ending soon"
    versions = login(catalogue, "admin").get("/console/policies/wengang-fanhuan").text
    assert re.search(r"<td>v2</td><td>现行</td><td>2026-01-01 至 2026-12-31</td>", versions)
    assert re.search(r"<td>v1</td><td>已到期</td><td>2025-01-01 至 2025-12-31</td>", versions)


def test_publishing_the_same_renewal_twice_changes_nothing_and_an_older_number_is_refused(
    store: Engine, tmp_path: Path
) -> None:
    with store.begin() as conn:
        publish_policy(conn, V1, ADMIN)
        publish_policy(conn, V2, ADMIN)
        assert publish_policy(conn, V2, ADMIN).unchanged
    changed = tmp_path / "wengang-fanhuan.v2.yaml"
    changed.write_text(V1.read_text("utf-8").replace("title:", "# 改动\ntitle:", 1), "utf-8")
    with store.begin() as conn, pytest.raises(InputError, match="version 改为 3"):
        publish_policy(conn, changed, ADMIN)
