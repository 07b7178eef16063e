"""OpenAPI request bodies and examples for the department API (api.py reads its bodies itself,
after the key is checked, so FastAPI cannot infer them)."""

from __future__ import annotations

from typing import Any

AUTH = "请求头 Authorization: Bearer 接口密钥（在工作台“系统对接”生成）。"


def _body(description: str, example: dict[str, Any], required: list[str]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "rows": {"type": "array", "items": {"type": "object"}, "maxItems": 5000, "description": "每行一个对象"},
        "source": {"type": "string", "description": "数据源编号（已登记）"},
        "as_of": {"type": "string", "format": "date", "description": "数据日期，缺省为当天"},
    }
    schema = {"type": "object", "properties": {k: properties[k] for k in example}, "required": required}
    content = {"application/json": {"schema": schema, "example": example}}
    return {"requestBody": {"required": True, "description": description + AUTH, "content": content}}


OBSERVATIONS = _body(
    "一批观测值，列名与该数据源的文件相同；校验与拒收报告与文件导入一致。",
    {
        "source": "hrss",
        "as_of": "2025-06-30",
        "rows": [{"统一社会信用代码": "91410102MA00000001", "扩岗人数": "3"}],
    },
    ["source", "rows"],
)
ANSWER = _body(
    "答复一个数据项的数据需求：该数据项所在数据源的数据行。",
    {"source": "hrss", "rows": [{"统一社会信用代码": "91410102MA00000001", "扩岗人数": "3"}]},
    ["source", "rows"],
)
LIST = _body(
    "名单类政策的名单，列与名单文件相同。",
    {"rows": [{"统一社会信用代码": "91410102MA00000001", "金额": "200000.00", "备注": "2025 年第一批"}]},
    ["rows"],
)
CASES: dict[str, Any] = {"description": AUTH}
RESULTS: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "逐笔结果：case_id 案件编号、amount 金额（元，须与拨付金额相同）、result 成功 或 退票、reason 退票原因。"
        "问题按结果文件的行号报告（第 2 行为第一条）。" + AUTH,
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": {"results": {"type": "array", "items": {"type": "object"}}}},
                "example": {
                    "results": [
                        {"case_id": 17, "amount": "200000.00", "result": "成功"},
                        {"case_id": 18, "amount": "50000.00", "result": "退票", "reason": "账户已销户"},
                    ]
                },
            }
        },
    }
}
