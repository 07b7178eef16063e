"""The queue at volume: totals and pages, filters by policy title and region, exports of the filtered
set, bulk work on a selection and on a whole policy (a background job with progress), deep links."""

from __future__ import annotations

import csv
import io
import re
import time
from urllib.parse import parse_qs, unquote, urlparse

from openpyxl import load_workbook
from sqlalchemy import Engine, func, select, update

from mianshen.cases import bulk
from mianshen.jobs.tasks import resume_bulk
from mianshen.store.schema import bulk_jobs, cases, enterprises, outbox
from mianshen.web.console.scope import regions

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .test_web_console_fixtures import HR, POLICY, api, case_ids, login, make_client, post

demo, populated, site, web_env = fx.demo, fx.populated, wf.site, wf.web_env


def count(engine: Engine, *where: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(cases).where(*where)).scalar_one())


def more_cases(engine: Engine, n: int) -> None:
    """Copies of the policy's cases for other periods (a queue longer than a page)."""
    with engine.begin() as conn:
        rows = [dict(r) for r in conn.execute(select(cases).where(cases.c.policy_id == POLICY)).mappings()]
        copies = []
        for k in range(n):
            row = dict(rows[k % len(rows)])
            row.pop("id")
            copies.append(row | {"period": f"copy-{k}", "amount": str(1000 + 37 * k), "state": "under_review"})
        conn.execute(cases.insert(), copies)


def test_queue_pages_with_a_total_and_keeps_filters_across_pages(site: Engine) -> None:
    more_cases(site, 60)
    hr = login(site, "hr")
    total = count(site, cases.c.policy_id == POLICY)
    assert total > 60
    first = hr.get("/api/console/cases?state=all&size=20").json()
    assert first["total"] == total and first["pages"] == -(-total // 20) and len(first["cases"]) == 20
    second = hr.get("/api/console/cases?state=all&size=20&page=2").json()
    assert not {c["id"] for c in first["cases"]} & {c["id"] for c in second["cases"]}
    last = hr.get(f"/api/console/cases?state=all&size=20&page={first['pages'] + 5}").json()  # past the end: the last
    assert last["page"] == first["pages"] and len(last["cases"]) == total - 20 * (first["pages"] - 1)
    page = hr.get("/console/cases?state=all&size=20").text
    assert f"共 <strong>{total:,}</strong> 件" in page and "下一页" in page
    assert "state=all" in page.split("下一页")[0].rsplit("href=", 1)[1]  # the link keeps the filter
    by_amount = hr.get("/api/console/cases?state=all&sort=amount&size=200").json()["cases"]
    amounts = [float(c["amount"]) for c in by_amount]
    assert amounts == sorted(amounts, reverse=True)


def test_policy_filter_takes_words_of_the_title_and_region_a_name(site: Engine) -> None:
    hr = login(site, "hr")
    total = count(site, cases.c.policy_id == POLICY)
    assert hr.get("/api/console/cases?state=all&policy=扩岗").json()["total"] == total
    assert hr.get(f"/api/console/cases?state=all&policy={POLICY}").json()["total"] == total
    assert hr.get("/api/console/cases?state=all&policy=高新技术企业").json()["total"] == 0  # 科技厅's, not in reach
    with site.connect() as conn:
        usccs = dict(conn.execute(select(cases.c.id, cases.c.uscc).where(cases.c.policy_id == POLICY)).all())
        where = regions(conn, usccs.values())
    zhengzhou = {i for i, u in usccs.items() if where.get(u, "").startswith("4101")}
    assert zhengzhou and len(zhengzhou) < len(usccs)
    for text in ("郑州", "郑州市", "410100"):
        found = hr.get(f"/api/console/cases?state=all&size=200&region={text}").json()
        assert {c["id"] for c in found["cases"]} == zhengzhou, text
    bad = hr.get("/console/cases?state=all&region=火星")
    assert bad.status_code == 200 and "没有名为“火星”的行政区划" in bad.text and "共 <strong>0</strong> 件" in bad.text


def test_cases_without_a_region_are_filled_from_the_profile_library(site: Engine) -> None:
    with site.begin() as conn:
        conn.execute(update(cases).values(region=None))
    zz = login(site, "zz")  # 郑州 staff: the listing needs regions
    shown = zz.get("/api/console/cases?state=all&size=200").json()
    assert shown["total"] > 0 and count(site, cases.c.region.is_(None)) == 0
    assert all(c["uscc"] for c in shown["cases"])
    assert count(site, cases.c.region.startswith("4101")) == shown["total"]


def test_export_has_every_row_of_the_filter_and_no_formulas(site: Engine) -> None:
    hr = login(site, "hr")
    victim = case_ids(site)[0]
    with site.begin() as conn:
        uscc = conn.execute(select(cases.c.uscc).where(cases.c.id == victim)).scalar_one()
        conn.execute(update(enterprises).where(enterprises.c.uscc == uscc).values(name='=HYPERLINK("http://x","y")'))
    total = hr.get("/api/console/cases?state=all&region=郑州").json()["total"]
    text = hr.get("/console/cases.csv?state=all&region=郑州").content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][0] == "案件编号" and len(rows) - 1 == total
    everything = list(csv.reader(io.StringIO(hr.get("/console/cases.csv?state=all").text.lstrip("\ufeff"))))
    named = [r for r in everything if r[0] == str(victim)][0]
    assert named[2].startswith("'=")
    book = load_workbook(io.BytesIO(hr.get("/console/cases.xlsx?state=all").content))
    sheet = book.active
    assert sheet.max_row - 1 == count(site, cases.c.policy_id == POLICY)
    cells = [c.value for c in next(r for r in sheet.iter_rows() if r[0].value == str(victim))]
    assert str(cells[2]).startswith("'=")


