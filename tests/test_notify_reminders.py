"""应享未享 reminders: who is reminded of what, and a rerun on the same day enqueues nothing new."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from mianshen.notify.reminders import run_reminders, step_key
from mianshen.store.outbox import department_recipient
from mianshen.store.schema import cases, data_needs, outbox, policy_versions

from .library_fixtures import seed_library

TODAY = dt.date(2025, 7, 14)  # a Monday
NOW = dt.datetime(2025, 7, 14, 8, tzinfo=dt.UTC)
A, B, C = "91410100MA44XYZ12K", "91410100MA44XYZ13L", "91410100MA44XYZ14M"


def policy(conn: Any, policy_id: str, kind: str = "条件类", valid_to: dt.date | None = None, title: str = "") -> None:
    conn.execute(
        policy_versions.insert().values(
            policy_id=policy_id,
            version=1,
            kind=kind,
            title=title or f"政策{policy_id}",
            department="市工信局",
            region="410100",
            valid_from=dt.date(2025, 1, 1),
            valid_to=valid_to,
            budget=None,
            sha256="0" * 64,
            source_yaml="publicity_days: 5\nconfirm_days: 15\n",
            state="published",
            published_by="测试",
            published_at=NOW,
        )
    )


def case(conn: Any, policy_id: str, uscc: str, state: str, **values: Any) -> int:
    row = {
        "policy_version": 1,
        "period": "2025",
        "origin": "match",
        "amount": "6000",
        "created_at": NOW,
        "updated_at": NOW,
    }
    result = conn.execute(cases.insert().values(policy_id=policy_id, uscc=uscc, state=state, **(row | values)))
    return int(result.inserted_primary_key[0])


def seed(store: Engine) -> None:
    with store.begin() as conn:
        policy(conn, "liuliang", title="小微企业流量资费减免")
        policy(conn, "chuangye", kind="暂难数据化类", valid_to=dt.date(2025, 7, 16), title="创业开业补贴")
        case(conn, "liuliang", A, "notified", deadline=dt.date(2025, 7, 16))  # 2 working days: remind
        case(conn, "liuliang", B, "notified", deadline=dt.date(2025, 8, 29))  # far: not yet
        case(conn, "liuliang", C, "confirmed", deadline=dt.date(2025, 7, 15))  # already confirmed: no
        case(conn, "chuangye", B, "matched")  # B already has a case: no invitation
    found = [
        ("chuangye", 1, "暂难数据化类", u, s, Decimal(5000))
        for u, s in ((A, "eligible"), (B, "eligible"), (C, "unknown"))
    ]
    run = seed_library(store, TODAY, found)
    with store.begin() as conn:  # A and C lack 营业收入, C also its industry code
        for field, waiting in (("revenue_last_year", 2), ("industry_code", 1)):
            conn.execute(data_needs.insert().values(run_id=run, field=field, policy_id="liuliang", enterprises=waiting))


def rows(store: Engine) -> list[dict[str, Any]]:
    with store.connect() as conn:
        return [dict(r) for r in conn.execute(select(outbox).order_by(outbox.c.id)).mappings()]


def test_reminders_reach_the_right_recipients_once_a_day(store: Engine) -> None:
    seed(store)
    report = run_reminders(store, TODAY)
    assert (report.confirmations, report.data_requests, report.invitations) == (1, 2, 2)
    queued = rows(store)
    confirm = [r for r in queued if r["template"] == "confirm_reminder"]
    assert {r["uscc"] for r in confirm} == {A} and {r["channel"] for r in confirm} == {"sms", "portal"}
    assert confirm[0]["step"] == step_key("remind", f"c{confirm[0]['case_id']}", "2025-07-16")
    departments = {r["uscc"] for r in queued if r["template"] == "data_request"}
    assert departments == {department_recipient("税务局"), department_recipient("市场监管局")}
    assert all(r["channel"] in ("console", "portal") for r in queued if r["template"] == "data_request")
    invites = {(r["uscc"], r["template"]) for r in queued if r["template"].startswith("invite")}
    assert invites == {(A, "invite_apply"), (A, "invite_deadline")}  # valid_to within 3 working days

    again = run_reminders(store, TODAY)
    assert (again.confirmations, again.data_requests, again.invitations) == (0, 0, 0)
    assert len(rows(store)) == len(queued)

    next_week = run_reminders(store, TODAY + dt.timedelta(days=7))
    assert next_week.data_requests == 2 and next_week.confirmations == 0  # deadlines have passed


def test_step_keys_fit_the_column() -> None:
    key = step_key("data", "2025-W29", "a-very-long-policy-identifier-that-goes-on-and-on-and-on")
    assert (
        len(key) <= 48
        and key.startswith("data")
        and key == step_key("data", "2025-W29", "a-very-long-policy-identifier-that-goes-on-and-on-and-on")
    )
    assert len(department_recipient("人力资源和社会保障厅")) == 18
