"""Codes as people read them — roles, and the audit log's actions, objects and recorded changes: actions, roles, objects and recorded changes in Chinese.

The log itself keeps stable codes (`case.notify`, `profile.read`) — they are what the hash chain
covers and what an export carries; pages show these labels instead, and each change as "label：
value" lines with states, fields and times in the words of the rest of the platform.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from mianshen.cases.open import ORIGINS
from mianshen.cases.states import STATES, TRANSITIONS
from mianshen.catalogue import load_catalogue
from mianshen.clock import beijing
from mianshen.supervision.items import STATUS as SUPERVISION_STATUS

ROLES = {
    "platform_admin": "平台管理员",
    "department": "政策执行部门",
    "data_manager": "数据管理员",
    "finance": "财政拨付",
    "auditor": "审计监督",
    "enterprise": "企业",
    "public": "公众",
    "system": "系统",
    "anonymous": "未登录用户",
    "operator": "命令行操作员",
}
ACTIONS = {
    "api.call": "系统接口调用",
    "api.limited": "系统接口调用过于频繁，已拒绝",
    "api_key.create": "生成接口密钥",
    "api_key.revoke": "吊销接口密钥",
    "payment.mismatch": "拨付结果与核定不符",
    "webhook.subscribe": "建立事件订阅",
    "webhook.update": "修改事件订阅",
    "webhook.rotate": "更换事件订阅签名密钥",
    "webhook.redeliver": "重新投递事件",
    "application.submit": "在线申请",
    "bank_account.read": "查看完整银行账号",
    "case.open": "立案",
    "case.top_up": "期内补发立案",
    "case.open_batch": "批量立案（哈希树）",
    "case.onsite_check": "现场核验",
    "trust.sign": "签发签名文件",
    "trust.pdf": "生成签名文件 PDF",
    "trust.archive": "案件归档封存",
    "trust.key_create": "启用印章密钥",
    "trust.key_rotate": "轮换印章密钥",
    "data.correction_requested": "提出数据更正申请",
    "data.correction_corrected": "数据更正：已更正",
    "data.correction_rejected": "数据更正：不予更正",
    "data.request_answered": "答复数据需求（导入）",
    "data.request_refused": "拒绝数据需求",
    "data.import": "导入数据文件",
    "data_source.register": "登记数据源",
    "contact.set": "登记企业联系人手机号",
    "dishonesty.record": "记录失信",
    "objection.received": "收到异议",
    "objection.accept": "受理待核实的异议（暂停公示）",
    "objection.dismiss": "驳回待核实的异议",
    "objection.limited": "提出异议过于频繁，已拒绝",
    "list.upload": "上传名单",
    "match.run": "政策匹配",
    "payment_batch.create": "生成拨付批次",
    "payment_batch.export": "导出拨付文件",
    "payment_batch.fill": "批次列入案件",
    "payment_batch.paid": "登记已拨付",
    "policy.draft": "从原文起草政策",
    "policy.publish": "发布政策版本",
    "policy.cosign_requested": "提交会签",
    "policy.cosign": "会签",
    "policy.retire": "政策到期下线",
    "profile.read": "查看企业画像",
    "signin": "登录",
    "signin.code_sent": "发送登录验证码",
    "signin.failed": "登录失败",
    "signin.code_unsent": "请求登录验证码（未登记联系人，未发送）",
    "signin.limited": "登录尝试过于频繁，已拒绝",
    "user.add": "新增账号",
    "supervision.raise": "交办督办事项",
    "supervision.in_progress": "签收督办事项",
    "supervision.done": "督办事项办结",
    "supervision.overdue": "督办事项逾期，升级至工作专班",
} | {f"case.{name}": t.label for name, t in TRANSITIONS.items()}
OBJECTS = {
    "case": "案件",
    "correction": "更正申请",
    "data_source": "数据源",
    "import_batch": "导入批次",
    "enterprise": "企业",
    "field": "数据项",
    "list_upload": "名单",
    "match_run": "匹配运行",
    "payment_batch": "拨付批次",
    "policy": "政策",
    "policy_draft": "政策草稿",
    "user": "账号",
    "supervision_item": "督办事项",
    "api_key": "接口密钥",
    "webhook_subscription": "事件订阅",
}
KEYS = {
    "state": "状态",
    "amount": "金额（元）",
    "confirmed_amount": "确认金额（元）",
    "deadline": "期限",
    "publicity_from": "公示开始",
    "publicity_to": "公示结束",
    "reason": "原因",
    "note": "说明",
    "policy_id": "政策",
    "policy_version": "政策版本",
    "uscc": "统一社会信用代码",
    "period": "享受期",
    "origin": "来源",
    "benefit_cases": "同期已有案件",
    "held": "同期已立案金额",
    "amount_now": "本期现应享金额",
    "difference": "补发差额",
    "commitment": "信用承诺",
    "commitment_signed_at": "承诺时间",
    "commitment_actor": "承诺人",
    "freshness": "数据时效复核",
    "budget": "预算",
    "used": "已用预算",
    "result": "结果",
    "count": "件数",
    "total": "合计（元）",
    "number": "编号",
    "field": "数据项",
    "label": "数据项名称",
    "claimed": "申请更正为",
    "basis": "依据",
    "requests": "请求数",
    "file": "文件",
    "source": "数据源",
    "batch": "导入批次",
    "accepted": "接收行数",
    "rejected": "拒收行数",
    "accounts": "账号数",
    "purpose": "用途",
    "version": "版本",
    "title": "标题",
    "attempt": "第几次",
    "client": "客户端地址",
    "truncated": "原文过长已截断（原长度）",
    "head": "开头部分",
    "case": "案件",
    "cases": "案件数",
    "root": "哈希树根",
    "evaluated": "评估次数",
    "changed": "变化",
    "as_of": "评估日",
    "age_days": "数据距今天数",
    "fields": "数据项",
    "stale": "已超时效的数据项",
    "missing": "缺少的数据项",
    "checked": "已核对",
    "limit_days": "时效（天）",
    "paid_amount": "拨付金额（元）",
    "format": "格式",
    "rows": "行数",
    "masked": "账号脱敏",
    "upheld": "异议成立",
    "raised_by": "提出人",
    "run": "匹配运行",
    "algorithm": "校验方式",
    "username": "用户名",
    "role": "角色",
    "department": "部门",
    "region": "辖区",
    "policy": "政策",
    "list_amount": "名单金额",
    "objection": "异议编号",
    "verified": "已验证手机号（暂停公示）",
    "sha256": "文件哈希",
    "name": "名称",
    "phone": "手机号（脱敏）",
    "contact_name": "联系人",
    "id": "编号",
    "refresh": "更新周期",
    "freshness_days": "时效（天）",
    "priority": "优先级",
    "columns": "文件列",
    "as_of_column": "数据日期列",
    "status": "督办状态",
    "summary": "事项",
    "reply": "办理情况",
    "url": "接收地址",
    "events": "事件",
    "active": "启用",
    "grace_hours": "旧密钥宽限（小时）",
    "delivery": "投递编号",
    "call": "调用",
    "revoked": "已吊销",
    "problems": "问题",
    "method": "方式",
    "issuer": "身份认证服务",
    "after": "起始编号",
}
VERBATIM = ("file", "sha256", "columns", "as_of_column")  # shown as written (a file's own names), marked as code
ALGORITHMS = {"sm3-tree": "SM3 哈希树", "hmac-sm3": "HMAC-SM3（国密）", "hmac-sha256": "HMAC-SHA256"}
FIELD_LISTS = ("fields", "stale", "missing")  # values that are lists of catalogue field names


def action(code: str) -> str:
    return ACTIONS.get(code, "其他操作")


def role(code: str | None) -> str:
    return ROLES.get(code or "", "其他角色")


def obj(code: str | None) -> str:
    return OBJECTS.get(code or "", "其他对象")


def _key(name: str) -> str:
    if name in KEYS:
        return KEYS[name]
    spec = load_catalogue().get(name)
    return spec.label if spec else "其他"


def _value(key: str, value: Any, titles: dict[str, str] | None = None) -> str:
    if value is None or value == "":
        return "—"
    if key in ("policy_id", "policy") and isinstance(value, str):
        return f"《{titles[value]}》" if titles and value in titles else "（政策）"
    if key == "role" and isinstance(value, str):
        return role(value)
    if key == "algorithm" and isinstance(value, str):
        return ALGORITHMS.get(value, value)
    if key in FIELD_LISTS and isinstance(value, list):
        return "、".join(_key(str(v)) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if key == "state" and isinstance(value, str):
        return STATES.get(value, value)
    if key == "status" and isinstance(value, str):
        return SUPERVISION_STATUS.get(value, value)
    if key == "origin" and isinstance(value, str):
        return ORIGINS.get(value, value)
    if key == "field" and isinstance(value, str):
        return _key(value)
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if "T" in value or ":" in value:
            return beijing(moment).strftime("%Y-%m-%d %H:%M")
        return value
    if isinstance(value, dict):
        return "；".join(f"{_key(k)}：{_value(k, v, titles)}" for k, v in value.items())
    if isinstance(value, list):
        return "、".join(_value(key, v, titles) for v in value)
    return str(value)


def audit_row(row: dict[str, Any], titles: dict[str, str]) -> dict[str, Any]:
    """One audit record as the audit page shows it (the stored codes stay in the record and the API)."""
    entity, kind = str(row.get("entity_id") or ""), row.get("entity_type")
    if kind == "policy":
        entity = f"《{titles.get(entity, '（政策）')}》"
    elif kind == "match_run" and "/" in entity:
        run, policy = entity.split("/", 1)
        entity = f"第 {run} 次《{titles.get(policy, '（政策）')}》"
    elif kind == "field":
        entity = _key(entity)
    return {
        "action": action(str(row.get("action"))),
        "object": f"{obj(kind)} {entity}".strip(),
        "before": change_lines(row.get("before"), titles),
        "after": change_lines(row.get("after"), titles),
    }


def change_lines(text: str | None, titles: dict[str, str] | None = None) -> list[tuple[str, str, bool]]:
    """A recorded before/after (JSON text) as (label, value, shown as code) lines."""
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError:
        return [("内容", text, False)]
    if not isinstance(data, dict):
        return [("内容", _value("", data, titles), False)]
    return [(_key(k), _value(k, v, titles), k in VERBATIM) for k, v in data.items()]
