"""Compile a policy, as of a date, to one SQL query over a table of profiles.

Output per enterprise: id, status (eligible / ineligible / unknown), amount, failed_mask and
unknown_mask (bit i = the i-th conjunct of `spine(policy.conditions)`, the last bit = amount).
Each condition is computed once in a subquery and the results combined (faster than repeating
predicates), parameters and relative dates are resolved to typed literals at compile time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlglot import exp

from mianshen.catalogue import Catalogue, Field, FieldType, load_catalogue
from mianshen.rules.ast import (
    Amount,
    BinOp,
    Bound,
    Call,
    Condition,
    Expr,
    Group,
    Implicit,
    Leaf,
    Literal,
    Num,
    ParamRef,
    Policy,
    Ref,
    RelativeDate,
    spine,
)
from mianshen.rules.evaluate import resolve_date
from mianshen.rules.formula import references
from mianshen.sqlgen.dialects import DIALECTS, Dialect

_MONEY = Field("amount", "金额", FieldType.MONEY)


@dataclass(frozen=True)
class CompiledPolicy:
    policy_id: str
    version: int
    sql: str
    condition_ids: tuple[str, ...]  # bit order of the masks; "amount" last
    fields: tuple[str, ...]  # profile columns the query reads


class _Compiler:
    def __init__(self, policy: Policy, as_of: dt.date, dialect: Dialect, catalogue: Catalogue) -> None:
        self.policy, self.as_of, self.d, self.catalogue = policy, as_of, dialect, catalogue
        self.params = {name.replace("-", "_"): name for name in policy.parameters}
        self.derived = {d.name: d for d in policy.derived.values()}

    def field(self, name: str) -> Field:
        if name in self.derived:
            d = self.derived[name]
            return Field(d.name, d.label, d.type)
        return self.catalogue.fields[name]

    def column(self, name: str) -> exp.Expression:
        return exp.column(f"dv_{name}" if name in self.derived else name)

    # --- formulas ------------------------------------------------------------------------------
    def expr(self, e: Expr) -> exp.Expression:
        if isinstance(e, Num):
            return self.d.number(e.value)
        if isinstance(e, Ref):
            if e.name in self.params:
                return self.param(self.params[e.name])
            return self.column(e.name)
        if isinstance(e, Call):
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
        assert isinstance(bound, Literal)
        value = bound.value
        if isinstance(value, dt.date):
            return self.d.date(value)
        if isinstance(value, bool):
            return self.d.boolean(value)
        if field.type.numeric:
            return self.d.number(value)  # type: ignore[arg-type]
        return exp.Literal.string(str(value))

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
                parts.append(self.d.compare(op, col, self.bound(operand, field), field.type.numeric))
        return exp.Paren(this=exp.and_(*parts)) if len(parts) > 1 else parts[0]

    def member(self, op: str, col: exp.Expression, values: tuple[str, ...], field: Field) -> exp.Expression:
        if op in ("in", "not_in"):
            if field.type.numeric:
                tests = [self.d.compare("eq", col, self.d.number(v), True) for v in values]  # type: ignore[arg-type]
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

    # --- the query -----------------------------------------------------------------------------
    def query(self, table: str, carry: Sequence[str] = ()) -> exp.Select:
        # copy=False: each builder call would otherwise deep-copy the query built so far (most of
        # the compile time of a 100-policy run in a fresh process); every node added here is new.
        derived = exp.select(exp.Star()).from_(exp.to_table(table))
        for d in self.policy.derived.values():
            derived = derived.select(exp.alias_(self.expr(d.formula), f"dv_{d.name}"), copy=False)
        conjuncts = spine(self.policy.conditions)
        tested = exp.select(exp.Star())
        for i, cond in enumerate(conjuncts):
            tested = tested.select(exp.alias_(self.condition(cond), f"c{i}"), copy=False)
        cs = [exp.column(f"c{i}") for i in range(len(conjuncts))]
        root = exp.Paren(this=exp.and_(*cs))
        # The amount only matters where every condition holds (status and masks read it only then),
        # so it is computed only there: most pairs fail a condition, and amounts are the costly part.
        only_if_met = exp.Case(ifs=[exp.If(this=root.copy(), true=self.amount(self.policy.amount))])
        inner = exp.select(exp.column("id"), *(exp.column(c) for c in carry), *(c.copy() for c in cs))
        tested = tested.from_(derived.subquery("p", copy=False), copy=False)
        inner = inner.select(exp.alias_(only_if_met, "amt"), copy=False).from_(
            tested.subquery("w", copy=False), copy=False
        )
        amt = exp.column("amt")
        amt_null = exp.Is(this=amt, expression=exp.null())
        status = exp.Case(
            ifs=[
                exp.If(this=exp.and_(root, exp.Not(this=amt_null)), true=exp.Literal.string("eligible")),
                exp.If(this=exp.Not(this=root), true=exp.Literal.string("ineligible")),
            ],
            default=exp.Literal.string("unknown"),
        )

        def mask(tests: Sequence[exp.Expression]) -> exp.Expression:
            terms: list[exp.Expression] = [
                exp.Case(ifs=[exp.If(this=t, true=exp.Literal.number(1 << i))], default=exp.Literal.number(0))
                for i, t in enumerate(tests)
            ]
            total = terms[0]
            for term in terms[1:]:
                total = exp.Add(this=total, expression=term)
            return total

        failed = mask([exp.Not(this=c) for c in cs])
        unknown_tests: list[exp.Expression] = [exp.Is(this=c, expression=exp.null()) for c in cs]
        unknown = mask([*unknown_tests, cast(exp.Expression, exp.and_(root, amt_null))])
        return exp.select(
            exp.column("id"),
            exp.alias_(status, "status"),
            exp.alias_(exp.Case(ifs=[exp.If(this=root, true=amt)], default=exp.null()), "amount"),
            exp.alias_(failed, "failed_mask"),
            exp.alias_(unknown, "unknown_mask"),
            *(exp.column(c) for c in carry),
        ).from_(inner.subquery("c"))


def needed_fields(policy: Policy) -> tuple[str, ...]:
    names: set[str] = {"subject_type"}
    if policy.kind == "名单类":
        names.add("on_list")

    def walk(cond: Condition | None) -> None:
        if isinstance(cond, Leaf):
            names.add(cond.field)
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


def compile_policy(
    policy: Policy,
    as_of: dt.date,
    dialect: str,
    table: str = "profiles",
    catalogue: Catalogue | None = None,
    carry: Sequence[str] = (),
) -> CompiledPolicy:
    """`carry`: columns of `table` passed through to the output after the masks (e.g. an input hash
    computed once per enterprise), so batch matching needs no join back to the profile table."""
    compiler = _Compiler(policy, as_of, DIALECTS[dialect], catalogue or load_catalogue())
    sql = compiler.query(table, carry).sql(dialect=dialect, copy=False)  # a fresh tree, used once
    ids = tuple(c.id for c in spine(policy.conditions)) + ("amount",)
    return CompiledPolicy(policy.id, policy.version, sql, ids, needed_fields(policy))


def compile_tree(
    policy: Policy,
    as_of: dt.date,
    dialect: str,
    table: str,
    catalogue: Catalogue | None = None,
    carry: Sequence[str] = (),
) -> exp.Select:
    """The query of `compile_policy` as a SQLGlot tree, for batch matching to rewrite (grouping.py)."""
    return _Compiler(policy, as_of, DIALECTS[dialect], catalogue or load_catalogue()).query(table, carry)
