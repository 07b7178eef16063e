"""Issue 16, low findings: security headers (CSP with nonces, no-store when signed in, HSTS only over
HTTPS, no server banner), the CSRF token rotated at sign-in and never taken from a cookie the
client chose once signed in, and ids beyond the database's range answering 404."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from . import test_web_console_fixtures as wf
from .test_web_console_fixtures import PASSWORD, enterprise_client, login, make_client

staffed = wf.staffed  # the fixture: a store with one account per staff role

TEMPLATES = Path(__file__).resolve().parent.parent / "mianshen" / "web" / "templates"
BIG = str(2**63)


def nonce_of(response: Any) -> str:
    found = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"])
    assert found
    return found.group(1)


def test_pages_carry_a_content_security_policy(staffed: Engine) -> None:
    r = make_client(staffed).get("/")
    policy = r.headers["content-security-policy"]
    assert (
        "default-src 'self'" in policy
        and "frame-ancestors 'none'" in policy
        and "unsafe-inline" not in policy.split("style-src")[0]
    )
    assert r.headers["x-content-type-options"] == "nosniff"


def test_inline_scripts_carry_the_nonce_and_no_handler_is_inline() -> None:
    for template in TEMPLATES.glob("*.html"):
        html = template.read_text(encoding="utf-8")
        assert not re.search(r"\son[a-z]+=", html), template.name  # onclick=, onsubmit=
        assert "javascript:" not in html, template.name
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag or 'nonce="{{ csp_nonce }}"' in tag or "application/json" in tag, (template.name, tag)


def test_the_nonce_on_a_page_matches_its_header(staffed: Engine) -> None:
    hr = login(staffed, "hr")
    r = hr.get("/console/policies/new")
    if "<script nonce" in r.text:
        assert f'<script nonce="{nonce_of(r)}">' in r.text
    docs = make_client(staffed).get("/docs")
    assert docs.status_code == 200 and f'<script nonce="{nonce_of(docs)}">' in docs.text


def test_private_pages_are_not_cached_public_ones_may_be(staffed: Engine) -> None:
    assert "no-store" not in make_client(staffed).get("/policies").headers.get("cache-control", "")
    hr = login(staffed, "hr")
    assert hr.get("/console").headers["cache-control"] == "no-store"
    assert hr.get("/api/console/cases").headers["cache-control"] == "no-store"


def test_hsts_only_over_https(staffed: Engine) -> None:
    assert "strict-transport-security" in make_client(staffed).get("/").headers  # https://testserver
    app = make_client(staffed).app
    assert "strict-transport-security" not in TestClient(app, base_url="http://testserver").get("/").headers


def test_serve_sends_no_server_banner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import uvicorn

    from mianshen.cli.main import cli

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: calls.append(k))
    db = f"sqlite:///{tmp_path}/store.sqlite"
    for workers in ("1", "2"):
        result = CliRunner().invoke(cli, ["serve", "--no-send", "--db", db, "--workers", workers])
        assert result.exit_code == 0, result.output
    assert len(calls) == 2 and all(k.get("server_header") is False for k in calls)


def test_csrf_token_changes_at_sign_in(staffed: Engine) -> None:
    client = make_client(staffed)
    client.get("/login")
    before = client.cookies["ms_csrf"]
    r = client.post("/login", data={"username": "hr", "password": PASSWORD, "csrf_token": before})
    assert r.status_code == 303
    after = client.cookies["ms_csrf"]
    assert after != before
    stale = client.post("/logout", data={"csrf_token": before})
    assert stale.status_code == 403  # the token from before sign-in is worth nothing now


def test_a_cookie_the_client_chose_is_not_accepted_when_signed_in(staffed: Engine) -> None:
    hr = login(staffed, "hr")
    hr.cookies.delete("ms_csrf")
    hr.cookies.set("ms_csrf", "chosen-by-attacker", domain="testserver")
    forged = hr.post("/logout", data={"csrf_token": "chosen-by-attacker"})
    assert forged.status_code == 403


@pytest.mark.parametrize("path", [f"/console/cases/{BIG}", f"/api/console/cases/{BIG}", f"/my/cases/{BIG}"])
def test_ids_beyond_range_are_not_found(staffed: Engine, path: str) -> None:
    client = enterprise_client(staffed, "91110108551385082Q") if "/my/" in path else login(staffed, "hr")
    r = client.get(path)
    assert r.status_code == 404


def test_post_to_an_id_beyond_range_is_not_found(staffed: Engine) -> None:
    anon = make_client(staffed)
    anon.get("/login")
    r = anon.post(
        f"/publicity/{BIG}/objection", data={"reason": "理由充分的异议", "csrf_token": anon.cookies["ms_csrf"]}
    )
    assert r.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        f"/audit?offset={BIG}",
        f"/api/audit?offset={BIG}",
        f"/console/cases?page={BIG}",
        f"/api/console/cases?page={BIG}&size={BIG}",
        f"/console/requests/ui_new_claimants_last_year?page={BIG}",
    ],
)
def test_numbers_beyond_range_in_queries_are_no_server_error(staffed: Engine, path: str) -> None:
    who = "aud" if "/audit" in path else "hr"
    r = login(staffed, who).get(path)
    assert r.status_code < 500, r.text[:300]


def test_ids_beyond_range_in_a_bulk_form_are_refused_in_chinese(staffed: Engine) -> None:
    hr = login(staffed, "hr")
    form = {"action": "notify", "ids": ["1", BIG], "csrf_token": hr.cookies["ms_csrf"]}
    r = hr.post("/console/cases/bulk", data=form)
    assert r.status_code == 400 and "案件编号" in r.text
    api = hr.post(
        "/api/console/cases/bulk",
        json={"action": "notify", "ids": [BIG]},
        headers={"X-CSRF-Token": hr.cookies["ms_csrf"]},
    )
    assert api.status_code == 400 and api.json()["error"]["code"] == "bad_request"


def test_every_resource_a_page_names_is_there(staffed: Engine) -> None:
    """A browser opening / asks for the stylesheet, the scripts and the site icon (/favicon.ico even
    when no page names it): none answers 404."""
    client = make_client(staffed)
    home = client.get("/").text
    named = re.findall(r'<(?:link|script)[^>]+(?:href|src)="(/[^"]+)"', home)
    assert "/static/img/favicon.svg" in named
    for path in [*named, "/favicon.ico"]:
        assert client.get(path).status_code == 200, path
