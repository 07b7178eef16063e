"""数据需求: the data departments' inbox — requests per field with numbers and deadlines, refusal only
with a legal basis, answering by an import that re-matches, and enterprise correction requests
tracked by 受理编号 from both sides."""

from __future__ import annotations

import csv
import io
import time

import pytest
from sqlalchemy import Engine, func, select

from mianshen.catalogue import load_catalogue
from mianshen.profiles.sources import ColumnMap, DataSource, register_source
from mianshen.store.schema import audit_log, corrections, data_requests, portal_messages
from mianshen.web.accounts import add_user

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .test_web_console_fixtures import api, enterprise_client, login, post

demo, populated, site, web_env = fx.demo, fx.populated, wf.site, wf.web_env


@pytest.fixture
def inbox_site(site: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("MIANSHEN_TODAY", fx.AS_OF.isoformat())  # the platform's day is the run's day
    with site.begin() as conn:
        add_user(conn, "dm", wf.PASSWORD, "data_manager", "数据管理员", department=None)
    return site


def waiting(engine: Engine, field: str | None = None) -> dict[str, int]:
    query = (
        select(data_requests.c.field, func.count())
        .where(data_requests.c.resolved_at.is_(None), data_requests.c.refused_at.is_(None))
        .group_by(data_requests.c.field)
    )
    with engine.connect() as conn:
        found = {f: int(n) for f, n in conn.execute(query)}
    return found if field is None else {field: found.get(field, 0)}


def busiest(engine: Engine, department_word: str) -> str:
    catalogue = load_catalogue().fields
    counts = waiting(engine)
    held = [f for f in counts if department_word in catalogue[f].source and not catalogue[f].source.startswith("派生")]
    assert held, f"no requests for a field of {department_word}: {counts}"
    return max(held, key=lambda f: counts[f])


def test_each_department_sees_the_fields_it_holds_with_counts(inbox_site: Engine) -> None:
    counts = waiting(inbox_site)
    everyone = login(inbox_site, "dm").get("/api/console/requests").json()["fields"]
    shown = {x["field"]: x["waiting"] for x in everyone}
    catalogue = load_catalogue().fields
    assert shown == {f: n for f, n in counts.items() if not catalogue[f].source.startswith("派生")}
    assert all(x["due"] and x["policies"] for x in everyone if x["waiting"])
    hr_fields = {x["field"] for x in login(inbox_site, "hr").get("/api/console/requests").json()["fields"]}
    assert hr_fields and all("人力资源和社会保障厅" in catalogue[f].source for f in hr_fields)
    page = login(inbox_site, "dm").get("/console/requests").text
    assert "数据共享需求" in page and "国发〔2016〕51号" in page
    assert catalogue[max(shown, key=lambda f: shown[f])].label in page
    assert "您的角色在工作台没有可办理的事项" not in login(inbox_site, "dm").get("/console").text
    assert login(inbox_site, "fin").get("/console/requests").status_code == 403


def test_a_field_lists_numbered_requests_with_deadlines_and_exports(inbox_site: Engine) -> None:
    field = busiest(inbox_site, "")
    dm = login(inbox_site, "dm")
    page = dm.get(f"/console/requests/{field}").text
    total = waiting(inbox_site, field)[field]
    assert f"共 <strong>{total:,}</strong> 条" in page and "SJ20" in page and "答复期限" in page
    rows = list(csv.reader(io.StringIO(dm.get(f"/console/requests/{field}/export.csv").text.lstrip("\ufeff"))))
    assert rows[0][0] == "请求编号" and len(rows) - 1 == total
    assert all(r[0].startswith("SJ") and r[5] > r[4] for r in rows[1:])  # due after opened
    assert dm.get("/console/requests/no_such_field").status_code == 404


def test_refusal_needs_a_legal_basis_and_is_audited(inbox_site: Engine) -> None:
    field = busiest(inbox_site, "")
    dm = login(inbox_site, "dm")
    bare = post(dm, f"/console/requests/{field}/refuse", {"basis": "", "reason": "不想给"})
    assert bare.status_code == 400 and "法律" in bare.text
    assert waiting(inbox_site, field)[field] > 0
    done = api(
        dm, f"/api/console/requests/{field}/refuse", {"basis": "《统计法》第九条", "reason": "统计资料不得对外提供"}
    )
    assert done.status_code == 200 and done.json()["refused"] > 0 and waiting(inbox_site, field)[field] == 0
    with inbox_site.connect() as conn:
        assert conn.execute(select(audit_log.c.id).where(audit_log.c.action == "data.request_refused")).first()
    assert "已拒绝" in dm.get(f"/console/requests/{field}?status=refused").text


def test_answering_by_import_resolves_requests_after_the_rematch(inbox_site: Engine) -> None:
    field = busiest(inbox_site, "")
    spec = load_catalogue().fields[field]
    value = {"integer": "12", "money": "1000", "decimal": "1.5", "ratio": "0.5", "date": "2020-01-01"}.get(
        spec.type.value, "是" if spec.type.value == "boolean" else (spec.values[0] if spec.values else "1")
    )
    with inbox_site.begin() as conn:
        source = DataSource(
            "answer-test",
            "补报数据",
            spec.source,
            "每月",
            400,
            1,
            (ColumnMap("统一社会信用代码", "uscc"), ColumnMap(spec.label, field)),
        )
        register_source(conn, source)
        usccs = list(
            conn.execute(
                select(data_requests.c.uscc).where(
                    data_requests.c.field == field, data_requests.c.resolved_at.is_(None)
                )
            ).scalars()
        )
    before = waiting(inbox_site, field)[field]
    body = "统一社会信用代码," + spec.label + "\n" + "".join(f"{u},{value}\n" for u in usccs[:5])
    dm = login(inbox_site, "dm")
    files = {"file": ("补报.csv", body.encode(), "text/csv")}
    r = dm.post(
        f"/console/requests/{field}/answer",
        data={"source": "answer-test", "csrf_token": dm.cookies["ms_csrf"]},
        files=files,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/console/jobs/"), r.text
    job = r.headers["location"].rsplit("/", 1)[1]
    for _ in range(300):  # the import and the re-match run as a job
        if dm.get(f"/api/console/jobs/{job}").json()["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    report = dm.get(r.headers["location"]).text
    assert "接收 5 行" in report and "条数据请求已答复" in report
    assert waiting(inbox_site, field)[field] <= before - 5
    bad = dm.post(
        f"/console/requests/{field}/answer",
        data={"source": "answer-test", "csrf_token": dm.cookies["ms_csrf"]},
        files={"file": ("x.exe", b"MZ", "application/octet-stream")},
    )
    assert bad.status_code == 400 and "CSV" in bad.text


def test_correction_requests_are_numbered_answered_and_seen_by_the_enterprise(inbox_site: Engine) -> None:
    with inbox_site.connect() as conn:
        uscc = conn.execute(select(data_requests.c.uscc).limit(1)).scalar_one()
    firm = enterprise_client(inbox_site, uscc)
    form = {"field": "layoffs_last_year", "value": "0", "reason": "上年度裁员人数有误，实为合同期满"}
    files = {"attachment": ("社保缴费证明.pdf", b"%PDF-1.4 test", "application/pdf")}
    r = firm.post("/my/corrections", data=form | {"csrf_token": firm.cookies["ms_csrf"]}, files=files)
    assert r.status_code == 303 and "/my/corrections?done=GZ" in r.headers["location"]
    number = r.headers["location"].split("done=")[1]
    mine = firm.get(r.headers["location"]).text
    assert f"受理编号 <strong>{number}</strong>" in mine and "已受理" in mine
    hostile = firm.post(
        "/my/corrections",
        data=form | {"csrf_token": firm.cookies["ms_csrf"]},
        files={"attachment": ("run.exe", b"MZ", "application/octet-stream")},
    )
    assert hostile.status_code == 400 and "类型不支持" in hostile.text
    hr = login(inbox_site, "hr")  # 人社厅 holds layoffs_last_year
    inbox_page = hr.get("/console/requests").text
    assert number in inbox_page and "社保缴费证明.pdf" in inbox_page
    assert number not in login(inbox_site, "kj").get("/console/requests").text  # 科技厅 does not hold it
    with inbox_site.connect() as conn:
        correction = conn.execute(select(corrections.c.id)).scalar_one()
    refused = post(hr, f"/console/corrections/{correction}", {"result": "rejected", "reply": ""})
    assert refused.status_code == 400 and "理由" in refused.text
    done = post(
        hr, f"/console/corrections/{correction}", {"result": "rejected", "reply": "经核对社保系统，三月无新参保记录"}
    )
    assert done.status_code == 303
    after = firm.get("/my/corrections").text
    assert "不予更正" in after and "三月无新参保记录" in after
    assert post(hr, f"/console/corrections/{correction}", {"result": "corrected"}).status_code == 400  # once only
    with inbox_site.connect() as conn:
        told = conn.execute(select(portal_messages.c.title).where(portal_messages.c.uscc == uscc)).scalars().all()
    assert any(number in t for t in told)
    assert login(inbox_site, "kj").post(
        f"/console/corrections/{correction}", data={"result": "corrected", "csrf_token": "x"}
    ).status_code in (403, 404)


def test_a_data_manager_starts_a_match_from_the_page(inbox_site: Engine) -> None:
    dm = login(inbox_site, "dm")
    assert "立即匹配" in dm.get("/console").text
    started = post(dm, "/console/match")
    assert started.status_code == 303 and started.headers["location"].startswith("/console/jobs/")
    job = started.headers["location"].rsplit("/", 1)[1]
    for _ in range(300):
        if dm.get(f"/api/console/jobs/{job}").json()["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert "匹配完成" in dm.get(started.headers["location"]).text
    assert post(login(inbox_site, "hr"), "/console/match").status_code == 403  # departments do not run matches


def test_a_region_limited_account_sees_only_its_regions_requests_and_corrections(inbox_site: Engine) -> None:
    """Issue 16 H2 (reads): 郑州 人社 (region 410100) saw and exported the whole province's data requests."""
    from mianshen.audit.log import Actor
    from mianshen.profiles import corrections as fixes
    from mianshen.web.console.scope import regions

    field = busiest(inbox_site, "人力资源")
    hr, zz = login(inbox_site, "hr"), login(inbox_site, "zz")
    everyone = {x["field"]: x["waiting"] for x in hr.get("/api/console/requests").json()["fields"]}
    zhengzhou = {x["field"]: x["waiting"] for x in zz.get("/api/console/requests").json()["fields"]}
    with inbox_site.connect() as conn:
        asked = list(conn.execute(select(data_requests.c.uscc).where(data_requests.c.field == field)).scalars())
        where = regions(conn, asked)
    inside = [u for u in asked if where[u].startswith("4101")]
    outside = [u for u in asked if not where[u].startswith("4101")]
    assert inside and outside, "the world needs enterprises in and outside 郑州"
    assert everyone[field] == len(asked) and zhengzhou[field] == len(inside)  # before: the whole province
    exported = list(csv.reader(io.StringIO(zz.get(f"/console/requests/{field}/export.csv").text.lstrip("\ufeff"))))
    assert {row[1] for row in exported[1:]} == set(inside)
    page = zz.get(f"/console/requests/{field}?status=all").text
    assert outside[0] not in page and inside[0] in page

    with inbox_site.begin() as conn:
        made = [
            fixes.submit(conn, Actor("经办人", "enterprise", None, u), u, field, "0", "数据有误，请核实更正")
            for u in (inside[0], outside[0])
        ]
    listed = zz.get("/console/requests?corrections=received").text
    assert made[0]["number"] in listed and made[1]["number"] not in listed
    assert made[1]["number"] in hr.get("/console/requests?corrections=received").text
    reply = {"result": "rejected", "reply": "经核对数据无误"}
    assert api(zz, f"/api/console/corrections/{made[1]['id']}", reply).status_code == 404
    assert api(zz, f"/api/console/corrections/{made[0]['id']}", reply).status_code == 200