def test_acting_on_selected_cases_reports_each(site: Engine) -> None:
    hr = login(site, "hr")
    matched = case_ids(site, state="matched")[:3]
    other = case_ids(site, state="matched")[3]
    with site.begin() as conn:
        conn.execute(update(cases).where(cases.c.id == other).values(state="declined"))
    form = {"action": "notify", "ids": [*matched, other]}
    r = post(hr, "/console/cases/bulk", form)
    assert r.status_code == 200 and "成功 <strong>3</strong> 件，未办理 <strong>1</strong> 件" in r.text
    assert f"#{other}" in r.text and "不能" in r.text
    assert count(site, cases.c.id.in_(matched), cases.c.state == "notified") == 3
    assert login(site, "aud").post("/console/cases/bulk", data={"action": "notify", "ids": matched[0]}).status_code in (
        403,
        303,
    )


def test_a_whole_policy_is_notified_in_the_background_with_progress(site: Engine) -> None:
    hr = login(site, "hr")
    ready = count(site, cases.c.policy_id == POLICY, cases.c.state == "matched")
    preview = hr.get(f"/console/bulk/new?policy={POLICY}&action=notify")
    assert preview.status_code == 200 and f"将办理 <strong>{ready:,}</strong> 件" in preview.text
    assert "【免申即享】贵单位（" in preview.text and "请于" in preview.text  # the SMS they will get
    page = hr.get(f"/console/cases?state=matched&policy={POLICY}").text
    assert f"/console/bulk/new?policy={POLICY}&amp;action=notify" in page
    job = api(hr, "/api/console/bulk", {"policy": POLICY, "action": "notify"}).json()["job"]
    for _ in range(200):
        progress = hr.get(f"/api/console/bulk/{job}").json()
        if progress["state"] == "done":
            break
        time.sleep(0.05)
    assert progress["state"] == "done" and progress["done"] == ready and progress["failed"] == 0
    assert count(site, cases.c.policy_id == POLICY, cases.c.state == "matched") == 0
    with site.connect() as conn:
        sent = conn.execute(select(func.count()).select_from(outbox).where(outbox.c.template == "case_notified"))
        assert sent.scalar_one() >= ready
    assert "已完成" in hr.get(f"/console/bulk/{job}").text
    assert login(site, "kj").get(f"/api/console/bulk/{job}").status_code == 404  # another department's job
    again = api(hr, "/api/console/bulk", {"policy": POLICY, "action": "notify"}).json()["job"]
    assert bulk.load(site, again)["state"] == "done" and bulk.load(site, again)["total"] == 0  # nothing left


