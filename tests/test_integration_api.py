"""The department API in use: pushed observations get the file import's reject report, a 名单 pushed
by its department opens cases, a region-limited key sees its region, calls are rate-limited and
audited; and the console page where a department subscribes and makes keys."""

from __future__ import annotations

import csv
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from mianshen.audit.log import Actor
from mianshen.integration import keys
from mianshen.integration.tables import webhook_subscriptions
from mianshen.profiles.imports import import_file
from mianshen.store.schema import audit_log, cases

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .language import leaks
from .matching_fixtures import AS_OF
from .store_fixtures import store
from .test_web_console_fixtures import HRSS, KEJI, LISTED, POLICY, login, make_client, post

demo, populated, site, web_env = fx.demo, fx.populated, wf.site, wf.web_env
__all__ = ["demo", "populated", "site", "store", "web_env"]


def key(engine: Engine, department: str, region: str | None = None) -> str:
    with engine.begin() as conn:
        return keys.create(conn, Actor("测试", "department", department), department, region, "业务系统")


def call(client: TestClient, whole: str, method: str, url: str, body: Any = None, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {whole}"}
    if method == "GET":
        return client.get(url, headers=headers, **kw)
    return client.post(url, json=body, headers=headers)


def demo_rows(demo: Any, n: int) -> list[dict[str, Any]]:
    lines = (demo.out / "hrss.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    return [{k: "" if v is None else str(v) for k, v in json.loads(line).items()} for line in lines]


def test_pushed_observations_get_the_same_reject_report_as_a_file(site: Engine, demo: Any, tmp_path: Any) -> None:
    rows = demo_rows(demo, 4)
    rows[1]["uscc"] = "91410100ABCDEFGH1X"  # not a valid 统一社会信用代码
    rows[2]["employees"] = "很多"  # not a number
    rows[3]["ui_paid_months"] = "-3"  # out of range
    path = tmp_path / "hrss-补报.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    from_file = import_file(site, "hrss", path, AS_OF)
    assert from_file.rejected >= 2 and from_file.accepted >= 1
    client = make_client(site)
    pushed = call(client, key(site, HRSS), "POST", "/api/dept/observations", {"source": "hrss", "rows": rows})
    assert pushed.status_code == 200, pushed.text
    report = pushed.json()
    assert (report["accepted"], report["rejected"]) == (from_file.accepted, from_file.rejected)

    def shown(rejects: list[dict[str, Any]], first_row: int) -> list[tuple[Any, ...]]:
        # a file's rows are numbered from its header line; a push's from the first row it sends
        return [(int(r["row_number"]) - first_row, r["severity"], r["uscc"], r["reason"]) for r in rejects]

    assert shown(report["rejects"], 1) == shown(from_file.rejects, 2)
    assert any("统一社会信用代码" in str(r) for r in report["rejects"])


def test_bad_pushes_are_refused_in_chinese_and_another_departments_source_is_missing(site: Engine) -> None:
    client, hr = make_client(site), key(site, HRSS)
    empty = call(client, hr, "POST", "/api/dept/observations", {"source": "hrss", "rows": []})
    assert empty.status_code == 400 and "rows" in empty.json()["error"]["message"]
    unknown = call(client, hr, "POST", "/api/dept/observations", {"source": "无此源", "rows": [{"uscc": "x"}]})
    assert unknown.status_code == 400 and "数据源" in unknown.json()["error"]["message"]
    theirs = call(
        client, key(site, KEJI), "POST", "/api/dept/observations", {"source": "hrss", "rows": [{"uscc": "x"}]}
    )
    assert theirs.status_code == 404
    day = call(
        client, hr, "POST", "/api/dept/observations", {"source": "hrss", "as_of": "6月", "rows": [{"uscc": "x"}]}
    )
    assert day.status_code == 400 and "2025-06-30" in day.json()["error"]["message"]


def test_a_list_pushed_by_its_department_opens_cases_and_reports_bad_rows(site: Engine) -> None:
    with site.connect() as conn:
        taken = set(conn.execute(select(cases.c.uscc).where(cases.c.policy_id == LISTED)).scalars())
        uscc = next(u for u in conn.execute(select(cases.c.uscc).distinct()).scalars() if u not in taken)
    rows = [
        {"统一社会信用代码": uscc, "金额": "200000.00", "备注": "第一批"},
        {"统一社会信用代码": "91410100ABCDEFGH1X", "金额": "1.00", "备注": ""},
    ]
    client = make_client(site)
    got = call(client, key(site, KEJI), "POST", f"/api/dept/policies/{LISTED}/list", {"rows": rows})
    assert got.status_code == 200, got.text
    assert got.json()["accepted"] == 1 and [r["row_number"] for r in got.json()["rejects"]] == [2]
    assert call(client, key(site, HRSS), "POST", f"/api/dept/policies/{LISTED}/list", {"rows": rows}).status_code == 404
    with site.connect() as conn:
        assert conn.execute(select(cases.c.amount).where(cases.c.policy_id == LISTED, cases.c.uscc == uscc)).scalar()


def test_a_region_limited_key_sees_its_region_only(site: Engine) -> None:
    client = make_client(site)
    everything = call(client, key(site, HRSS), "GET", "/api/dept/cases", params={"policy": POLICY}).json()["cases"]
    zhengzhou = call(client, key(site, HRSS, "410100"), "GET", "/api/dept/cases", params={"policy": POLICY}).json()
    assert zhengzhou["cases"] and all(c["region"].startswith("4101") for c in zhengzhou["cases"])
    assert len(zhengzhou["cases"]) < len(everything)
    outside = next(c["id"] for c in everything if not c["region"].startswith("4101"))
    assert call(client, key(site, HRSS, "410100"), "GET", f"/api/dept/cases/{outside}").status_code == 404


def test_calls_are_rate_limited_per_key_and_audited(site: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIANSHEN_API_RATE_PER_MINUTE", "3")
    client, hr, other = make_client(site), key(site, HRSS), key(site, HRSS)
    answers = [call(client, hr, "GET", "/api/dept/data-requests").status_code for _ in range(5)]
    assert answers == [200, 200, 200, 429, 429]
    refused = call(client, hr, "GET", "/api/dept/data-requests").json()["error"]["message"]
    assert refused == "调用过于频繁，请一分钟后再试"
    assert call(client, other, "GET", "/api/dept/data-requests").status_code == 200  # per key
    with site.connect() as conn:
        rows = conn.execute(select(audit_log.c.action, audit_log.c.actor).where(audit_log.c.action.like("api.%")))
        actions = [(a, who) for a, who in rows if keys.PREFIX in who]
    assert [a for a, _ in actions].count("api.call") == 4 and [a for a, _ in actions].count("api.limited") == 1
    assert all(hr.partition(".")[0] in who or other.partition(".")[0] in who for _, who in actions)


def test_a_department_subscribes_and_makes_a_key_on_its_console_page(site: Engine) -> None:
    hr = login(site, "hr")
    made = post(hr, "/console/integration/subscriptions", {"url": "https://rs.example/hook", "events": "payment.paid"})
    assert made.status_code == 200 and "whsec_" in made.text and "只显示这一次" in made.text
    page = hr.get("/console/integration")
    assert "https://rs.example/hook" in page.text and "拨付到账" in page.text and "whsec_" not in page.text
    assert leaks(page.text) == []
    bad = post(hr, "/console/integration/subscriptions", {"url": "rs.example", "events": "payment.paid"})
    assert bad.status_code == 400 and "接收地址" in bad.text
    whole = post(hr, "/console/integration/keys", {"label": "人社业务系统"})
    assert whole.status_code == 200 and "msk_" in whole.text
    with site.connect() as conn:
        sub = conn.execute(select(webhook_subscriptions)).mappings().one()
        assert sub["department"] == HRSS and "whsec_" not in sub["secret"]  # kept sealed
    assert login(site, "kj").get("/console/integration").text.count("rs.example") == 0
    theirs = post(login(site, "kj"), f"/console/integration/subscriptions/{sub['id']}/rotate")
    assert theirs.status_code == 404
    fin = login(site, "fin")  # the finance officer: its own system's keys, no subscriptions
    assert post(fin, "/console/integration/keys", {"label": "国库集中支付系统"}).status_code == 200
    seen = fin.get("/console/integration").text
    assert "国库集中支付系统" in seen and "人社业务系统" not in seen and "rs.example" not in seen
    with site.connect() as conn:
        hr_key = keys.listing(conn, keys.reach("department", HRSS))[0]["key_id"]
    assert post(fin, f"/console/integration/keys/{hr_key}/revoke").status_code == 404


def test_the_python_client_example_in_the_docs_works(site: Engine, demo: Any, capsys: Any) -> None:
    from .conftest import ROOT

    text = (ROOT / "docs" / "integration.md").read_text(encoding="utf-8")
    example = text.split("Python 调用示例")[1].split("```python")[1].split("```")[0]
    names: dict[str, Any] = {}
    exec(compile(example, "docs/integration.md", "exec"), names)  # noqa: S102 (the docs' own code)
    client = make_client(site)
    client.headers["Authorization"] = f"Bearer {key(site, HRSS)}"
    rows = demo_rows(demo, 2)
    rows[1]["uscc"] = "bad"
    report = names["push_observations"](client, "hrss", rows, "2025-06-30")
    assert report["accepted"] == 1 and "第 2 行未接收" in capsys.readouterr().out
    listed = list(names["my_cases"](client, POLICY))
    assert listed and all(c["policy_id"] == POLICY for c in listed)
    with pytest.raises(RuntimeError, match="数据源"):
        names["push_observations"](client, "无此源", rows)


def test_the_receiver_check_in_the_docs_accepts_a_signed_post_and_refuses_a_changed_one() -> None:
    import datetime as dt

    from mianshen.integration.signing import sign

    from .conftest import ROOT

    text = (ROOT / "docs" / "integration.md").read_text(encoding="utf-8")
    example = text.split("不依赖本平台代码的写法")[1].split("```python")[1].split("```")[0]
    names: dict[str, Any] = {}
    exec(compile(example, "docs/integration.md", "exec"), names)  # noqa: S102
    body = b'{"id":"a1"}'
    for algorithm in ("hmac-sm3", "hmac-sha256"):
        headers = sign(algorithm, ["new", "old"], "a1", body, dt.datetime.now(dt.UTC))
        assert names["verify"]("old", headers, body) and names["verify"]("new", headers, body)
        assert not names["verify"]("new", headers, body + b" ")
    stale = sign("hmac-sm3", ["s"], "a1", body, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    assert not names["verify"]("s", stale, body)
