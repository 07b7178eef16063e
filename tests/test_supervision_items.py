"""督办事项: the worker raises one item per policy stage overdue beyond the threshold and per data field
past its reply deadline (as counted from the store), never twice while open; the owner department
sees them first on its workbench, takes them up and closes them with a reply; late ones become 逾期;
every step is in the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func, select, update

from mianshen.jobs import tasks
from mianshen.store.schema import audit_log, data_requests, supervision_items
from mianshen.supervision import items

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from .language import leaks
from .test_supervision_ledger import TODAY, moment, pinned, staged
from .test_web_console_fixtures import POLICY, login, post

demo, populated, site, web_env, pinned = fx.demo, fx.populated, wf.site, wf.web_env, pinned


def rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(supervision_items).order_by(supervision_items.c.id)).mappings()]


def over_threshold(engine: Engine) -> set[str]:
    """Stages with a case at least the threshold over, case by case from the store."""
    from mianshen.store.schema import cases
    from mianshen.supervision import commitments as cm

    out = set()
    with engine.connect() as conn:
        for r in conn.execute(select(cases).where(cases.c.policy_id == POLICY)).mappings():
            found = cm.case_commitment(conn, dict(r), TODAY)
            if found and found["days_over"] >= items.threshold():
                out.add(f"policy:{POLICY}:{found['stage']}")
    return out


def test_the_worker_raises_items_once_as_the_store_says(site: Engine, pinned: None) -> None:
    staged(site)
    with site.begin() as conn:  # every data request opened long before its 10-working-day deadline
        conn.execute(update(data_requests).values(opened_at=moment(dt.date(2025, 9, 1))))
        waiting = conn.execute(select(func.count(func.distinct(data_requests.c.field)))).scalar_one()
    first = tasks.supervise(site, TODAY)
    raised = rows(site)
    cases_items = {r["subject"] for r in raised if r["kind"] == "case_overdue"}
    assert cases_items == over_threshold(site) == {f"policy:{POLICY}:{s}" for s in ("confirm", "review", "pay")}
    assert len([r for r in raised if r["kind"] == "data_request"]) == waiting > 0
    assert first.changed == len(raised) and all(r["status"] == "assigned" for r in raised)
    assert all(r["department"] == wf.HRSS for r in raised if r["kind"] == "case_overdue")
    assert tasks.supervise(site, TODAY).changed == 0 and len(rows(site)) == len(raised)  # not twice while open
    with site.connect() as conn:
        logged = conn.execute(select(func.count()).where(audit_log.c.action == "supervision.raise")).scalar_one()
    assert logged == len(raised)


def test_department_takes_up_and_closes_items_and_late_ones_become_overdue(site: Engine, pinned: None) -> None:
    staged(site)
    tasks.supervise(site, TODAY)
    mine = [r for r in rows(site) if r["kind"] == "case_overdue"]
    hr = login(site, "hr")
    home = hr.get("/console").text
    assert 'id="open-items"' in home and "确认后审核环节逾期" in home and "交办" in home
    assert home.index('id="open-items"') < home.index(f'/console/policies/{POLICY}"')  # the items come first
    assert 'id="open-items"' not in login(site, "kj").get("/console").text  # another department: none
    first, second = mine[0]["id"], mine[1]["id"]
    assert post(hr, f"/console/supervision/{first}/accept").status_code == 303
    refused = post(hr, f"/console/supervision/{first}/reply", {"reply": "  "})
    assert refused.status_code == 400 and "办结须写明办理情况" in refused.text
    done = post(hr, f"/console/supervision/{first}/reply", {"reply": "已逐件审核，积压已清"})
    assert done.status_code == 303
    assert post(login(site, "aud"), f"/console/supervision/{second}/accept").status_code == 403
    assert post(login(site, "kj"), f"/console/supervision/{second}/accept").status_code == 404
    with site.begin() as conn:
        conn.execute(
            update(supervision_items).where(supervision_items.c.id == second).values(deadline=dt.date(2025, 10, 1))
        )
    tasks.supervise(site, TODAY)
    by_id = {r["id"]: r for r in rows(site)}
    assert by_id[first]["status"] == "done" and by_id[first]["reply"] == "已逐件审核，积压已清"
    assert by_id[second]["status"] == "overdue"
    page = hr.get("/console/supervision").text
    assert page.index("逾期</span>") < page.index("办结</span>")  # open (逾期) before closed
    assert "已逐件审核，积压已清" in page
    with site.connect() as conn:
        actions = list(
            conn.execute(select(audit_log.c.action).where(audit_log.c.entity_type == "supervision_item")).scalars()
        )
    assert {"supervision.raise", "supervision.in_progress", "supervision.done", "supervision.overdue"} <= set(actions)
    audit = login(site, "aud").get("/audit").text
    assert "督办事项办结" in audit
    for shown in (page, home, audit):  # item rows, statuses and audit entries all in plain Chinese
        assert not leaks(shown), leaks(shown)


def test_data_request_items_belong_to_the_data_side(site: Engine, pinned: None) -> None:
    from mianshen.web.accounts import add_user

    with site.begin() as conn:
        conn.execute(update(data_requests).values(opened_at=moment(dt.date(2025, 9, 1))))
        add_user(conn, "dm", wf.PASSWORD, "data_manager", "数据管理员")
    tasks.supervise(site, TODAY)
    data_items = [r for r in rows(site) if r["kind"] == "data_request"]
    assert data_items
    dm = login(site, "dm")
    shown = dm.get("/api/console/supervision").json()["items"]
    assert {i["id"] for i in shown} == {r["id"] for r in data_items}
    assert post(dm, f"/console/supervision/{data_items[0]['id']}/reply", {"reply": "已答复"}).status_code == 303
    assert rows(site)[[r["id"] for r in rows(site)].index(data_items[0]["id"])]["status"] == "done"


def test_the_zhuanban_hands_an_item_by_hand_and_a_late_one_is_escalated(site: Engine, pinned: None) -> None:
    admin, hr = login(site, "admin"), login(site, "hr")
    assert "交办督办事项" in admin.get("/console/supervision").text
    assert post(hr, "/console/supervision/raise", {"department": wf.HRSS, "summary": "自查"}).status_code == 403
    bad = post(admin, "/console/supervision/raise", {"department": "不存在的厅", "summary": "自查"})
    assert bad.status_code == 400 and "不是发布了政策的部门" in bad.text and "自查" in bad.text  # typed text kept
    empty = post(admin, "/console/supervision/raise", {"department": wf.HRSS, "summary": " "})
    assert empty.status_code == 400 and "请写明督办事项的内容" in empty.text
    summary = "扩岗补助群众反映到账慢，请核查并报告"
    assert post(admin, "/console/supervision/raise", {"department": wf.HRSS, "summary": summary}).status_code == 303
    made = [r for r in rows(site) if r["kind"] == "manual"]
    assert [(r["department"], r["summary"], r["status"]) for r in made] == [(wf.HRSS, summary, "assigned")]
    assert summary in hr.get("/console").text and summary not in login(site, "kj").get("/console").text

    # five working days later it is still open: the worker marks it 逾期 and it rises to the 专班
    later = items.add_working_days(TODAY, items.REPLY_DAYS + 1).date
    tasks.supervise(site, later)
    assert {r["id"]: r for r in rows(site)}[made[0]["id"]]["status"] == "overdue"
    home = admin.get("/console").text
    assert "已升级至工作专班" in home and home.index(summary) < home.index("立即匹配")
    with site.connect() as conn:
        actions = list(
            conn.execute(
                select(audit_log.c.action)
                .where(audit_log.c.entity_type == "supervision_item", audit_log.c.entity_id == str(made[0]["id"]))
                .order_by(audit_log.c.id)
            ).scalars()
        )
    assert actions == ["supervision.raise", "supervision.overdue"]
    assert "督办事项逾期，升级至工作专班" in login(site, "aud").get("/audit").text
    assert post(hr, f"/console/supervision/{made[0]['id']}/reply", {"reply": "已核查，补发 3 件"}).status_code == 303
    assert {r["id"]: r for r in rows(site)}[made[0]["id"]]["status"] == "done"


def test_expired_policies_and_nearly_spent_budgets_raise_items(site: Engine, pinned: None) -> None:
    from decimal import Decimal

    from mianshen.cases.review import COMMITTED
    from mianshen.store.schema import cases, policy_versions

    staged(site)  # one case approved, waiting for payment
    with site.begin() as conn:
        approved = sum(
            (
                Decimal(r.confirmed_amount or r.amount)
                for r in conn.execute(select(cases).where(cases.c.policy_id == POLICY, cases.c.state.in_(COMMITTED)))
            ),
            Decimal(0),
        )
        assert approved > 0
        budget = (approved / Decimal("0.95")).quantize(Decimal("0.01"))  # 95% used
        conn.execute(update(policy_versions).where(policy_versions.c.policy_id == POLICY).values(budget=str(budget)))
        conn.execute(
            update(policy_versions)
            .where(policy_versions.c.policy_id == wf.LISTED)
            .values(valid_to=TODAY - dt.timedelta(days=1))
        )
    tasks.supervise(site, TODAY)
    found = {r["subject"]: r for r in rows(site)}
    assert (
        found[f"budget:{POLICY}"]["department"] == wf.HRSS
        and "预算已使用 95.0%" in found[f"budget:{POLICY}"]["summary"]
    )
    assert (
        found[f"expired:{wf.LISTED}"]["department"] == wf.KEJI
        and "仍在发布" in found[f"expired:{wf.LISTED}"]["summary"]
    )
    kj = login(site, "kj").get("/console").text
    assert 'id="open-items"' in kj and "有效期至" in kj
    with site.begin() as conn:  # a roomy budget: no item
        conn.execute(
            update(policy_versions).where(policy_versions.c.policy_id == POLICY).values(budget=str(budget * 2))
        )
    assert "budget:" + POLICY not in {c["subject"] for c in _candidates(site)}


def _candidates(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return items.candidates(conn, TODAY)


def test_cli_items_say_what_the_zhuanban_sees(site: Engine, pinned: None) -> None:
    import json

    from click.testing import CliRunner

    from mianshen.cli.main import cli

    staged(site)
    tasks.supervise(site, TODAY)
    shown = login(site, "admin").get("/api/console/supervision").json()["items"]
    result = CliRunner().invoke(cli, ["supervise", "items", "--json", "--db", str(site.url)])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [(i["id"], i["status"], i["summary"]) for i in listed] == [
        (i["id"], i["status"], i["summary"]) for i in shown
    ]
    assert len(listed) == len(rows(site)) > 0
    mine = CliRunner().invoke(cli, ["supervise", "items", "--policy", POLICY, "--json", "--db", str(site.url)])
    assert {i["policy_id"] for i in json.loads(mine.output)} == {POLICY}
    text = CliRunner().invoke(cli, ["supervise", "items", "--db", str(site.url)]).output
    assert f"交办 {len(listed)} 项" in text
    wrong = CliRunner().invoke(cli, ["supervise", "items", "--policy", "no-such", "--db", str(site.url)])
    assert wrong.exit_code != 0 and "政策“no-such”不存在" in wrong.output
