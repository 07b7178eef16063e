"""Which keys each mapping of a policy file may have: the one table the loader checks against and the
published JSON Schema (rules/schema.py, docs/policy-schema.json) is generated from.

Every mapping of the file is a `Section`: its keys (each with the JSON Schema of its value and a
Chinese description), the required ones, and the pairs that contradict each other. `check_keys`
reports unknown keys at their line and column with a "did you mean" hint, and contradictory pairs
naming both keys.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from mianshen.rules.ast import COMPARE_OPS, LEAF_OPS
from mianshen.rules.context import ParseContext

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def one_of(*schemas: Schema) -> Schema:
    return {"anyOf": list(schemas)}


def array(items: Schema, non_empty: bool = False) -> Schema:
    return {"type": "array", "items": items} | ({"minItems": 1} if non_empty else {})


TEXT: Schema = {"type": "string"}
INT: Schema = {"type": "integer", "minimum": 0, "maximum": 10000}
NUMBER: Schema = {"type": ["number", "string"]}  # 12、0.055、"5.5%"、"300万元"
DATE: Schema = {"type": "string", "format": "date"}
FORMULA: Schema = {"type": ["string", "number"]}
NUMERIC_TYPE: Schema = {"enum": ["integer", "decimal", "money", "ratio"]}


def _operand(op: str) -> Schema:
    if op in COMPARE_OPS:  # a number, date, text or yes/no; a parameter; a date relative to the evaluation
        # date; another field of the enterprise
        return one_of(
            {"type": ["number", "string", "boolean"]}, ref("param_ref"), ref("relative_date"), ref("field_ref")
        )
    return TEXT if op in ("has", "lacks") else array({"type": ["number", "string"]}, True)


@dataclass(frozen=True)
class Key:
    schema: Schema
    text: str  # what the key means, in Chinese


@dataclass(frozen=True)
class Section:
    where: str  # the mapping as people call it, in messages: "金额（amount）"
    keys: dict[str, Key]
    required: tuple[str, ...] = ()
    conflicts: tuple[tuple[str, str], ...] = ()
    conflict_hint: str = ""
    aliases: dict[str, str] = field(default_factory=dict)  # a key people type by mistake → the right one


_AMOUNT_FORMS = ("formula", "fixed", "tiers", "none")
_SHIFTS = tuple(f"{unit}_{way}" for way in ("after", "before") for unit in ("years", "months", "days"))
_LEAF_HINTS = {">": "gt", ">=": "ge", "<": "lt", "<=": "le", "==": "eq", "!=": "ne", "between": "ge 和 le"}
_LEAF_HINTS |= {"gte": "ge", "lte": "le", "neq": "ne", "not_eq": "ne", "not_has": "lacks", "contains": "has"}

SECTIONS: dict[str, Section] = {
    "policy": Section(
        "政策文件顶层",
        {
            "id": Key({"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"}, "政策 id，全目录唯一"),
            "version": Key({"type": "integer", "minimum": 0}, "版本号"),
            "title": Key(TEXT, "政策名称"),
            "summary": Key(TEXT, "摘要"),
            "department": Key(TEXT, "执行部门"),
            "level": Key(TEXT, "层级：省级、市级、县级"),
            "region": Key(
                one_of(TEXT, array(TEXT, True), ref("region")), "适用地区：区划代码、代码列表或 {in, except}"
            ),
            "legal_basis": Key(array(ref("legal_basis"), True), "政策依据"),
            "kind": Key({"enum": ["条件类", "名单类", "暂难数据化类", "condition", "list", "application"]}, "政策类型"),
            "valid_from": Key(DATE, "有效期开始日"),
            "valid_to": Key(one_of(DATE, {"type": "null"}), "有效期结束日，可省略"),
            "subjects": Key(array(TEXT, True), "适用主体类型"),
            "budget": Key(NUMBER, "预算（元）"),
            "publicity_days": Key(INT, "公示期（工作日）"),
            "objection_days": Key(INT, "异议期（工作日）"),
            "confirm_days": Key(INT, "企业确认期限（工作日）"),
            "commitment": Key(TEXT, "信用承诺书文字"),
            "parameters": Key({"type": "object", "additionalProperties": ref("parameter")}, "分时点参数"),
            "derived": Key({"type": "object", "additionalProperties": ref("derived")}, "派生字段"),
            "conditions": Key(array(ref("condition")), "条件（全部满足）"),
            "amount": Key(one_of(ref("amount"), {"const": "none"}), "金额；不涉及资金时写 none"),
            "guide": Key(ref("guide"), "办事指南"),
            "tests": Key(array(ref("test")), "政策测试"),
            "matter": Key(TEXT, "事项：同一事项的政策不重复享受"),
            "matter_rule": Key({"const": "就高"}, "同一事项就高享受（只享受金额最高的一项）"),
            "exclusive_with": Key(array(TEXT, True), "不与之重复享受的政策 id 或事项名称"),
            "period": Key(ref("period"), "享受周期：一次、按月、按季、按年，最多期数，期内补发"),
            "unverified": Key(TEXT, "待核实：原文未取得或未核对时写明缺什么；公开页面标注“待核实”"),
        },
        required=("id", "title", "department", "legal_basis", "kind", "valid_from", "subjects", "amount"),
    ),
    "region": Section(
        "适用地区（region）",
        {
            "in": Key(array(TEXT, True), "适用地区的区划代码，省略时为全省"),
            "except": Key(array(TEXT, True), "排除的地区"),
        },
    ),
    "legal_basis": Section(
        "政策依据（legal_basis）",
        {"doc": Key(TEXT, "文号"), "title": Key(TEXT, "文件名"), "article": Key(TEXT, "条款")},
        required=("doc",),
    ),
    "parameter": Section(
        "参数",
        {
            "label": Key(TEXT, "中文说明"),
            "type": Key(NUMERIC_TYPE, "类型"),
            "values": Key(array(ref("parameter_value"), True), "分时点取值"),
            "regions": Key(
                {"type": "object", "additionalProperties": array(ref("parameter_value"), True)},
                "按地区取值：地区代码 → 分时点取值（只用于金额）",
            ),
        },
        required=("type", "values"),
    ),
    "parameter_value": Section(
        "参数取值",
        {"from": Key(DATE, "生效日"), "value": Key(NUMBER, "取值"), "basis": Key(TEXT, "依据文号")},
        required=("from", "value"),
    ),
    "derived": Section(
        "派生字段",
        {"label": Key(TEXT, "中文说明"), "type": Key(NUMERIC_TYPE, "类型"), "formula": Key(FORMULA, "算式")},
        required=("type", "formula"),
    ),
    "condition": Section(
        "条件",
        {
            "id": Key({"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"}, "条件 id，文件内唯一"),
            "label": Key(TEXT, "中文说明"),
            "basis": Key(TEXT, "条款依据"),
            "field": Key(TEXT, "字段目录中的字段或派生字段"),
            "all": Key(array(ref("condition"), True), "全部满足"),
            "any": Key(array(ref("condition"), True), "任一满足"),
            "not": Key(ref("condition"), "不满足"),
        }
        | {op: Key(_operand(op), "运算") for op in LEAF_OPS},
        conflicts=tuple(combinations(("field", "all", "any", "not"), 2)),
        conflict_hint="条件必须且只能有 field、all、any、not 之一",
        aliases=_LEAF_HINTS,
    ),
    "relative_date": Section(
        "相对日期",
        {
            "years_before": Key(INT, "评估日前 N 年"),
            "months_before": Key(INT, "评估日前 N 个月"),
            "days_before": Key(INT, "评估日前 N 天"),
        },
        conflicts=tuple(combinations(("years_before", "months_before", "days_before"), 2)),
        conflict_hint="相对日期只写一个：years_before、months_before 或 days_before",
    ),
    "field_ref": Section(
        "字段比较",
        {
            "field": Key(TEXT, "与之比较的另一字段（字段目录中的字段或派生字段）"),
            "years_after": Key(INT, "日期字段：该日期后 N 年"),
            "months_after": Key(INT, "日期字段：该日期后 N 个月"),
            "days_after": Key(INT, "日期字段：该日期后 N 天"),
            "years_before": Key(INT, "日期字段：该日期前 N 年"),
            "months_before": Key(INT, "日期字段：该日期前 N 个月"),
            "days_before": Key(INT, "日期字段：该日期前 N 天"),
        },
        required=("field",),
        conflicts=tuple(combinations(_SHIFTS, 2)),
        conflict_hint="日期偏移只写一个：years_after、months_after、days_after 或对应的 _before",
    ),
    "period": Section(
        "享受周期（period）",
        {
            "every": Key({"enum": ["once", "monthly", "quarterly", "yearly"]}, "一次、按月、按季或按年享受"),
            "max": Key({"type": "integer", "minimum": 1}, "每家企业最多享受的期数"),
            "top_up": Key({"type": "boolean"}, "期内金额增加时补发差额"),
        },
    ),
    "param_ref": Section("参数引用", {"param": Key(TEXT, "参数名称")}, required=("param",)),
    "amount": Section(
        "金额（amount）",
        {
            "label": Key(TEXT, "金额的中文说明"),
            "formula": Key(FORMULA, "算式（只有一档时）"),
            "fixed": Key(NUMBER, "固定金额（元）"),
            "tiers": Key(array(ref("tier"), True), "档位，自上而下第一个满足的生效"),
            "else": Key(FORMULA, "不满足任何档位时的算式（与 tiers 一起写）"),
            "cap": Key(one_of(NUMBER, ref("param_ref")), "上限（元）"),
            "floor": Key(one_of(NUMBER, ref("param_ref")), "下限（元）"),
            "round": Key({"enum": ["fen", "分", "yuan", "元"]}, "舍入到分或元（四舍五入）"),
            "none": Key({"const": True}, "不涉及资金，只认定资格"),
        },
        conflicts=tuple(combinations(_AMOUNT_FORMS, 2))
        + tuple(("none", key) for key in ("else", "cap", "floor", "round"))
        + (("formula", "else"), ("fixed", "else")),
        conflict_hint="一项金额只能用 formula、fixed、tiers（加 else）或 none 之一；else 只与 tiers 一起写",
    ),
    "tier": Section(
        "金额档位（tiers）",
        {
            "when": Key(ref("condition"), "档位条件"),
            "formula": Key(FORMULA, "算式"),
            "label": Key(TEXT, "中文说明"),
            "cap": Key(one_of(NUMBER, ref("param_ref")), "本档上限（元）"),
            "floor": Key(one_of(NUMBER, ref("param_ref")), "本档下限（元）"),
        },
        required=("when", "formula"),
    ),
    "guide": Section(
        "办事指南（guide）",
        {
            "conditions_text": Key(TEXT, "享受条件"),
            "materials": Key(array(TEXT), "材料"),
            "time_limit": Key(TEXT, "办理时限"),
            "process": Key(array(TEXT), "流程"),
            "contact": Key(TEXT, "咨询方式"),
        },
    ),
    "test": Section(
        "政策测试（tests）",
        {
            "name": Key(TEXT, "测试名称"),
            "as_of": Key(DATE, "评估日，省略时为有效期开始日"),
            "profile": Key({"type": "object"}, "企业档案：字段目录中的字段 → 值"),
            "expect": Key(ref("expect"), "预期结果"),
        },
        required=("profile", "expect"),
    ),
    "expect": Section(
        "测试预期（expect）",
        {
            "status": Key({"enum": ["eligible", "ineligible", "unknown", "符合", "不符合", "待补充数据"]}, "预期状态"),
            "amount": Key(NUMBER, "预期金额（元）"),
            "failed": Key(one_of(array(TEXT), {"type": "null"}), "未满足条件的 id"),
            "unknown": Key(one_of(array(TEXT), {"type": "null"}), "缺数据条件的 id"),
        },
        required=("status",),
    ),
}


def check_keys(ctx: ParseContext, node: Any, section: str) -> bool:
    """Report `node`'s unknown keys and contradictory pairs; True when there are none."""
    if not isinstance(node, Mapping) or not ctx.strict:
        return True  # a published text is read as it was checked when it was published
    spec, ok = SECTIONS[section], True
    known = list(spec.keys)
    for key in node:
        if key in spec.keys:
            continue
        ok = False
        close = difflib.get_close_matches(str(key), known, n=1)
        if str(key) in spec.aliases:
            hint = f"请写 {spec.aliases[str(key)]}"
        elif close:
            hint = f'是否想写 "{close[0]}"？'
        else:
            hint = f"可写的键：{'、'.join(known)}"
        ctx.error(ctx.at_key(node, key), f"{spec.where}中有未知的键“{key}”", hint)
    for a, b in spec.conflicts:
        if a in node and b in node:
            ok = False
            ctx.error(ctx.at_key(node, b), f"{spec.where}中 {a} 与 {b} 不能同时写", spec.conflict_hint)
    return ok
