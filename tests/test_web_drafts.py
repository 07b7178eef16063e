"""Console drafting (再确认): a policy document → candidates → staff accept/edit/reject → the policy editor."""

from __future__ import annotations

import hashlib
import html as html_lib
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from mianshen.store.db import open_store
from mianshen.store.schema import audit_log, policy_versions
from mianshen.web.accounts import add_user

from .test_web_console_fixtures import PASSWORD, enterprise_client, make_client

DOC = Path("/work/shared/docs/policy-texts/14-tax-czb-swzj-2023-6-xiaowei-suodeshui.txt")
HRSS = "河南省人力资源和社会保障厅"
pytestmark = pytest.mark.skipif(not DOC.exists(), reason="shared policy texts not present")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("MIANSHEN_FAST_HASH", "1")
    monkeypatch.setenv("MIANSHEN_DRAFT_DIR", str(tmp_path / "drafts"))
    monkeypatch.delenv("MIANSHEN_LLM_URL", raising=False)
    engine = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    with engine.begin() as conn:
        add_user(conn, "hr", PASSWORD, "department", "人社用户", department=HRSS)
        add_user(conn, "hr2", PASSWORD, "department", "人社用户二", department=HRSS)
        add_user(conn, "admin", PASSWORD, "platform_admin", "管理员")
        add_user(conn, "aud", PASSWORD, "auditor", "审计")
    yield engine
    engine.dispose()


def login(engine: Engine, username: str | None) -> TestClient:
    client = make_client(engine)
    client.get("/login")
    if username:
        token = client.cookies["ms_csrf"]
        r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 303, r.text
    return client


def token(client: TestClient) -> str:
    return str(client.cookies["ms_csrf"])


def upload(client: TestClient, csrf: str | None = None, **data: str) -> Any:
    files = {"file": (DOC.name, DOC.read_bytes(), "text/plain")}
    return client.post("/console/drafts", data={"csrf_token": csrf or token(client), **data}, files=files)


def rows(html: str) -> dict[str, str]:
    """Each candidate row's key → the row's HTML."""
    return dict(re.findall(r'<tr id="row-(\w+)"[^>]*>(.*?)</tr>', html, re.S))


def draft_id(html: str) -> str:
    found = re.search(r'name="draft" value="([0-9a-f]+)"', html)
    assert found, html
    return found.group(1)


def key_of(table: dict[str, str], field: str) -> str:
    return next(k for k, html in table.items() if f'value="{field}"' in html)


def test_upload_lists_candidates_with_their_sentences(site: Engine) -> None:
    client = login(site, "hr")
    assert "从原文起草" in client.get("/console/drafts/new").text
    r = upload(client)
    assert r.status_code == 200, r.text
    table = rows(r.text)
    assert len(table) >= 4
    row = table[key_of(table, "taxable_income_annual")]
    assert "<mark>应纳税所得额不超过300万元</mark>" in row and "本公告所称小型微利企业" in row
    assert load_label("taxable_income_annual") in row  # the field's Chinese label
    for word in ("采纳", "修改", "不采纳", "置信度", "未能识别", "的部分"):
        assert word in r.text
    assert "语言模型建议" not in r.text  # MIANSHEN_LLM_URL unset


def load_label(name: str) -> str:
    from mianshen.catalogue.fields import load_catalogue

    known = load_catalogue().get(name)
    return known.label if known else ""


def decide(client: TestClient, html: str, edit_value: str = "200万元") -> tuple[Any, dict[str, str]]:
    table = rows(html)
    income, staff, assets = (
        key_of(table, f) for f in ("taxable_income_annual", "employees_quarterly_avg", "assets_quarterly_avg")
    )
    data = {"csrf_token": token(client), "draft": draft_id(html)}
    for key in table:
        data[f"decision_{key}"] = "accept"
    data[f"decision_{assets}"] = "reject"
    data[f"decision_{income}"] = "edit"
    data.update({f"field_{income}": "taxable_income_annual", f"op_{income}": "le", f"value_{income}": edit_value})
    return client.post("/console/drafts/accept", data=data), {"income": income, "staff": staff, "assets": assets}


