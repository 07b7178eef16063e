"""Department console: check (errors at their lines), tests, simulation, publishing, lists."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from mianshen.matching.read import pairs
from mianshen.rules.loader import SHIPPED
from mianshen.store.schema import policy_versions
from mianshen.web.console.simulate import check_text

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .matching_fixtures import AS_OF
from .test_web_console_fixtures import HRSS, POLICY, api, login, post

demo, populated, site, web_env = fx.demo, fx.populated, wf.site, wf.web_env

SOURCE = (SHIPPED / f"{POLICY}.yaml").read_text(encoding="utf-8")


def test_typo_in_a_field_is_reported_at_its_line(site: Engine) -> None:
    client = login(site, "hr")
    bad = SOURCE.replace("field: qualified_youth_hires", "field: qualified_youth_hirse")
    line = next(n for n, text in enumerate(bad.splitlines(), 1) if "qualified_youth_hirse" in text)
    r = post(client, "/console/policies/check", {"source": bad})
    assert r.status_code == 422
    assert f"第 {line} 行" in r.text and "qualified_youth_hirse" in r.text
    body = api(client, "/api/console/policies/check", {"source": bad}).json()
    assert any(d["line"] == line and d["severity"] == "error" for d in body["check"]["diagnostics"])
    ok = api(client, "/api/console/policies/check", {"source": SOURCE}).json()["check"]
    assert ok["ok"] and ok["tests"] and ok["tests_passed"]


def test_simulation_counts_budget_and_difference_from_the_published_version(site: Engine) -> None:
    client = login(site, "hr")
    same = api(client, "/api/console/policies/simulate", {"source": SOURCE, "as_of": str(AS_OF)}).json()["simulation"]
    with site.connect() as conn:
        matched = sum(1 for p in pairs(conn, policy_ids=[POLICY], statuses=["eligible"]))
    assert same["eligible"] == matched > 0
    assert same["eligible"] + same["unknown"] + same["ineligible"] == same["evaluated"]
    for key in ("region", "industry", "size"):
        assert sum(g["eligible"] for g in same["by"][key]) == same["eligible"]
        assert sum(g["unknown"] for g in same["by"][key]) == same["unknown"]
    assert same["previous"]["version"] == 1 and same["previous"]["delta_eligible"] == 0

    raised = SOURCE.replace("version: 1", "version: 2").replace("* 1500", "* 2000").replace("1500.00", "2000.00")
    raised = raised.replace('"10500.00"', '"14000.00"').replace("confirm_days: 15", "confirm_days: 15\nbudget: 1000")
    sim = api(client, "/api/console/policies/simulate", {"source": raised, "as_of": str(AS_OF)}).json()
    assert sim["check"]["ok"], sim["check"]["diagnostics"]
    new = sim["simulation"]
    assert new["eligible"] == same["eligible"]
    assert float(new["total"]) == float(same["total"]) * 2000 / 1500
    assert float(new["previous"]["delta_total"]) == float(new["total"]) - float(same["total"])
    assert new["previous"]["amount_changed"] == same["eligible"]
    assert new["budget"] == "1000" and new["over_budget"] is True

    page = finished(client, post(client, "/console/policies/simulate", {"source": raised, "as_of": str(AS_OF)}))
    assert page.status_code == 200
    assert "与现行第 1 版比较" in page.text and "按地区（市）" in page.text and "按企业规模" in page.text
    assert "超出预算" in page.text


def test_a_simulation_checks_and_tests_the_policy_once(site: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checking runs every policy test (seconds on a large policy): one request does it once."""
    from mianshen.web.console import policy_routes

    calls: list[str] = []

    def counted(text: str, filename: str = "policy.yaml") -> dict[str, Any]:
        calls.append(filename)
        return check_text(text, filename)

    monkeypatch.setattr(policy_routes, "check_text", counted)
    client = login(site, "hr")
    sim = api(client, "/api/console/policies/simulate", {"source": SOURCE, "as_of": str(AS_OF)})
    assert sim.status_code == 200 and sim.json()["simulation"]["eligible"] > 0
    assert len(calls) == 1


