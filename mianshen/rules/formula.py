"""Formulas (算式) such as `ui_premium_paid_last_year * 60%`, parsed with Python's own parser.

Python's `ast` gives a well-tested expression grammar; we accept only numbers, names, the four
operations, parentheses, `min`, `max` and `floor` (向下取整), and read every number from its source text so that
no binary float ever enters the computation.
"""

from __future__ import annotations

import ast
import re
from decimal import Decimal

from mianshen.numbers import NumberError, parse_number
from mianshen.rules import dates
from mianshen.rules.ast import BinOp, Bound, Call, Expr, Num, ParamRef, Ref

_UNIT_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(%|万元|亿元|万|亿|元)")
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_FUNCTIONS = {"min": "较小值", "max": "较大值", "floor": "向下取整"} | dates.FUNCTIONS  # name → how explanations say it


class FormulaError(ValueError):
    """The formula text is not valid; the message says what and, if known, the column."""

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.column = column


def _expand_units(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        return str(parse_number(match.group(0)))

    return _UNIT_NUMBER.sub(replace, text)


MAX_FORMULA = 2000  # characters: Python's parser recurses per operator, and a policy's longest is ~100


def parse_formula(text: str) -> Expr:
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("算式为空")
    if len(text) > MAX_FORMULA:
        raise FormulaError(f"算式过长：最多 {MAX_FORMULA} 字，现有 {len(text)} 字")
    try:
        source = _expand_units(text.replace("×", "*").replace("÷", "/"))
        tree = ast.parse(source.strip(), mode="eval")
        return _convert(tree.body, source.strip())
    except NumberError as exc:
        raise FormulaError(str(exc)) from exc
    except SyntaxError as exc:
        raise FormulaError(f"算式语法错误（第 {exc.offset or 0} 个字符附近）", exc.offset or 0) from exc
    except (RecursionError, MemoryError) as exc:
        raise FormulaError("算式嵌套过深，请拆成几个派生字段") from exc


def _convert(node: ast.expr, source: str) -> Expr:
    col = getattr(node, "col_offset", 0) + 1
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        segment = ast.get_source_segment(source, node) or repr(node.value)
        try:
            return Num(parse_number(segment))
        except NumberError as exc:
            raise FormulaError(str(exc), col) from exc
    if isinstance(node, ast.Name):
        return Ref(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _convert(node.operand, source)
        if isinstance(node.op, ast.UAdd):
            return inner
        if isinstance(inner, Num):
            return Num(-inner.value)
        return BinOp("-", Num(Decimal(0)), inner)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left = _convert(node.left, source)
        right = _convert(node.right, source)
        op = _OPS[type(node.op)]
        if op == "/" and not references(right) and _constant(right) == 0:
            raise FormulaError("算式除以零", col)
        return BinOp(op, left, right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id not in _FUNCTIONS or node.keywords or not node.args:
            raise FormulaError(f"不支持的函数 {node.func.id}（只能用 {'、'.join(_FUNCTIONS)}）", col)
        if node.func.id in dates.FUNCTIONS:
            if len(node.args) != 2 or not all(isinstance(a, ast.Name) for a in node.args):
                example = "months_between(established_on, as_of)"
                raise FormulaError(f"{node.func.id} 接受两个日期字段名（或 as_of：评估日），如 {example}", col)
            return Call(node.func.id, tuple(Ref(a.id) for a in node.args))  # type: ignore[attr-defined]
        if node.func.id == "floor" and len(node.args) != 1:
            raise FormulaError("floor（向下取整）只接受一个参数，如 floor(sales / 10000) * 100", col)
        return Call(node.func.id, tuple(_convert(a, source) for a in node.args))
    raise FormulaError(f"算式中不能使用“{ast.get_source_segment(source, node)}”", col)


def date_references(expr: Expr) -> list[str]:
    """The names a formula reads as dates: the arguments of its date functions."""
    if isinstance(expr, Call) and expr.fn in dates.FUNCTIONS:
        return [a.name for a in expr.args if isinstance(a, Ref)]
    if isinstance(expr, BinOp):
        return date_references(expr.left) + date_references(expr.right)
    if isinstance(expr, Call):
        return [name for arg in expr.args for name in date_references(arg)]
    return []


def constant_value(expr: Expr) -> Decimal | None:
    """The value of a formula that names no field or parameter; None when it names one (or divides by 0)."""
    return None if references(expr) else _constant(expr)


def _constant(expr: Expr) -> Decimal | None:
    """The value of an expression without names (None if it divides by zero itself)."""
    from mianshen import numbers

    if isinstance(expr, Num):
        return expr.value
    if isinstance(expr, Call):
        args = [_constant(a) for a in expr.args]
        if any(a is None for a in args):
            return None
        return numbers.apply_function(expr.fn, args)  # type: ignore[arg-type]
    assert isinstance(expr, BinOp)
    left, right = _constant(expr.left), _constant(expr.right)
    if left is None or right is None:
        return None
    ops = {"+": numbers.add, "-": numbers.sub, "*": numbers.mul, "/": numbers.div}
    return ops[expr.op](left, right)


def references(expr: Expr) -> list[str]:
    """The fields, derived fields and parameters a formula reads (the evaluation date is no input)."""
    if isinstance(expr, Ref):
        return [] if expr.name == dates.AS_OF else [expr.name]
    if isinstance(expr, BinOp):
        return references(expr.left) + references(expr.right)
    if isinstance(expr, Call):
        return [name for arg in expr.args for name in references(arg)]
    return []


def formula_text(expr: Expr, labels: dict[str, str] | None = None) -> str:
    """The formula written back, with Chinese labels for names when given."""
    labels = labels or {}
    if isinstance(expr, Num):
        return format(expr.value.normalize(), "f")
    if isinstance(expr, Ref):
        return labels.get(expr.name, expr.name)
    if isinstance(expr, Call):
        inner = "，".join(formula_text(a, labels) for a in expr.args)
        return f"{_FUNCTIONS[expr.fn]}（{inner}）"
    sign = {"+": " + ", "-": " − ", "*": " × ", "/": " ÷ "}[expr.op]
    left, right = formula_text(expr.left, labels), formula_text(expr.right, labels)
    if isinstance(expr.right, BinOp) and expr.op in "*/-":
        right = f"（{right}）"
    if isinstance(expr.left, BinOp) and expr.op in "*/" and expr.left.op in "+-":
        left = f"（{left}）"
    return left + sign + right


def bounded(expr: Expr, low: Bound | None, high: Bound | None) -> Expr:
    """A tier's own floor and cap as part of its formula — `min(max(formula, floor), cap)` — so every
    engine (Python, SQL, Spark) computes them with the min and max it already has; the amount's
    `floor` and `cap` then bound whichever tier applied (e.g. 每人500元、每家最高10万元)."""

    def term(bound: Bound) -> Expr:
        return Ref(formula_name(bound.name)) if isinstance(bound, ParamRef) else Num(Decimal(str(bound.value)))  # type: ignore[union-attr]

    if low is not None:
        expr = Call("max", (expr, term(low)))
    if high is not None:
        expr = Call("min", (expr, term(high)))
    return expr


def formula_name(name: str) -> str:
    """Names in formulas use underscores where ids use hyphens."""
    return name.replace("-", "_")