def test_regional_staff_bulk_stays_in_their_region(site: Engine) -> None:
    zz = login(site, "zz")
    zz.get("/api/console/cases?state=all")  # fills regions
    inside = count(site, cases.c.state == "matched", cases.c.region.startswith("4101"))
    outside = count(site, cases.c.state == "matched") - inside
    job = api(zz, "/api/console/bulk", {"policy": POLICY, "action": "notify"}).json()["job"]
    for _ in range(200):
        if zz.get(f"/api/console/bulk/{job}").json()["state"] == "done":
            break
        time.sleep(0.05)
    assert count(site, cases.c.state == "matched") == outside > 0


def test_a_job_left_behind_is_resumed_once(site: Engine) -> None:
    with site.begin() as conn:
        job = bulk.start(conn, POLICY, "notify", HR)
    assert bulk.claim(site, job) and not bulk.claim(site, job)  # two runners: one wins
    with site.begin() as conn:  # the runner died: its heartbeat goes stale
        conn.execute(update(bulk_jobs).where(bulk_jobs.c.id == job).values(heartbeat_at=fx.dt.datetime(2000, 1, 1)))
    outcome = resume_bulk(site, fx.AS_OF)
    assert outcome.changed == 1 and bulk.load(site, job)["state"] == "done"
    assert count(site, cases.c.policy_id == POLICY, cases.c.state == "matched") == 0
    assert resume_bulk(site, fx.AS_OF).changed == 0


def test_signed_out_deep_link_signs_in_and_returns(site: Engine) -> None:
    anon = make_client(site)
    r = anon.get("/console/cases?state=all&region=郑州")
    assert r.status_code == 303
    target = parse_qs(urlparse(r.headers["location"]).query)["next"][0]
    assert (
        urlparse(r.headers["location"]).path == "/login" and unquote(target) == "/console/cases?state=all&region=郑州"
    )
    form = anon.get(r.headers["location"]).text
    assert 'name="next" value="/console/cases?state=all&amp;region=%E9%83%91' in form
    done = anon.post(
        "/login",
        data={"username": "hr", "password": wf.PASSWORD, "next": target, "csrf_token": anon.cookies["ms_csrf"]},
    )
    assert done.status_code == 303 and done.headers["location"] == target
    evil = make_client(site)
    evil.get("/login")
    away = evil.post(
        "/login",
        data={
            "username": "hr",
            "password": wf.PASSWORD,
            "next": "//evil.example/x",
            "csrf_token": evil.cookies["ms_csrf"],
        },
    )
    assert away.headers["location"] == "/console"
    assert make_client(site).get("/api/console/cases").status_code == 401  # the API still answers 401


def test_approval_is_offered_only_after_publicity_ends(site: Engine) -> None:
    from mianshen.cases import review
    from mianshen.clock import today

    from .test_web_console_fixtures import confirm

    case_id = case_ids(site)[0]
    confirm(site, case_id)
    with site.begin() as conn:
        review.begin_review(conn, case_id, HR)
        review.open_publicity(conn, case_id, HR, today(), stale_reason="测试")
    hr = login(site, "hr")
    assert "公示期满，批准" not in hr.get(f"/console/cases/{case_id}").text
    with site.begin() as conn:
        conn.execute(update(cases).where(cases.c.id == case_id).values(publicity_to=fx.dt.date(2000, 1, 1)))
    assert "公示期满，批准" in hr.get(f"/console/cases/{case_id}").text


