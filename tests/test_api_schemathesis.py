"""Issue 16: schemathesis reads /openapi.json and sends each JSON operation generated requests, in
process (the ASGI app, no network), signed in as a department, finance, the platform
administrator and an enterprise, with a valid CSRF token: no answer may be a 500. A small budget per operation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from mianshen.store.db import open_store
from mianshen.store.schema import enterprises

from .test_web_console_fixtures import add_staff, enterprise_client, login

ROLES = ("hr", "fin", "admin", "enterprise")
USCC = "91410100MA44XYZ12K"


@pytest.fixture(scope="module")
def signed_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One store with staff accounts; a signed-in client (cookies, CSRF token) per role over one app."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MIANSHEN_FAST_HASH", "1")
    mp.setenv("MIANSHEN_SM4_KEY", "0123456789abcdeffedcba9876543210")
    folder: Path = tmp_path_factory.mktemp("schemathesis")
    mp.setenv("MIANSHEN_UPLOAD_DIR", str(folder / "uploads"))
    engine = open_store(f"sqlite:///{folder / 'store.sqlite'}")
    add_staff(engine)
    with engine.begin() as conn:
        conn.execute(enterprises.insert().values(uscc=USCC, name="甲公司", uscc_status="valid"))
    clients = {role: login(engine, role) for role in ROLES if role != "enterprise"}
    clients["enterprise"] = enterprise_client(engine, USCC)
    app = clients["admin"].app
    yield {"app": app, "clients": clients}
    mp.undo()
    engine.dispose()


def operations() -> list[str]:
    """The JSON operations of /openapi.json ("POST /api/…"), read at collection time."""
    from mianshen.web.app import create_app

    app = create_app("sqlite://")
    app.state.engine.dispose()
    found = schemathesis.openapi.from_asgi("/openapi.json", app)
    return sorted(f"{r.ok().method.upper()} {r.ok().path}" for r in found.get_all_operations())


@pytest.mark.parametrize("operation", operations())
def test_no_operation_answers_500(operation: str, signed_in: dict[str, Any]) -> None:
    found = schemathesis.openapi.from_asgi("/openapi.json", signed_in["app"])
    method, path = operation.split(" ", 1)
    api = next(r.ok() for r in found.get_all_operations() if r.ok().method.upper() == method and r.ok().path == path)

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=api.as_strategy())
    def run(case: Any) -> None:
        for role in ROLES:
            cookies = dict(signed_in["clients"][role].cookies)
            headers = {"X-CSRF-Token": cookies["ms_csrf"], "Accept": "application/json"}
            case.call_and_validate(headers=headers, cookies=cookies, checks=[not_a_server_error])

    run()
