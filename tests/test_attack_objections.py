"""Issue 16, M7: objections to a case in 公示 — an unverified objector no longer stops a case (it goes
to triage, staff accept or dismiss it), a phone verified by SMS code does; limits per client address,
per case and per phone; the same answer whatever the case's state."""

from __future__ import annotations

import datetime as dt
import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from mianshen.store.schema import objections, outbox
from mianshen.web import objecting

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .test_web_console_cases import state, to_publicity
from .test_web_console_fixtures import case_ids, login, make_client, post

demo, populated, site, web_env = fx.demo, fx.populated, wf.site, wf.web_env
REASON = "该企业的参保人数与实际不符"


def anonymous(engine: Engine, address: str = "203.0.113.7") -> TestClient:
    client = make_client(engine)
    client = TestClient(client.app, base_url="https://testserver", client=(address, 50000), follow_redirects=False)
    client.get("/publicity")
    return client


def object_to(client: TestClient, case_id: int | str, phone: str = "") -> object:
    data = {"reason": REASON, "phone": phone, "csrf_token": client.cookies["ms_csrf"]}
    return client.post(f"/publicity/{case_id}/objection", data=data)


def sent_code(engine: Engine) -> str:
    query = select(outbox.c.payload).where(outbox.c.template == "objection_code").order_by(outbox.c.id.desc())
    with engine.connect() as conn:
        return str(json.loads(conn.execute(query.limit(1)).scalar_one())["code"])


def shown(response: object) -> str:
    """The page's message, without the per-request parts (CSRF token, nonce, the code form's token)."""
    text = getattr(response, "text", "")
    main = text[text.index("<main") :] if "<main" in text else text
    return re.sub(r'value="[^"]*"', "", main)


def test_an_unverified_objection_waits_in_triage_and_staff_decide(site: Engine) -> None:
    hr = login(site, "hr")
    first, second = case_ids(site)[:2]
    to_publicity(site, hr, first)
    to_publicity(site, hr, second)
    anon = anonymous(site)
    r = object_to(anon, first)
    assert r.status_code == 200 and "不暂停公示" in r.text  # type: ignore[attr-defined]
    assert state(site, first) == "publicity"  # before: any anonymous objection stopped the case
    listing = hr.get("/console/objections").text
    assert "待核实" in listing and REASON in listing
    with site.connect() as conn:
        oid = conn.execute(select(objections.c.id).where(objections.c.case_id == first)).scalar_one()
    assert post(hr, f"/console/objections/{oid}/dismiss", {"reason": ""}).status_code == 400
    assert post(hr, f"/console/objections/{oid}/dismiss", {"reason": "经核实参保人数无误"}).status_code == 303
    assert state(site, first) == "publicity" and "经核实参保人数无误" in hr.get("/console/objections").text
    assert post(login(site, "kj"), f"/console/objections/{oid}/accept").status_code == 404  # another department

    object_to(anon, second)
    with site.connect() as conn:
        oid = conn.execute(select(objections.c.id).where(objections.c.case_id == second)).scalar_one()
    assert post(hr, f"/console/objections/{oid}/accept").status_code == 303
    assert state(site, second) == "objection"  # accepted: stops the case as a verified objection does
    assert post(hr, f"/console/cases/{second}/resolve", {"upheld": "0", "reason": "经核实无误"}).status_code == 303
    assert state(site, second) == "publicity"


def test_an_objection_with_a_verified_phone_stops_the_case(site: Engine) -> None:
    hr = login(site, "hr")
    case_id = case_ids(site)[0]
    to_publicity(site, hr, case_id)
    anon = anonymous(site)
    assert object_to(anon, case_id, "139 0000 1234").status_code == 200  # type: ignore[attr-defined]
    assert state(site, case_id) == "publicity"  # not before the code comes back
    page = object_to(anon, case_id, "13900001234")
    token = re.search(r'name="token" value="([^"]+)"', page.text)  # type: ignore[attr-defined]
    assert token and "139****1234" in page.text  # type: ignore[attr-defined]
    data = {"token": token.group(1), "code": "000000" if sent_code(site) != "000000" else "111111"}
    wrong = anon.post("/publicity/objection/confirm", data=data | {"csrf_token": anon.cookies["ms_csrf"]})
    assert wrong.status_code == 401 and "验证码不正确" in wrong.text and state(site, case_id) == "publicity"
    data["code"] = sent_code(site)
    done = anon.post("/publicity/objection/confirm", data=data | {"csrf_token": anon.cookies["ms_csrf"]})
    assert done.status_code == 200 and "异议已受理" in done.text
    assert state(site, case_id) == "objection"
    with site.connect() as conn:
        raised = conn.execute(select(objections).where(objections.c.case_id == case_id)).mappings().one()
    assert raised["stage"] == "verified" and "139****1234" in raised["raised_by"] and raised["phone"] != "13900001234"
    again = anon.post("/publicity/objection/confirm", data=data | {"csrf_token": anon.cookies["ms_csrf"]})
    assert again.status_code == 401  # a code is used once


def test_the_answer_does_not_tell_the_state_of_a_case(site: Engine) -> None:
    hr = login(site, "hr")
    public, other = case_ids(site)[:2]
    to_publicity(site, hr, public)
    anon = anonymous(site)
    answers = [object_to(anon, case_id) for case_id in (public, other, 987654)]
    assert {a.status_code for a in answers} == {200}  # type: ignore[attr-defined]
    assert len({shown(a) for a in answers}) == 1  # before: 400 “当前状态…” or “案件不存在”
    coded = [object_to(anonymous(site, "198.51.100.2"), n, "13900001234") for n in (public, other, 987654)]
    assert {a.status_code for a in coded} == {200} and len({shown(a) for a in coded}) == 1  # type: ignore[attr-defined]
    assert state(site, other) != "objection"


def test_objections_are_limited_per_client_address_and_per_case(site: Engine) -> None:
    hr = login(site, "hr")
    case_id = case_ids(site)[0]
    to_publicity(site, hr, case_id)
    anon = anonymous(site)
    codes = [object_to(anon, case_id).status_code for _ in range(6)]  # type: ignore[attr-defined]
    assert codes == [200] * 5 + [429]
    assert object_to(anonymous(site, "198.51.100.1"), case_id).status_code == 200  # type: ignore[attr-defined]
    now = dt.datetime.now(dt.UTC)
    with site.begin() as conn:  # many addresses at one case: 30 a day in all (6 counted above)
        answers = [objecting.submit(conn, case_id, REASON, "", f"10.0.{n}.1", now) for n in range(30)]
        assert sum(isinstance(a, tuple) for a in answers) == 24
        assert isinstance(objecting.submit(conn, case_id + 1, REASON, "", "10.9.9.9", now), tuple)
        phone = [objecting.submit(conn, 987654, REASON, "13900001234", f"10.1.{n}.1", now) for n in range(4)]
        assert [isinstance(a, tuple) for a in phone] == [True, True, True, False]  # one phone: 3 codes an hour
    with site.connect() as conn:
        assert (
            conn.execute(select(objections.c.stage).where(objections.c.case_id == case_id)).scalars().all()
            == ["triage"] * 30
        )
