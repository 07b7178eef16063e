"""A live server over a small demo store, and headless Chromium (Debian's package) driven by Playwright.

Nothing is downloaded at run time: the browser is /usr/bin/chromium, installed by .ci/run. Without
it these tests are skipped with that reason (they always run in CI).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mianshen.rules.loader import SHIPPED
from mianshen.settings import reset as reset_settings
from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AS_OF = dt.date(2025, 6, 30)
SHOTS = ROOT / "var" / "screenshots"
PASSWORD = "演示密码-2025"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="package")  # torn down (environment restored) before the other test folders run
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("没有 Debian 的 chromium（.ci/run 会安装）")
    saved = {k: os.environ.get(k) for k in ("MIANSHEN_FAST_HASH", "MIANSHEN_TODAY")}
    os.environ["MIANSHEN_FAST_HASH"] = "1"
    os.environ["MIANSHEN_TODAY"] = AS_OF.isoformat()  # the live site runs as of the demo date
    reset_settings()
    import uvicorn
    from sqlalchemy import select

    from mianshen.audit.log import SYSTEM, Actor
    from mianshen.cases import transitions as tr
    from mianshen.matching.publish import publish_policy
    from mianshen.matching.runs import run_match
    from mianshen.profiles.demo_data import generate
    from mianshen.profiles.imports import import_file
    from mianshen.profiles.sources import load_source_file, register_source
    from mianshen.reference.workdays import add_working_days
    from mianshen.rules.loader import policy_files
    from mianshen.store.db import open_store
    from mianshen.store.schema import cases
    from mianshen.web.accounts import add_user, set_contact
    from mianshen.web.app import create_app

    work = tmp_path_factory.mktemp("site")
    url = f"sqlite:///{work}/site.sqlite"
    engine = open_store(url)
    demo = generate(300, work / "data", 5, AS_OF, progress=lambda _: None)
    with engine.begin() as conn:
        for source in load_source_file(demo.out / "sources.yaml"):
            register_source(conn, source)
    for f in demo.files:
        import_file(engine, f["source"], demo.out / f["file"], AS_OF)
    with engine.begin() as conn:
        for path in policy_files([SHIPPED]):
            publish_policy(conn, path, Actor("测试发布人", "platform_admin"))
    run_match(engine, AS_OF)
    with engine.begin() as conn:
        settings = tr.policy_settings(conn, "wengang-fanhuan")
        add_user(conn, "hrss", PASSWORD, "department", "人社厅经办人", settings.department)
        add_user(conn, "hrss2", PASSWORD, "department", "人社厅复核人", settings.department)
        add_user(conn, "datamgr", PASSWORD, "data_manager", "大数据局数据管理员")
        add_user(conn, "finance", PASSWORD, "finance", "财政厅出纳")
        add_user(conn, "auditor", PASSWORD, "auditor", "审计员")
        add_user(conn, "admin", PASSWORD, "platform_admin", "平台管理员")
        row = conn.execute(
            select(cases.c.id, cases.c.uscc, cases.c.amount)
            .where(cases.c.policy_id == "wengang-fanhuan", cases.c.state == "matched")
            .order_by(cases.c.id)
            .limit(1)
        ).one()
        tr.notify(conn, row.id, SYSTEM, add_working_days(AS_OF, settings.confirm_days).date)
        set_contact(conn, row.uscc, "测试联系人", "13800138000")
    app = create_app(url)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.1)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield {
        "base": f"http://127.0.0.1:{port}",
        "engine": engine,
        "case_id": row.id,
        "uscc": row.uscc,
        "amount": row.amount,
        "department": settings.department,
    }
    server.should_exit = True
    thread.join(timeout=10)
    for key, value in saved.items():  # later tests must see the real date again
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_settings()


@pytest.fixture(autouse=True)
def own_device(request: pytest.FixtureRequest) -> None:
    """Each test is a different person on a different device, but every page comes from 127.0.0.1:
    the per-address sign-in limits (5 codes an hour) would otherwise end the suite's sign-ins
    part way through. The per-enterprise and overall limits stay in force."""
    if "site" not in request.fixturenames:
        return
    from sqlalchemy import delete

    from mianshen.store.schema import attempt_counters

    engine = request.getfixturevalue("site")["engine"]
    with engine.begin() as conn:
        conn.execute(delete(attempt_counters).where(attempt_counters.c.subject == "127.0.0.1"))


@pytest.fixture(scope="package")
def browser(site: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    yield context.new_page()
    context.close()


@pytest.fixture
def desktop(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    yield context.new_page()
    context.close()


def shot(page: Any, name: str) -> Path:
    target = SHOTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target


def latest_code(engine: Any, uscc: str) -> str:
    import json

    from sqlalchemy import select

    from mianshen.store.schema import outbox

    with engine.connect() as conn:
        payload = conn.execute(
            select(outbox.c.payload)
            .where(outbox.c.uscc == uscc, outbox.c.template == "login_code")
            .order_by(outbox.c.id.desc())
            .limit(1)
        ).scalar_one()
    return str(json.loads(payload)["code"])
