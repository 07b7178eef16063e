"""The enterprise portal (我的待遇) and its JSON twins under /api/my.

Pages: /my (benefits grouped 可享 / 应享未享 / 已享受 / 不符合), /my/policies/{id} (every condition
explained, with data source and as-of date), /my/cases/{id} (progress against the promised time
limit), confirm / decline / object, /my/apply/{policy} (暂难数据化类, with uploads), /my/corrections,
/my/messages. Handlers are thin: the work is in mianshen.web.portal and mianshen.web.portal_actions.
Every POST checks CSRF (a form field on pages, the X-CSRF-Token header on the API).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from mianshen.web import portal_actions as act
from mianshen.web.deps import page, require_csrf
from mianshen.web.forms import keep_form
from mianshen.web.portal import GROUPS, PROGRESS_STEPS

router = APIRouter()
TAGS: list[str | Any] = ["企业门户"]
DONE = {
    "confirmed": "已确认，进入审核。",
    "declined": "已放弃该项待遇。",
    "objected": "异议已提交，政策执行部门将核实处理。",
    "applied": "申请已提交并受理，请留意办理进度。",
    "corrected": "数据更正申请已提交，数据提供部门核实后更新，平台将自动重新匹配。",
    "read": "已标为已读。",
    "account": "收款账户已更正，财政将重新拨付。",
}


def _form_text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _done(request: Request) -> str | None:
    return DONE.get(request.query_params.get("done", ""))


# --- pages --------------------------------------------------------------------------------------


@router.get("/my", include_in_schema=False)
def my_page(request: Request) -> Response:
    view = act.my_benefits(request)
    shown = {"view": view, "group_labels": GROUPS, "done": _done(request), "progress_steps": PROGRESS_STEPS}
    return page(request, "my.html", shown)


@router.get("/my/policies/{policy_id}", include_in_schema=False)
def my_policy_page(request: Request, policy_id: str) -> Response:
    return page(request, "my_policy.html", {"b": act.my_policy(request, policy_id), "done": _done(request)})


@router.get("/my/cases/{case_id}", include_in_schema=False)
def my_case_page(request: Request, case_id: int) -> Response:
    from mianshen.web.routes.trust import case_documents

    shown: dict[str, Any] = {"c": act.my_case(request, case_id), "done": _done(request)}
    shown |= {"progress_steps": PROGRESS_STEPS, "documents": case_documents(request, case_id)}  # after my_case's check
    return page(request, "my_case.html", shown)


async def _case_form(request: Request, case_id: int, form: str, main: str | None = None) -> Any:
    """The form of a case page, kept so that a refusal shows the case page again (web/forms.py)."""
    await require_csrf(request)
    await keep_form(request, form, lambda: my_case_page(request, case_id), main)
    return await request.form()


@router.post("/my/cases/{case_id}/confirm", include_in_schema=False)
async def confirm_form(request: Request, case_id: int) -> Response:
    form = await _case_form(request, case_id, "confirm")
    fields = [_form_text(form, k) for k in ("amount", "bank_account", "commitment", "bank_name", "bank_code")]
    await run_in_threadpool(act.confirm, request, case_id, *fields)
    return RedirectResponse(f"/my/cases/{case_id}?done=confirmed", status_code=303)


@router.post("/my/cases/{case_id}/account", include_in_schema=False)
async def account_form(request: Request, case_id: int) -> Response:
    form = await _case_form(request, case_id, "account")
    fields = [_form_text(form, k) for k in ("bank_account", "bank_name", "bank_code")]
    await run_in_threadpool(act.correct_account, request, case_id, *fields)
    return RedirectResponse(f"/my/cases/{case_id}?done=account", status_code=303)


@router.post("/my/cases/{case_id}/decline", include_in_schema=False)
async def decline_form(request: Request, case_id: int) -> Response:
    form = await _case_form(request, case_id, "decline", "reason")
    await run_in_threadpool(act.decline, request, case_id, _form_text(form, "reason"))
    return RedirectResponse(f"/my/cases/{case_id}?done=declined", status_code=303)


@router.post("/my/cases/{case_id}/object", include_in_schema=False)
async def object_form(request: Request, case_id: int) -> Response:
    form = await _case_form(request, case_id, "object", "reason")
    await run_in_threadpool(act.object_case, request, case_id, _form_text(form, "reason"))
    return RedirectResponse(f"/my/cases/{case_id}?done=objected", status_code=303)


@router.get("/my/apply/{policy_id}", include_in_schema=False)
def apply_page(request: Request, policy_id: str) -> Response:
    return page(request, "my_apply.html", {"b": act.my_policy(request, policy_id)})


@router.post("/my/apply/{policy_id}", include_in_schema=False)
async def apply_form(request: Request, policy_id: str) -> Response:
    await require_csrf(request)
    await keep_form(request, "apply", lambda: apply_page(request, policy_id))
    form = await request.form()
    fields = {k: _form_text(form, k) for k in ("amount", "bank_account", "commitment", "note")}
    case_id = await act.apply(request, policy_id, fields, list(form.getlist("files")))
    return RedirectResponse(f"/my/cases/{case_id}?done=applied", status_code=303)


@router.post("/my/corrections", include_in_schema=False)
async def correction_form(request: Request) -> Response:
    await require_csrf(request)
    form = await request.form()
    field, value, reason, policy_id = (_form_text(form, k) for k in ("field", "value", "reason", "policy_id"))
    # the form sits on the policy's page when sent from there, else on 一企一档
    where = (lambda: my_policy_page(request, policy_id)) if policy_id else (lambda: file_page(request))
    await keep_form(request, "correction", where)
    made = await act.request_correction(request, field, value, reason, policy_id, form.get("attachment"))
    return RedirectResponse(f"/my/corrections?done={made['number']}", 303)


@router.get("/my/profile", include_in_schema=False)
def file_page(request: Request) -> Response:
    chosen = request.query_params.get("field", "")
    return page(request, "my_profile.html", {"f": act.my_file(request), "chosen": chosen})


@router.get("/api/my/profile", tags=TAGS)
def file_api(request: Request) -> Any:
    """一企一档：平台掌握的本企业全部数据（值、来源部门、数据日期、来源不一致之处），缺少的由哪个部门提供。"""
    return jsonable_encoder(act.my_file(request))


@router.get("/my/corrections", include_in_schema=False)
def corrections_page(request: Request) -> Response:
    done = request.query_params.get("done", "")
    return page(request, "my_corrections.html", {"rows": act.my_corrections(request), "done": done})


@router.get("/my/messages", include_in_schema=False)
def messages_page(request: Request) -> Response:
    return page(request, "my_messages.html", {"messages": act.messages(request), "done": _done(request)})


@router.post("/my/messages/{message_id}/read", include_in_schema=False)
async def read_form(request: Request, message_id: int) -> Response:
    await require_csrf(request)
    await run_in_threadpool(act.mark_read, request, message_id)
    return RedirectResponse("/my/messages?done=read", status_code=303)


# --- JSON API (same actions; CSRF in the X-CSRF-Token header) -----------------------------------


class ConfirmIn(BaseModel):
    amount: str = Field(description="确认金额（元，与核定金额一致），如 1500.00")
    bank_account: str = Field(description="单位对公账户（8–30 位数字），只保存密文，只显示脱敏")
    commitment: str = Field(description="信用承诺全文（与政策规定的承诺一致，即签署）")
    bank_name: str = Field(default="", description="开户行全称（银行代发需要）")
    bank_code: str = Field(default="", description="开户行联行号（12 位数字）")


class ReasonIn(BaseModel):
    reason: str = Field(default="", description="理由")


class CorrectionIn(BaseModel):
    field: str = Field(description="数据项（字段目录中的字段名），如 insured_count")
    value: str = Field(default="", description="企业认为正确的值")
    reason: str = Field(description="更正理由（至少 5 个字）")
    policy_id: str = Field(default="", description="因哪项政策发现（可选）")


@router.get("/api/my/benefits", tags=TAGS)
def benefits_api(request: Request) -> Any:
    """本企业的政策享受情况：可享、应享未享（含缺哪些数据、由哪个部门提供）、已享受、不符合（含未满足的条件）。"""
    view = act.my_benefits(request)
    return jsonable_encoder({k: v for k, v in view.items() if k != "groups"} | {"group_labels": GROUPS})


@router.get("/api/my/policies/{policy_id}", tags=TAGS)
def policy_api(request: Request, policy_id: str) -> Any:
    """一项政策对本企业的完整说明：每个条件的中文说明、数据来源与数据日期、金额计算。"""
    return jsonable_encoder(act.my_policy(request, policy_id))


@router.get("/api/my/cases/{case_id}", tags=TAGS)
def case_api(request: Request, case_id: int) -> Any:
    """办理进度：状态变化时间线、承诺时限（工作日）已用与剩余；银行账户仅显示脱敏。"""
    return jsonable_encoder(act.my_case(request, case_id))


@router.post("/api/my/cases/{case_id}/confirm", tags=TAGS)
async def confirm_api(request: Request, case_id: int, body: ConfirmIn) -> Any:
    """一步确认：金额、对公账户、信用承诺。"""
    await require_csrf(request)
    shown = await run_in_threadpool(
        act.confirm, request, case_id, body.amount, body.bank_account, body.commitment, body.bank_name, body.bank_code
    )
    return jsonable_encoder(shown)


@router.post("/api/my/cases/{case_id}/decline", tags=TAGS)
async def decline_api(request: Request, case_id: int, body: ReasonIn) -> Any:
    """放弃该项待遇。"""
    await require_csrf(request)
    return jsonable_encoder(await run_in_threadpool(act.decline, request, case_id, body.reason))


@router.post("/api/my/cases/{case_id}/object", tags=TAGS)
async def object_api(request: Request, case_id: int, body: ReasonIn) -> Any:
    """公示期内对本企业案件提出异议。"""
    await require_csrf(request)
    return jsonable_encoder(await run_in_threadpool(act.object_case, request, case_id, body.reason))


@router.post("/api/my/apply/{policy_id}", tags=TAGS)
async def apply_api(
    request: Request,
    policy_id: str,
    files: Annotated[
        list[UploadFile], File(description="申请材料（PDF、OFD、图片、Word、Excel、ZIP，单个不超过 10MB）")
    ],
    amount: Annotated[str, Form(description="申请金额（政策规定固定金额时不填）")] = "",
    bank_account: Annotated[str, Form(description="对公账户（填写并签署承诺则同时确认）")] = "",
    commitment: Annotated[str, Form(description="信用承诺全文")] = "",
    note: Annotated[str, Form(description="补充说明")] = "",
) -> Any:
    """暂难数据化类政策在线申请（上传材料）；返回新案件的办理进度。"""
    await require_csrf(request)
    fields = {"amount": amount, "bank_account": bank_account, "commitment": commitment, "note": note}
    case_id = await act.apply(request, policy_id, fields, list(files))
    return jsonable_encoder(await run_in_threadpool(act.my_case, request, case_id))


@router.post("/api/my/corrections", tags=TAGS)
async def correction_api(request: Request, body: CorrectionIn) -> Any:
    """数据更正申请：返回受理编号；记入审计日志，转该数据项的提供部门办理。"""
    await require_csrf(request)
    return await act.request_correction(request, body.field, body.value, body.reason, body.policy_id)


@router.get("/api/my/corrections", tags=TAGS)
def corrections_api(request: Request) -> Any:
    """本企业的数据更正申请（受理编号、状态、答复）。"""
    return jsonable_encoder({"corrections": act.my_corrections(request)})


@router.get("/api/my/messages", tags=TAGS)
def messages_api(request: Request) -> Any:
    """站内消息（最近 200 条）。"""
    return jsonable_encoder({"messages": act.messages(request)})


@router.post("/api/my/messages/{message_id}/read", tags=TAGS)
async def read_api(request: Request, message_id: int) -> Any:
    """标为已读。"""
    await require_csrf(request)
    await run_in_threadpool(act.mark_read, request, message_id)
    return {"ok": True}