def finished(client: Any, started: Any) -> Any:
    """A long step started from a page: it answers with its job page, which shows the result when done."""
    assert started.status_code == 303 and started.headers["location"].startswith("/console/jobs/"), started.text
    job = started.headers["location"].rsplit("/", 1)[1]
    for _ in range(300):
        if client.get(f"/api/console/jobs/{job}").json()["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    return client.get(started.headers["location"])


def test_a_simulation_started_from_the_page_survives_a_reload(site: Engine) -> None:
    client = login(site, "hr")
    started = post(client, "/console/policies/simulate", {"source": SOURCE, "as_of": str(AS_OF)})
    first = client.get(started.headers["location"]).text
    assert "模拟测算" in first
    done = finished(client, started)
    assert "符合" in done.text and "回到编辑器" in done.text
    again = client.get(started.headers["location"]).text  # a reload: the result, not a new run
    assert again == done.text
    assert login(site, "kj").get(started.headers["location"]).status_code == 404  # another department
    failing = SOURCE.replace("version: 1", "version: 3").replace('amount: "1500.00"', 'amount: "1600.00"')
    refused = post(client, "/console/policies/publish", {"source": failing, "as_of": str(AS_OF)})
    assert refused.status_code == 422 and "测试未全部通过" in refused.text  # at once, no job, no simulation


def test_publish_creates_a_new_version(site: Engine) -> None:
    client = login(site, "hr")
    v2 = SOURCE.replace("version: 1", "version: 2").replace(
        "title: 一次性扩岗补助（2025年）", "title: 一次性扩岗补助（2025年修订）"
    )
    r = finished(client, post(client, "/console/policies/publish", {"source": v2, "as_of": str(AS_OF)}))
    assert r.status_code == 200 and "已发布第 2 版" in r.text  # the title alone: no 会签 needed
    with site.connect() as conn:
        rows = conn.execute(
            select(policy_versions.c.version, policy_versions.c.state)
            .where(policy_versions.c.policy_id == POLICY)
            .order_by(policy_versions.c.version)
        ).all()
    assert [tuple(r) for r in rows] == [(1, "retired"), (2, "published")]
    again = api(client, "/api/console/policies/publish", {"source": v2}).json()
    assert again["published"]["unchanged"] is True
    failing = SOURCE.replace("version: 1", "version: 3").replace('amount: "1500.00"', 'amount: "1600.00"')
    refused = api(client, "/api/console/policies/publish", {"source": failing})
    assert refused.status_code == 422 and "测试未全部通过" in refused.json()["error"]
    assert refused.json()["simulation"] is None  # refused before the simulation, not after it


def test_a_change_to_money_waits_for_a_second_person(site: Engine) -> None:
    from mianshen.store.schema import audit_log, publish_requests

    author, other = login(site, "hr"), login(site, "zz")  # two staff of the same department
    raised = SOURCE.replace("version: 1", "version: 2").replace("confirm_days: 15", "confirm_days: 15\nbudget: 900000")
    r = finished(author, post(author, "/console/policies/publish", {"source": raised, "as_of": str(AS_OF)}))
    assert r.status_code == 200 and "已提交会签" in r.text and "模拟测算" in r.text
    with site.connect() as conn:
        assert conn.execute(select(policy_versions.c.version).where(policy_versions.c.policy_id == POLICY)).all() == [
            (1,)
        ]
        request_id = conn.execute(select(publish_requests.c.id)).scalar_one()
    listed = other.get("/console/approvals").text
    assert "《一次性扩岗补助（2025年）》第 2 版" in listed and "符合" in listed and "会签通过并发布" in listed
    assert "须由另一名工作人员会签" in author.get("/console/approvals").text
    own = api(author, f"/api/console/approvals/{request_id}", {"decision": "approve"})
    assert own.status_code == 400 and "不能审核自己提交的版本" in own.json()["error"]["message"]
    assert api(login(site, "kj"), f"/api/console/approvals/{request_id}", {"decision": "approve"}).status_code == 404
    bare = api(other, f"/api/console/approvals/{request_id}", {"decision": "reject", "note": ""})
    assert bare.status_code == 400
    done = api(other, f"/api/console/approvals/{request_id}", {"decision": "approve"})
    assert done.status_code == 200 and done.json()["published"]["version"] == 2
    with site.connect() as conn:
        published = conn.execute(
            select(policy_versions.c.published_by).where(
                policy_versions.c.policy_id == POLICY, policy_versions.c.version == 2
            )
        ).scalar_one()
        cosigned = conn.execute(select(audit_log.c.after).where(audit_log.c.action == "policy.cosign")).scalar_one()
    assert published == "zz用户" and "hr用户" in cosigned
    again = api(other, f"/api/console/approvals/{request_id}", {"decision": "approve"})
    assert again.status_code == 400  # decided once


def test_another_departments_policy_is_refused(site: Engine) -> None:
    kj = login(site, "kj")
    assert api(kj, "/api/console/policies/simulate", {"source": SOURCE}).status_code == 403
    assert api(kj, "/api/console/policies/publish", {"source": SOURCE}).status_code == 403
    assert kj.get(f"/console/policies/{POLICY}").status_code == 404
    assert kj.get(f"/console/policies/new?from={POLICY}").status_code == 404
    assert kj.get(f"/console/cases?policy={POLICY}").status_code == 404
    assert POLICY not in kj.get("/api/console/policies").text
    assert "gaoqi-rending-jiangli" in kj.get("/api/console/policies").text
    assert HRSS not in kj.get("/console").text


def test_list_upload_opens_cases_and_reports_rejects(site: Engine, tmp_path: Path) -> None:
    from mianshen.reference.uscc import make_uscc

    client = login(site, "kj")
    good = make_uscc("9", "1", "410102", "00000077")
    data = f"统一社会信用代码,金额,备注\n{good},300000,认定\n123,100,坏代码\n".encode()
    files = {"file": ("名单.csv", data, "text/csv")}
    r = client.post(
        "/api/console/policies/gaoqi-rending-jiangli/list",
        files=files,
        data={"csrf_token": client.cookies["ms_csrf"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1 and r.json()["rejected"] == 1
    page = client.get("/console/policies/gaoqi-rending-jiangli")
    assert "第 3 行" in page.text
    hr = login(site, "hr")
    forbidden = hr.post(
        "/console/policies/gaoqi-rending-jiangli/list", files=files, data={"csrf_token": hr.cookies["ms_csrf"]}
    )
    assert forbidden.status_code == 404


def test_a_region_limited_bureau_cannot_publish_or_simulate_a_province_policy(site: Engine) -> None:
    """H2: 郑州 人社 published version 2 of the province's policy (budget 1) and simulated over the
    province; it may act on a policy for its own region only."""
    zz = login(site, "zz")
    raised = SOURCE.replace("version: 1", "version: 2").replace("confirm_days: 15", "confirm_days: 15\nbudget: 1")
    for step in ("check", "simulate", "publish"):
        r = api(zz, f"/api/console/policies/{step}", {"source": raised, "as_of": str(AS_OF)})
        assert r.status_code == 403, step
        assert (
            "本账号限于河南省郑州市" in r.json()["error"]["message"] and "适用于河南省" in r.json()["error"]["message"]
        )
    narrowed = raised.replace('region: "410000"', 'region: "410100"')  # its own id, narrowed: still the province's
    assert narrowed != raised
    assert api(zz, "/api/console/policies/publish", {"source": narrowed}).status_code == 403
    with site.connect() as conn:
        assert (
            conn.execute(text("SELECT max(version) FROM policy_versions WHERE policy_id = :p"), {"p": POLICY}).scalar()
            == 1
        )
    own = narrowed.replace(f"id: {POLICY}", "id: kuogang-zhengzhou").replace("version: 2", "version: 1")
    checked = api(zz, "/api/console/policies/check", {"source": own})
    assert checked.status_code == 200 and checked.json()["check"]["ok"], checked.json()
    province = api(login(site, "hr"), "/api/console/policies/check", {"source": raised})
    assert province.status_code == 200  # the province's own bureau may