def test_the_reviewer_sees_each_condition_with_value_source_and_date(site: Engine) -> None:
    from mianshen.store.schema import audit_log

    case_id = case_ids(site)[0]
    page = login(site, "hr").get(f"/console/cases/{case_id}").text
    assert "逐条结论" in page and "数据日期" in page
    section = page.split("逐条结论")[1].split("证据快照")[0]
    assert "符合" in section and "2025-" in section  # conclusions and the dates the values are as of
    with site.connect() as conn:
        reads = conn.execute(select(audit_log.c.after).where(audit_log.c.action == "profile.read")).scalars().all()
    assert any("部门审核" in r for r in reads)  # a reviewer reading the profile is audited as such


def test_an_onsite_check_keeps_its_photos_in_the_case_record(site: Engine, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from .test_web_console_fixtures import confirm

    monkeypatch.setenv("MIANSHEN_UPLOAD_DIR", str(tmp_path / "uploads"))
    case_id = case_ids(site)[0]
    confirm(site, case_id)
    hr = login(site, "hr")
    assert post(hr, f"/console/cases/{case_id}/review").status_code == 303
    photo = b"\xff\xd8\xff\xe0 a photo of the workshop"  # a JPEG starts so (uploads check it)
    form = {"passed": "1", "note": "车间在产，人数与申报一致", "csrf_token": hr.cookies["ms_csrf"]}
    files = [
        ("photos", ("车间.jpg", photo, "image/jpeg")),
        ("photos", ("名册.pdf", b"%PDF-1.4 roster", "application/pdf")),
    ]
    assert hr.post(f"/console/cases/{case_id}/onsite", data=form, files=files).status_code == 303
    page = hr.get(f"/console/cases/{case_id}").text
    record = page.split("办理记录")[-1]
    assert "现场核验：通过" in record and "车间.jpg" in record and "名册.pdf" in record
    link = re.search(rf'href="(/console/cases/{case_id}/files/[0-9a-f]{{64}})">车间.jpg', record)
    assert link and hr.get(link.group(1)).content == photo
    assert login(site, "kj").get(link.group(1)).status_code == 404  # another department: not found
    hostile = [("photos", ("x.exe", b"MZ", "application/octet-stream"))]
    bad = hr.post(f"/console/cases/{case_id}/onsite", data=form, files=hostile)
    assert bad.status_code == 400 and "类型不支持" in bad.text


def test_bulk_without_a_policy_asks_to_choose_one(site: Engine) -> None:
    hr = login(site, "hr")
    matched = len(case_ids(site, state="matched"))
    for url in ("/console/bulk/new", "/console/bulk/new?action=notify", "/console/bulk/new?policy=" + POLICY):
        page = hr.get(url)
        assert page.status_code == 200 and "批量办理：请选择政策" in page.text, url
        assert f"/console/bulk/new?policy={POLICY}&amp;action=notify" in page.text
        assert f"{matched:,} 件" in page.text and f"policy={wf.LISTED}" not in page.text  # its own policies only


def test_a_region_prefix_is_read_as_a_range_of_codes() -> None:
    """郑州 (4101 and the districts 410171–3 inside it), a prefix ending in 9, the last prefix of all
    and a code with a letter: the same rows as "starts with", on any store's ordering of digits."""
    from sqlalchemy import Column, MetaData, String, Table, create_engine

    from mianshen.web.console.scope import code_starts

    table = Table("t", MetaData(), Column("region", String(12)))
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    codes = ["410100", "410171", "410200", "4101", "410", "410900", "411000", "990000", "99", "41X1", ""]
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"region": c} for c in codes] + [{"region": None}])
        for prefixes in (["4101", "410171", "410172"], ["4109"], ["99"], ["41X"], ["4101", "4102"]):
            found = {r.region for r in conn.execute(table.select().where(code_starts(table.c.region, prefixes)))}
            assert found == {c for c in codes if any(c.startswith(p) for p in prefixes)}, prefixes