def test_accept_edit_reject_opens_the_editor_with_a_checked_draft(site: Engine) -> None:
    client = login(site, "hr")
    html = upload(client).text
    total = len(rows(html))
    r, _ = decide(client, html)
    assert r.status_code == 200, r.text
    assert "编写 / 上传政策文件" in r.text  # the existing editor, nothing published
    source = re.search(r'<textarea name="source"[^>]*>(.*?)</textarea>', r.text, re.S)
    assert source
    text = html_lib.unescape(source.group(1))
    policy = yaml.safe_load(text)
    conds = {
        (c["field"], next(k for k in ("le", "eq") if k in c), str(c.get("le", c.get("eq"))))
        for c in policy["conditions"]
    }
    assert conds == {
        ("taxable_income_annual", "le", "200万元"),
        ("employees_quarterly_avg", "le", "300"),
        ("restricted_industry", "eq", "False"),
    }
    assert policy["department"] == HRSS and policy["valid_to"].isoformat() == "2024-12-31"
    assert "# 未能识别" in text and "人工修改" in text

    check = client.post("/console/policies/check", data={"csrf_token": token(client), "source": text})
    assert check.status_code == 200, check.text
    assert "检查通过" in check.text and 'class="error"' not in check.text
    with site.connect() as conn:
        assert conn.execute(select(policy_versions)).first() is None  # nothing published
        event = conn.execute(select(audit_log).where(audit_log.c.action == "policy.draft")).mappings().one()
    sha = hashlib.sha256(DOC.read_bytes()).hexdigest()
    after = json.loads(event["after"])
    assert event["data_hash"] == sha and after["sha256"] == sha
    assert (after["accepted"], after["edited"], after["rejected"]) == (total - 2, 1, 1)


def test_an_edit_the_checker_rejects_is_shown_again(site: Engine) -> None:
    client = login(site, "admin")
    r, keys = decide(client, upload(client).text, edit_value="很多")
    assert r.status_code == 422
    assert "检查器拒绝" in rows(r.text)[keys["income"]]
    assert 'value="很多"' in r.text  # what staff typed is kept
    with site.connect() as conn:
        assert conn.execute(select(audit_log).where(audit_log.c.action == "policy.draft")).first() is None


def test_every_row_needs_a_decision(site: Engine) -> None:
    client = login(site, "hr")
    html = upload(client).text
    r = client.post("/console/drafts/accept", data={"csrf_token": token(client), "draft": draft_id(html)})
    assert r.status_code == 422 and "请选择采纳、修改或不采纳" in r.text


def test_pasted_text_and_article(site: Engine) -> None:
    client = login(site, "hr")
    body = DOC.read_text(encoding="utf-8")
    r = client.post("/console/drafts", data={"csrf_token": token(client), "text": body, "article": "四"})
    assert r.status_code == 200
    table = rows(r.text)
    assert len(table) == 2 and all("2023年1月1日至2024年12月31日" in row for row in table.values())
    assert "本公告所称小型微利企业" not in "".join(table.values())


def test_roles_and_csrf(site: Engine) -> None:
    anonymous = login(site, None)
    assert anonymous.get("/console/drafts/new").headers["location"] == "/login?next=%2Fconsole%2Fdrafts%2Fnew"
    assert upload(anonymous).status_code == 401
    auditor = login(site, "aud")
    page = auditor.get("/console/drafts/new")
    assert page.status_code == 200 and 'action="/console/drafts"' not in page.text
    assert upload(auditor).status_code == 403
    enterprise = enterprise_client(site, "91410100MA00000001")
    assert enterprise.get("/console/drafts/new").status_code == 403
    assert upload(enterprise).status_code == 403

    hr = login(site, "hr")
    assert upload(hr, csrf="wrong").status_code == 403
    html = upload(hr).text
    assert hr.post("/console/drafts/accept", data={"draft": draft_id(html)}).status_code == 403
    other = login(site, "hr2")  # another user's draft looks missing
    r = other.post("/console/drafts/accept", data={"csrf_token": token(other), "draft": draft_id(html)})
    assert r.status_code == 404
    r = hr.post("/console/drafts/accept", data={"csrf_token": token(hr), "draft": "../../etc"})
    assert r.status_code == 404
    r = hr.post("/console/drafts", data={"csrf_token": token(hr)}, files={"file": ("a.pdf", b"x", "application/pdf")})
    assert r.status_code == 400


class FakeModel:
    def suggest(self, text: str) -> tuple[list[Any], list[Any]]:
        from mianshen.assist.extract import Candidate

        sentence = "三、本公告所称小型微利企业,是指从事国家非限制和禁止行业"
        found = Candidate("restricted_industry", "eq", False, "condition", "非限制和禁止行业", sentence, (20, 28), 0.6)
        return [replace(found, source="llm")], []


def test_language_model_suggestions_are_shown_apart_and_confirmed_the_same_way(
    site: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mianshen.web.console import draft_routes

    monkeypatch.setenv("MIANSHEN_LLM_URL", "http://model.invalid")
    monkeypatch.setattr(draft_routes.LLMClient, "from_env", classmethod(lambda cls: FakeModel()))
    client = login(site, "hr")
    html = upload(client).text
    assert "语言模型建议" in html and 'id="row-s0"' in html
    data = {"csrf_token": token(client), "draft": draft_id(html)}
    data.update({f"decision_{key}": "reject" for key in rows(html)})
    data["decision_s0"] = "accept"
    r = client.post("/console/drafts/accept", data=data)
    assert r.status_code == 200, r.text
    assert "field: restricted_industry" in r.text and "taxable_income_annual" not in r.text
