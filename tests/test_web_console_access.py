"""Who reaches which console route: anonymous 401, enterprise 403, other department 404, auditor
read-only, CSRF required, and a region-limited department sees its region only."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from mianshen.store.schema import cases
from mianshen.web.console.scope import region_prefix, regions

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .test_web_console_fixtures import LISTED, POLICY, case_ids, enterprise_client, login

demo, populated, site, web_env = fx.demo, fx.populated, wf.site, wf.web_env

READS = [
    "/console",
    "/api/console/policies",
    "/console/policies/new",
    f"/console/policies/{POLICY}",
    "/console/cases",
    "/api/console/cases",
    "/console/cases/{case}",
    "/api/console/cases/{case}",
    "/console/objections",
    "/api/console/objections",
    "/console/payments",
    "/api/console/payments",
]
WRITES = [
    "/console/policies/check",
    "/api/console/policies/check",
    "/console/policies/simulate",
    "/api/console/policies/simulate",
    "/console/policies/publish",
    "/api/console/policies/publish",
    f"/console/policies/{LISTED}/list",
    f"/api/console/policies/{LISTED}/list",
    "/console/cases/{case}/review",
    "/api/console/cases/{case}/review",
    "/console/payments/batches",
    "/api/console/payments/batches",
    "/console/payments/batches/1/export",
    "/console/payments/batches/1/paid",
]


def test_region_prefix() -> None:
    assert region_prefix("410100") == "4101" and region_prefix("410000") == "41" and region_prefix("410102") == "410102"


@pytest.mark.parametrize("who", [None, "enterprise"])
def test_outsiders_never_reach_the_console(site: Engine, who: str | None) -> None:
    case = case_ids(site)[0]
    with site.connect() as conn:
        uscc = conn.execute(select(cases.c.uscc).where(cases.c.id == case)).scalar_one()
    client = login(site, None) if who is None else enterprise_client(site, uscc)
    expected = 401 if who is None else 403
    for url in READS:
        got = client.get(url.format(case=case))
        if who is None and not url.startswith("/api/"):  # a page sends the signed-out to sign in
            assert got.status_code == 303 and got.headers["location"].startswith("/login?next="), url
        else:
            assert got.status_code == expected, url
    for url in WRITES:
        r = client.post(url.format(case=case), data={"csrf_token": client.cookies["ms_csrf"]})
        assert r.status_code == expected, url


def test_auditor_reads_everything_and_changes_nothing(site: Engine) -> None:
    aud = login(site, "aud")
    case = case_ids(site)[0]
    for url in READS:
        assert aud.get(url.format(case=case)).status_code == 200, url
    for url in WRITES:
        r = aud.post(url.format(case=case), data={"csrf_token": aud.cookies["ms_csrf"], "source": "x"})
        assert r.status_code == 403, url


def test_post_without_csrf_is_refused(site: Engine) -> None:
    hr = login(site, "hr")
    case = case_ids(site)[0]
    for url in WRITES:
        assert hr.post(url.format(case=case), data={"source": "x"}).status_code == 403, url
        assert hr.post(url.format(case=case), json={"source": "x"}).status_code == 403, url


def test_another_department_gets_404_on_our_cases(site: Engine) -> None:
    kj = login(site, "kj")
    case = case_ids(site)[0]
    for url in ("/console/cases/{case}", "/api/console/cases/{case}"):
        assert kj.get(url.format(case=case)).status_code == 404
    r = kj.post(f"/console/cases/{case}/review", data={"csrf_token": kj.cookies["ms_csrf"]})
    assert r.status_code == 404
    assert not kj.get("/api/console/cases?state=matched").json()["cases"]
    assert login(site, "hr").get("/api/console/cases?state=matched").json()["cases"]


def test_region_limited_staff_see_their_region_only(site: Engine) -> None:
    ids = case_ids(site)
    with site.connect() as conn:
        usccs = {int(i): str(u) for i, u in conn.execute(select(cases.c.id, cases.c.uscc).where(cases.c.id.in_(ids)))}
        where = regions(conn, usccs.values())
    inside = [i for i in ids if where.get(usccs[i], "").startswith("4101")]
    outside = [i for i in ids if not where.get(usccs[i], "").startswith("4101")]
    assert inside and outside
    zz = login(site, "zz")
    shown = {c["id"] for c in zz.get("/api/console/cases?state=matched").json()["cases"]}
    assert shown == set(inside)
    assert zz.get(f"/console/cases/{inside[0]}").status_code == 200
    assert zz.get(f"/console/cases/{outside[0]}").status_code == 404
    r = zz.post(f"/console/cases/{outside[0]}/notify", data={"csrf_token": zz.cookies["ms_csrf"]})
    assert r.status_code == 404
