"""Events beyond one case: a policy published through the console path, and a match run that opens
cases in bulk and data requests for fields a department holds."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select

from mianshen.audit.log import Actor
from mianshen.integration import subscriptions
from mianshen.integration.events import EVENT_TYPES, publish
from mianshen.integration.tables import integration_events, webhook_deliveries
from mianshen.matching.runs import run_match

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .matching_fixtures import AS_OF
from .store_fixtures import store
from .test_web_console_fixtures import HRSS, KEJI

demo, populated, site, web_env = fx.demo, fx.populated, wf.site, wf.web_env
__all__ = ["demo", "populated", "site", "store", "web_env"]
SECOND = "wengang-fanhuan"  # HRSS's, not yet published in `site`


def delivered(engine: Engine, sid: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(integration_events.c.payload)
            .join(webhook_deliveries, webhook_deliveries.c.event_id == integration_events.c.id)
            .where(webhook_deliveries.c.subscription_id == sid)
            .order_by(integration_events.c.id)
        ).scalars()
        return [json.loads(p) for p in rows]


def test_publication_bulk_opening_and_data_requests_reach_the_right_department(site: Engine) -> None:
    with site.begin() as conn:
        hr, _ = subscriptions.create(
            conn, Actor("测试", "department", HRSS), HRSS, "http://127.0.0.1:9/", list(EVENT_TYPES)
        )
        kj, _ = subscriptions.create(
            conn, Actor("测试", "department", KEJI), KEJI, "http://127.0.0.1:9/", list(EVENT_TYPES)
        )
    fx.publish(site, SECOND)
    run = run_match(site, AS_OF)
    assert publish(site) > 0
    mine = delivered(site, hr)
    kinds = {e["type"] for e in mine}
    assert {"policy.published", "case.opened"} <= kinds
    published = next(e for e in mine if e["type"] == "policy.published")
    assert published["data"]["policy_id"] == SECOND and published["data"]["title"]
    opened = [e for e in mine if e["type"] == "case.opened"]
    assert opened and {e["data"]["policy_id"] for e in opened} == {SECOND}
    assert len({e["id"] for e in opened}) == len(opened)  # one key per case
    assert run.requests_opened, "the second policy should need data nobody has sent yet"
    asked = [e for e in mine if e["type"] == "data_request.opened"]  # per field HRSS holds
    assert asked and all(e["data"]["opened"] > 0 for e in asked)
    theirs = delivered(site, kj)
    assert [e for e in theirs if e["type"] in ("policy.published", "case.opened")] == []
    held = {e["data"]["field"] for e in asked}
    assert "ui_new_claimants_last_year" in held
    assert not held & {e["data"]["field"] for e in theirs if e["type"] == "data_request.opened"}
