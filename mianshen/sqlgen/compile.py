"""Compile one policy's pieces, as of a date, to SQLGlot expressions over a profile table's columns.

Parameters and relative dates are resolved to typed literals at compile time; a derived field is
read from the column the caller names for it (`derived`: the assembler computes each distinct
derived formula once, see assemble.py). Every expression keeps SQL's three-valued logic, which the
Python evaluator mirrors (tests/test_differential.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlglot import exp

from mianshen.catalogue import Catalogue, Field, FieldType
from mianshen.rules import dates
from mianshen.rules.ast import (
    Amount,
    BinOp,
    Bound,
    Call,
    Condition,
    Expr,
    FieldRef,
    Group,
    Implicit,
    Leaf,
    Literal,
    Num,
    ParamRef,
    Policy,
    Ref,
    RelativeDate,
    leaf_fields,
)
from mianshen.rules.evaluate import resolve_date
from mianshen.rules.formula import references
from mianshen.sqlgen.dialects import Dialect

_MONEY = Field("amount", "金额", FieldType.MONEY)


class PolicyCompiler:
    """`derived`: derived field name → the expression that reads it (a column, or the inlined formula)."""

    def __init__(
        self,
        policy: Policy,
        as_of: dt.date,
        dialect: Dialect,
        catalogue: Catalogue,
        derived: Mapping[str, exp.Expression] | None = None,
    ) -> None:
        self.policy, self.as_of, self.d, self.catalogue = policy, as_of, dialect, catalogue
        self.params = {name.replace("-", "_"): name for name in policy.parameters}
        self.derived = {d.name: d for d in policy.derived.values()}
        self.derived_columns = dict(derived or {})

    def field(self, name: str) -> Field:
        if name in self.derived:
            d = self.derived[name]
            return Field(d.name, d.label, d.type)
        return self.catalogue.fields[name]

    def column(self, name: str) -> exp.Expression:
        found = self.derived_columns.get(name)
        return found.copy() if found is not None else exp.column(name)

    # --- formulas ------------------------------------------------------------------------------
    def expr(self, e: Expr) -> exp.Expression:
        if isinstance(e, Num):
            return self.d.number(e.value)
        if isinstance(e, Ref):
            if e.name == dates.AS_OF:  # an argument of a date function
                return self.d.date(self.as_of)
            if e.name in self.params:
                return self.param(self.params[e.name])
            return self.column(e.name)
        if isinstance(e, Call) and e.fn in dates.FUNCTIONS:
            return self.d.between(e.fn, self.expr(e.args[0]), self.expr(e.args[1]))
        if isinstance(e, Call):
            if e.fn == "floor":
                return self.floor(self.expr(e.args[0]))
            result = self.expr(e.args[0])
            for arg in e.args[1:]:
                result = self.pick(e.fn, result, self.expr(arg))
            return result
        assert isinstance(e, BinOp)
        return self.d.arith(e.op, self.expr(e.left), self.expr(e.right))

    def pick(self, fn: str, a: exp.Expression, b: exp.Expression) -> exp.Expression:
        """min/max that is NULL when either side is NULL, on every engine."""
        either_null = exp.or_(exp.Is(this=a, expression=exp.null()), exp.Is(this=b, expression=exp.null()))
        a_first = self.d.compare("le" if fn == "min" else "ge", a, b, numeric=True)
        return exp.Case(ifs=[exp.If(this=either_null, true=exp.null()), exp.If(this=a_first, true=a)], default=b)

    def floor(self, a: exp.Expression) -> exp.Expression:
        """The greatest integer not above `a` (NULL stays NULL), in the exact decimal type again: DuckDB
        types FLOOR as DECIMAL(38,0), and a CASE joining it with DECIMAL(38,10) branches would drop their
        fractions. SQLite keeps decimals as text: its integer part (CAST truncates toward zero), less one
        when that is above `a`."""
        if self.d.name != "sqlite":
            dec = self.d.decimal_type()
            return exp.Cast(this=exp.Floor(this=exp.cast(a, dec)), to=dec.copy())
        whole = exp.cast(a, exp.DataType.build("INTEGER"))
        above = self.d.compare("gt", whole.copy(), a.copy(), numeric=True)
        return exp.Paren(this=exp.Sub(this=whole, expression=exp.Paren(this=above)))

    def param(self, name: str) -> exp.Expression:
        found = None
        for value in self.policy.parameters[name].values:
            if value.start <= self.as_of:
                found = value
        return self.d.number(found.value) if found else exp.null()

    def bound(self, bound: Bound, field: Field) -> exp.Expression:
        if isinstance(bound, ParamRef):
            return self.param(bound.name)
        if isinstance(bound, RelativeDate):
            return self.d.date(resolve_date(bound, self.as_of))
        if isinstance(bound, FieldRef):  # another column of the same row, a date one shifted
            other = self.column(bound.name)
            return self.d.shift(other, bound.unit, bound.amount) if bound.amount else other
        assert isinstance(bound, Literal)
        value = bound.value
        if isinstance(value, dt.date):
            return self.d.date(value)
        if isinstance(value, bool):
            return self.d.boolean(value)
        if field.type.numeric:
            return self.d.number(value)  # type: ignore[arg-type]
        return exp.Literal.string(str(value))

    def compare(self, op: str, col: exp.Expression, bound: exp.Expression, field: Field) -> exp.Expression:
        """An integer field against a whole number compares as integers: no per-row cast to the exact
        decimal type (a 128-bit integer in DuckDB) and no registered function call on SQLite. Not a
        derived one: its formula's exact arithmetic gives text on SQLite ('-7' >= 0 would hold)."""
        if field.type == FieldType.INTEGER and field.name not in self.derived:
            whole = _whole_number(bound, self.d)
            if whole is not None:
                return self.d.compare(op, col, exp.Literal.number(whole), numeric=False)
        return self.d.compare(op, col, bound, field.type.numeric)

    # --- conditions ----------------------------------------------------------------------------
    def condition(self, cond: Condition) -> exp.Expression:
        if isinstance(cond, Implicit):
            return self.implicit(cond)
        if isinstance(cond, Group):
            parts = [self.condition(c) for c in cond.children]
            if cond.kind == "not":
                return exp.Not(this=exp.Paren(this=parts[0]))
            joined = exp.and_(*parts) if cond.kind == "all" else exp.or_(*parts)
            return exp.Paren(this=joined)
        return self.leaf(cond)

    def implicit(self, cond: Implicit) -> exp.Expression:
        if cond.id == "in-force":
            end = self.policy.valid_to
            return self.d.boolean(self.policy.valid_from <= self.as_of and (end is None or self.as_of <= end))
        if cond.id == "subject":
            return exp.In(
                this=exp.column("subject_type"), expressions=[exp.Literal.string(s) for s in self.policy.subjects]
            )
        return exp.EQ(this=exp.column("on_list"), expression=self.d.boolean(True))

    def leaf(self, leaf: Leaf) -> exp.Expression:
        field = self.field(leaf.field)
        col = self.column(leaf.field)
        parts = []
        for test in leaf.tests:
            op, operand = test.op, test.operand
            if isinstance(operand, tuple):
                parts.append(self.member(op, col, operand, field))
            else:
                parts.append(self.compare(op, col, self.bound(operand, field), field))
        return exp.Paren(this=exp.and_(*parts)) if len(parts) > 1 else parts[0]

    def member(self, op: str, col: exp.Expression, values: tuple[str, ...], field: Field) -> exp.Expression:
        if op in ("in", "not_in"):
            if field.type.numeric:
                tests = [self.compare("eq", col, self.d.number(v), field) for v in values]  # type: ignore[arg-type]
                result: exp.Expression = exp.Paren(this=exp.or_(*tests))
            else:
                result = exp.In(this=col, expressions=[exp.Literal.string(v) for v in values])
            return exp.Not(this=exp.Paren(this=result)) if op == "not_in" else result
        if op in ("within", "not_within"):
            tests = [
                exp.EQ(
                    this=exp.Substring(this=col, start=exp.Literal.number(1), length=exp.Literal.number(len(p))),
                    expression=exp.Literal.string(p),
                )
                for p in values
            ]
            result = exp.Paren(this=exp.or_(*tests))
            return exp.Not(this=result) if op == "not_within" else result
        has = [
            exp.GT(
                this=exp.StrPosition(this=col, substr=exp.Literal.string(f"|{t}|")), expression=exp.Literal.number(0)
            )
            for t in values
        ]
        if op == "lacks":
            return exp.Not(this=exp.Paren(this=has[0]))
        if op == "has_all":
            return exp.Paren(this=exp.and_(*has))
        return exp.Paren(this=exp.or_(*has)) if len(has) > 1 else has[0]

    # --- amount --------------------------------------------------------------------------------
    def amount(self, amount: Amount) -> exp.Expression:
        ifs = []
        default: exp.Expression = exp.null()
        for tier in amount.tiers:
            formula = self.expr(tier.formula)
            if tier.when is None:
                default = formula
                break
            when = self.condition(tier.when)
            ifs.append(exp.If(this=exp.Is(this=exp.Paren(this=when), expression=exp.null()), true=exp.null()))
            ifs.append(exp.If(this=when, true=formula))
        value: exp.Expression = exp.Case(ifs=ifs, default=default) if ifs else default
        for bound, op in ((amount.floor, "lt"), (amount.cap, "gt")):
            if bound is not None:
                limit = self.param(bound.name) if isinstance(bound, ParamRef) else self.bound(bound, _MONEY)
                value = exp.Case(
                    ifs=[
                        exp.If(this=exp.Is(this=limit, expression=exp.null()), true=exp.null()),
                        exp.If(this=self.d.compare(op, value, limit, True), true=limit),
                    ],
                    default=value,
                )
        return self.d.round(value, amount.round_places)


def needed_fields(policy: Policy) -> tuple[str, ...]:
    names: set[str] = {"subject_type"}
    if policy.kind == "名单类":
        names.add("on_list")

    def walk(cond: Condition | None) -> None:
        if isinstance(cond, Leaf):
            names.update(leaf_fields(cond))
        elif isinstance(cond, Group):
            for child in cond.children:
                walk(child)

    for cond in policy.conditions:
        walk(cond)
    for tier in policy.amount.tiers:
        walk(tier.when)
        names.update(references(tier.formula))
    for d in policy.derived.values():
        names.update(references(d.formula))
    params = {n.replace("-", "_") for n in policy.parameters}
    derived = {d.name for d in policy.derived.values()}
    return tuple(sorted(names - params - derived))


def _whole_number(bound: exp.Expression, dialect: Dialect) -> int | None:
    """The integer a compiled numeric literal holds (`dialect.number` output), or None."""
    literal = bound.this if isinstance(bound, exp.Cast) else bound
    if not isinstance(literal, exp.Literal) or not literal.is_string:
        return None
    text = literal.name
    if not text.lstrip("-").isdigit():
        return None
    return int(text) if dialect.number(int(text)).sql() == bound.sql() else None
