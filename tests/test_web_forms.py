"""Forms that keep their input (web/forms.py): every console and portal form refused for what was
typed shows its own page again — 400/422, still signed in, the Chinese message right beside the input
it is about (or at the head of the form) and what was typed still in the inputs — not an error page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import Engine, select

from mianshen.audit.log import Actor
from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.cases.payments import create_batch
from mianshen.rules.loader import SHIPPED
from mianshen.store.schema import cases, publish_requests

from . import matching_fixtures as fx
from . import test_web_console_fixtures as wf
from . import test_web_enterprise as ent
from .matching_fixtures import AS_OF
from .test_web_console_fixtures import FINANCE, HR, POLICY, api, case_ids, confirm, login, post

demo, populated, site, web_env, portal = fx.demo, fx.populated, wf.site, wf.web_env, ent.portal

ERROR = '<p class="field-error no" role="alert">'
LONG = "说" * 2001  # over the 2,000 characters a reason may have


def beside(page: Any, name: str, message: str) -> None:
    """A 400/422 page with `message` right after the input named `name` (no other input between)."""
    html = page.text
    assert page.status_code in (400, 422), (page.status_code, html[:300])
    assert "退出" in html, "signed out"  # the signed-in header, not a bare error page
    assert "返回修改" not in html
    at = html.find(ERROR + message)
    assert at >= 0, f"no “{message}” shown as a form error: {re.findall(ERROR + '([^<]*)', html)}"
    names = re.findall(r'name="([^"]+)"', html[:at])
    assert names and names[-1] == name, f"“{message}” shown after the input {names[-1:]}, not {name}"


def at_head(page: Any, action: str, message: str) -> None:
    """`message` inside the form posting to `action`, before its first input after the token."""
    html = page.text
    assert page.status_code in (400, 422) and "退出" in html
    form = html.index(f'action="{action}')
    assert form < html.index(ERROR + message) < html.index("</form>", form)


def kept(page: Any, name: str, value: str) -> None:
    html = page.text
    assert f'name="{name}"' in html
    assert re.search(rf'name="{name}"[^>]*value="{re.escape(value)}"', html) or re.search(
        rf'name="{name}"[^>]*>{re.escape(value)}</textarea>', html
    ), f"{name} lost what was typed"


def reviewing(engine: Engine, client: Any) -> int:
    case_id = case_ids(engine)[0]
    confirm(engine, case_id)
    assert post(client, f"/console/cases/{case_id}/review").status_code == 303
    return case_id


def test_case_action_forms_show_the_error_beside_the_input(site: Engine) -> None:
    hr = login(site, "hr")
    case_id = reviewing(site, hr)
    files = {"photos": ("现场.exe", b"MZ", "application/octet-stream")}
    data = {"passed": "0", "note": "现场核验无误", "csrf_token": wf.csrf(hr)}
    onsite = hr.post(f"/console/cases/{case_id}/onsite", data=data, files=files)
    beside(onsite, "photos", "文件“现场.exe”类型不支持")
    kept(onsite, "note", "现场核验无误")
    assert re.search(r'<option value="0" selected>核验未通过', onsite.text)  # the choice kept too
    stale = post(hr, f"/console/cases/{case_id}/publicity", {"stale_reason": ""})
    beside(stale, "stale_reason", "数据已超过时效")
    reject = post(hr, f"/console/cases/{case_id}/reject", {"reason": LONG})
    beside(reject, "reason", "填写的说明过长")
    kept(reject, "reason", LONG)
    assert tr_state(site, case_id) == "under_review"  # nothing changed


def tr_state(engine: Engine, case_id: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(cases.c.state).where(cases.c.id == case_id)).scalar_one())


def test_queue_selection_keeps_the_ticked_cases(site: Engine) -> None:
    hr = login(site, "hr")
    first = case_ids(site, state="matched")[0]
    url = f"/console/cases/bulk?state=matched&policy={POLICY}"
    refused = hr.post(url, data={"ids": [str(first)], "action": "bogus", "csrf_token": wf.csrf(hr)})
    at_head(refused, "/console/cases/bulk?", "请选择要执行的批量操作")
    assert re.search(rf'name="ids" value="{first}"[^>]*checked', refused.text)


def test_cosign_return_needs_a_reason_kept_beside_it(site: Engine) -> None:
    source = (SHIPPED / f"{POLICY}.yaml").read_text(encoding="utf-8")
    raised = source.replace("version: 1", "version: 2").replace("confirm_days: 15", "confirm_days: 15\nbudget: 900000")
    assert api(login(site, "hr"), "/api/console/policies/publish", {"source": raised}).status_code == 200
    with site.connect() as conn:
        request_id = conn.execute(select(publish_requests.c.id)).scalar_one()
    refused = post(login(site, "admin"), f"/console/approvals/{request_id}", {"decision": "reject", "note": "不行"})
    beside(refused, "note", "退回须写明理由")
    kept(refused, "note", "不行")


def test_draft_and_policy_editor_keep_the_text(site: Engine) -> None:
    hr = login(site, "hr")
    draft = post(hr, "/console/drafts", {"text": "   ", "article": "三"})
    beside(draft, "text", "请上传政策原文文件或粘贴原文")
    kept(draft, "article", "三")
    source = "id: 新政策\ntitle: 草稿\n"
    editor = post(hr, "/console/policies/check", {"source": source, "as_of": "2025-13-45"})
    beside(editor, "as_of", "评估日：“2025-13-45”不是有效日期")
    kept(editor, "as_of", "2025-13-45")
    assert "id: 新政策\ntitle: 草稿\n</textarea>" in editor.text


def test_a_list_upload_without_a_file_is_refused_beside_the_file_input(site: Engine) -> None:
    refused = post(login(site, "kj"), f"/console/policies/{wf.LISTED}/list", {})
    beside(refused, "file", "请选择名单文件（CSV 或 XLSX）")
    assert "名单上传" in refused.text


def approved_in_batch(engine: Engine) -> tuple[int, int]:
    case_id = case_ids(engine)[0]
    confirm(engine, case_id)
    start = dt.date(2025, 9, 1)
    with engine.begin() as conn:
        review.begin_review(conn, case_id, HR, start)
        review.open_publicity(conn, case_id, HR, start, stale_reason="测试")
        review.decide(conn, case_id, HR, start + dt.timedelta(days=30))
    return create_batch(engine, POLICY, FINANCE).batch_id, case_id


def test_payment_forms_keep_their_input(site: Engine) -> None:
    batch, case_id = approved_in_batch(site)
    fin = login(site, "fin")
    returned = post(fin, f"/console/payments/batches/{batch}/cases/{case_id}/returned", {"reason": "错"})
    beside(returned, "reason", "请写明退票原因")
    kept(returned, "reason", "错")
    assert "<details open><summary>退票" in returned.text  # the folded form is unfolded to show it
    files = {"file": ("结果.csv", "备注,金额（元）\n乱写的一行\n".encode(), "text/csv")}
    results = fin.post(f"/console/payments/batches/{batch}/results", data={"csrf_token": wf.csrf(fin)}, files=files)
    assert results.status_code == 400 and ERROR in results.text
    beside(results, "file", re.search(ERROR + "([^<]*)", results.text).group(1))  # type: ignore[union-attr]
    export = post(fin, f"/console/payments/batches/{batch}/export", {"format": "pdf"})
    at_head(export, f"/console/payments/batches/{batch}/export", "不支持的导出格式“pdf”")


def test_inbox_forms_keep_what_was_typed(site: Engine, monkeypatch: Any) -> None:
    from tests.test_web_inbox import busiest

    monkeypatch.setenv("MIANSHEN_TODAY", AS_OF.isoformat())
    field = busiest(site, "人力资源")
    hr = login(site, "hr")
    refused = post(hr, f"/console/requests/{field}/refuse", {"basis": "", "reason": "统计资料不得对外提供"})
    beside(refused, "basis", "拒绝须写明禁止共享的法律、法规或国家文件依据")
    kept(refused, "reason", "统计资料不得对外提供")
    files = {"file": ("补报.csv", b"a,b\n1,2\n", "text/csv")}
    answer = hr.post(
        f"/console/requests/{field}/answer", data={"source": "nope", "csrf_token": wf.csrf(hr)}, files=files
    )
    beside(answer, "source", "请选择提供")
    from mianshen.profiles import corrections

    with site.begin() as conn:
        uscc = conn.execute(select(cases.c.uscc).limit(1)).scalar_one()
        who = Actor("经办人", "enterprise", None, uscc)
        made = corrections.submit(conn, who, uscc, field, "0", "数据有误，请核实")
    reply = post(hr, f"/console/corrections/{made['id']}", {"result": "rejected", "reply": "不对"})
    beside(reply, "reply", "不予更正须写明理由")
    kept(reply, "reply", "不对")


def test_portal_forms_keep_what_was_typed(portal: ent.Portal) -> None:
    c, case_id = portal.client, portal.case_id
    declined = c.post(f"/my/cases/{case_id}/decline", data=ent.csrf(c, reason=LONG))
    beside(declined, "reason", "理由过长")
    kept(declined, "reason", LONG)
    confirm_form = ent.csrf(c, amount="一千", bank_account="12", commitment="x", bank_name="某行", bank_code="1")
    wrong = c.post(f"/my/cases/{case_id}/confirm", data=confirm_form)
    beside(wrong, "amount", "确认金额")
    kept(wrong, "bank_account", "12")
    field = c.get("/api/my/profile").json()["rows"][0]["field"]
    fix = c.post("/my/corrections", data=ent.csrf(c, field=field, value="3", reason="错"))
    beside(fix, "reason", "请写明更正理由")
    kept(fix, "value", "3")
    assert f'<option value="{field}" selected' in fix.text
    applied = c.post(
        "/my/apply/chuangye-kaiye-butie", data=ent.csrf(c, bank_account=ent.ACCOUNT, note="补充说明写在这里")
    )
    beside(applied, "files", "请上传申请材料")
    kept(applied, "note", "补充说明写在这里")


def test_objections_keep_the_reason(portal: ent.Portal) -> None:
    c, case_id = portal.client, portal.case_id
    amount = c.get(f"/api/my/cases/{case_id}").json()["amount"]
    staff = Actor("经办人", "department", ent.HR)
    with portal.store.begin() as conn:
        commitment = tr.policy_settings(conn, "wengang-fanhuan").commitment
        who = Actor("企业", "enterprise", uscc=portal.uscc)
        tr.confirm(conn, case_id, who, tr.Decimal(amount), ent.ACCOUNT, commitment)
        review.begin_review(conn, case_id, staff)
        tr.start_publicity(conn, case_id, staff, dt.date.today(), dt.date.today() + dt.timedelta(days=7))
    mine = c.post(f"/my/cases/{case_id}/object", data=ent.csrf(c, reason="不对"))
    beside(mine, "reason", "请写明异议理由（至少 5 个字）")
    kept(mine, "reason", "不对")
    public = c.post(f"/publicity/{case_id}/objection", data=ent.csrf(c, reason="不对", phone="138"))
    beside(public, "reason", "请写明异议理由（至少 5 个字）")
    kept(public, "phone", "138")
