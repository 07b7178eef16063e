"""What differs between engines, as data and small functions (cf. SQLGlot's per-target generators).

Exact decimals: DuckDB uses DECIMAL(38,10) and integer arithmetic for division (its decimal
division returns a DOUBLE); PostgreSQL uses NUMERIC; SQLite has no decimal type, so decimals are
stored as text and computed by deterministic Python functions registered on the connection
(see engines.py). Every step rounds half away from zero to 10 places, as the Python evaluator does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from sqlglot import exp

from mianshen.catalogue import FieldType
from mianshen.rules.numbers import SCALE

_TEN_POW = 10**SCALE


@dataclass(frozen=True)
class Dialect:
    name: str  # sqlglot dialect name

    # --- literals ------------------------------------------------------------------------------
    def number(self, value: Decimal | int) -> exp.Expression:
        text = format(Decimal(value), "f")
        if self.name == "sqlite":
            return exp.Literal.string(text)
        return exp.cast(exp.Literal.string(text), self.decimal_type())

    def date(self, value: dt.date) -> exp.Expression:
        if self.name == "sqlite":
            return exp.Literal.string(value.isoformat())
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))

    def decimal_type(self) -> exp.DataType:
        if self.name == "postgres":
            return exp.DataType.build("NUMERIC")
        return exp.DataType.build(f"DECIMAL(38, {SCALE})")

    def column_type(self, kind: FieldType) -> str:
        """The column type a profile field is stored in for batch evaluation."""
        if kind == FieldType.INTEGER:
            return "BIGINT" if self.name != "sqlite" else "INTEGER"
        if kind.numeric:
            return {"sqlite": "TEXT", "postgres": "NUMERIC"}.get(self.name, f"DECIMAL(38, {SCALE})")
        if kind == FieldType.DATE:
            return "TEXT" if self.name == "sqlite" else "DATE"
        if kind == FieldType.BOOLEAN:
            return "INTEGER" if self.name == "sqlite" else "BOOLEAN"
        return "TEXT"

    # --- numeric operations --------------------------------------------------------------------
    def _dec(self, e: exp.Expression) -> exp.Expression:
        return e if self.name == "sqlite" else exp.cast(e, self.decimal_type())

    def arith(self, op: str, a: exp.Expression, b: exp.Expression) -> exp.Expression:
        if self.name == "sqlite":
            fn = {"+": "ms_add", "-": "ms_sub", "*": "ms_mul", "/": "ms_div"}[op]
            return exp.Anonymous(this=fn, expressions=[a, b])
        a, b = self._dec(a), self._dec(b)
        if op == "+":
            return exp.Paren(this=exp.Add(this=a, expression=b))
        if op == "-":
            return exp.Paren(this=exp.Sub(this=a, expression=b))
        if op == "*":
            return self.round(exp.Mul(this=a, expression=b), SCALE)
        if self.name == "postgres":
            wide = exp.cast(a, exp.DataType.build("NUMERIC(70, 30)"))
            return self.round(
                exp.Div(this=wide, expression=exp.Nullif(this=b, expression=exp.Literal.number(0))), SCALE
            )
        return self._duckdb_div(a, b)

    def _duckdb_div(self, a: exp.Expression, b: exp.Expression) -> exp.Expression:
        """a / b rounded half away from zero to SCALE places, in 128-bit integers."""
        big = exp.DataType.build("HUGEINT", dialect="duckdb")
        scale = exp.Literal.number(_TEN_POW)
        two = exp.Literal.number(2)

        def p(e: exp.Expression) -> exp.Expression:  # generated trees are not re-parenthesised
            return exp.Paren(this=e)

        ai = exp.cast(p(exp.Mul(this=a, expression=scale)), big)
        bi = exp.cast(p(exp.Mul(this=b, expression=scale)), big)
        num = p(exp.Mul(this=ai, expression=exp.cast(scale, big)))
        quotient = exp.IntDiv(
            this=p(exp.Add(this=exp.Mul(this=exp.Abs(this=num), expression=two), expression=exp.Abs(this=bi))),
            expression=p(exp.Mul(this=exp.Abs(this=bi), expression=two)),
        )
        signed = exp.Mul(this=exp.Mul(this=exp.Sign(this=num), expression=exp.Sign(this=bi)), expression=p(quotient))
        result = exp.Mul(
            this=exp.cast(p(signed), exp.DataType.build("DECIMAL(38, 0)")),
            expression=exp.cast(
                exp.Literal.string("0." + "0" * (SCALE - 1) + "1"), exp.DataType.build(f"DECIMAL(38, {SCALE})")
            ),
        )
        return exp.Case(
            ifs=[exp.If(this=exp.EQ(this=b, expression=exp.Literal.number(0)), true=exp.null())], default=result
        )

    def round(self, e: exp.Expression, places: int) -> exp.Expression:
        if self.name == "sqlite":
            return exp.Anonymous(this="ms_round", expressions=[e, exp.Literal.number(places)])
        return exp.Round(this=e, decimals=exp.Literal.number(places))

    def compare(self, op: str, a: exp.Expression, b: exp.Expression, numeric: bool) -> exp.Expression:
        """A three-valued comparison (NULL when either side is NULL)."""
        if numeric and self.name == "sqlite":
            a, b = exp.Anonymous(this="ms_cmp", expressions=[a, b]), exp.Literal.number(0)
        cls: type[exp.Binary] = {"eq": exp.EQ, "ne": exp.NEQ, "gt": exp.GT, "ge": exp.GTE, "lt": exp.LT, "le": exp.LTE}[
            op
        ]
        return cast(exp.Expression, cls(this=a, expression=b))

    def boolean(self, value: bool) -> exp.Expression:
        return exp.true() if value else exp.false()


DIALECTS = {name: Dialect(name) for name in ("duckdb", "sqlite", "postgres")}
