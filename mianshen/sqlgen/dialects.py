"""What differs between engines, as data and small functions (cf. SQLGlot's per-target generators).

Exact decimals: DuckDB uses DECIMAL(38,10) and integer arithmetic for division (its decimal
division returns a DOUBLE); PostgreSQL uses NUMERIC; SQLite has no decimal type, so decimals are
stored as text and computed by deterministic Python functions registered on the connection
(see engines.py); Spark needs its own arithmetic (SparkDialect). Every step rounds half away from
zero to 10 places, as the Python evaluator does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from sqlglot import exp

from mianshen.catalogue import FieldType
from mianshen.numbers import SCALE

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

    # --- dates (rules/dates.py defines them; SQLite calls it, registered in engines.py) ----------
    def shift(self, day: exp.Expression, unit: str, amount: int) -> exp.Expression:
        """`day` moved by whole units, a missing month end clamped to the month's last day."""
        if self.name == "sqlite":
            return exp.Anonymous(this="ms_shift", expressions=[day, exp.Literal.string(unit), _int(amount)])
        months = amount * 12 if unit == "years" else amount
        if self.name == "spark":
            fn = "DATE_ADD" if unit == "days" else "ADD_MONTHS"
            return exp.Anonymous(this=fn, expressions=[day, _int(amount if unit == "days" else months)])
        count, word = (amount, "DAY") if unit == "days" else (months, "MONTH")
        step = exp.Interval(this=exp.Literal.string(str(count)), unit=exp.var(word))
        return exp.cast(exp.Paren(this=exp.Add(this=day, expression=step)), exp.DataType.build("DATE"))

    def between(self, fn: str, a: exp.Expression, b: exp.Expression) -> exp.Expression:
        """Whole days, months or years from date a to date b (negative when b is earlier); NULL when either is."""
        if self.name == "sqlite":
            return exp.Anonymous(this="ms_between", expressions=[exp.Literal.string(fn), a, b])
        if fn == "days_between":
            if self.name == "postgres":
                return exp.Paren(this=exp.Sub(this=b, expression=a))
            if self.name == "spark":
                return exp.Anonymous(this="DATEDIFF", expressions=[b, a])
            return exp.DateDiff(this=b, expression=a, unit=exp.var("DAY"))
        forward, backward = self._months(a, b), self._months(b, a)
        if fn == "years_between":
            twelve = exp.Literal.number(12)
            forward, backward = (exp.IntDiv(this=exp.Paren(this=m), expression=twelve) for m in (forward, backward))
        later = exp.GTE(this=b.copy(), expression=a.copy())
        value = exp.Case(ifs=[exp.If(this=later, true=forward)], default=exp.Neg(this=exp.Paren(this=backward)))
        return exp.cast(value, exp.DataType.build("BIGINT"))

    def _months(self, a: exp.Expression, b: exp.Expression) -> exp.Expression:
        """Whole months from a to b ≥ a: the month difference, less one when a's day (clamped to b's
        month end) is after b's day."""
        y, m, d = (self._part(cls, e) for cls, e in ((exp.Year, b), (exp.Month, b), (exp.Day, b)))
        ya, ma, da = (self._part(cls, e) for cls, e in ((exp.Year, a), (exp.Month, a), (exp.Day, a)))
        month_end = self._part(exp.Day, exp.LastDay(this=b.copy()))
        span = exp.Sub(
            this=exp.Add(
                this=exp.Mul(this=exp.Paren(this=exp.Sub(this=y, expression=ya)), expression=_int(12)), expression=m
            ),
            expression=ma,
        )
        short = exp.and_(exp.GT(this=da, expression=d), exp.GT(this=month_end, expression=d.copy()))
        return exp.Sub(this=span, expression=exp.Case(ifs=[exp.If(this=short, true=_int(1))], default=_int(0)))

    def _part(self, cls: type[exp.Func], e: exp.Expression) -> exp.Expression:
        part = cast(exp.Expression, cls(this=e.copy()))
        return exp.cast(part, exp.DataType.build("INTEGER")) if self.name == "postgres" else part


@dataclass(frozen=True)
class SparkDialect(Dialect):
    """Apache Spark SQL (ANSI mode, `spark.sql.decimalOperations.allowPrecisionLoss=true`, the default).

    Spark sizes decimal results by rules that drop fraction digits once a result would need more than
    38 digits: DECIMAL(38,10) + DECIMAL(38,10) is DECIMAL(38,9), a product DECIMAL(38,6), a quotient
    DECIMAL(38,6) — each rounded silently. So sums use DECIMAL(37,10) operands (exactly DECIMAL(38,10)),
    and products and quotients call the SQL functions `ms_mul` / `ms_div` (`spark_functions()`, to be
    registered on the session, as engines.py registers SQLite's), which compute on integers scaled by
    10^10. Functions rather than inline expressions: a function argument is evaluated once, while the
    inline formulas repeat their operands, so nested arithmetic grew exponentially (29 KB of SQL for
    one policy, and a minute in Spark's parser).
    """

    def column_type(self, kind: FieldType) -> str:
        return "STRING" if super().column_type(kind) == "TEXT" else super().column_type(kind)

    def arith(self, op: str, a: exp.Expression, b: exp.Expression) -> exp.Expression:
        a, b = self._dec(a), self._dec(b)
        if op in ("+", "-"):
            # DECIMAL(37,10) ± DECIMAL(37,10) is exactly DECIMAL(38,10): no digit is dropped
            cls = exp.Add if op == "+" else exp.Sub
            return exp.Paren(this=cls(this=_cast(a, 37, SCALE), expression=_cast(b, 37, SCALE)))
        return exp.Anonymous(this="ms_mul" if op == "*" else "ms_div", expressions=[a, b])


def spark_functions() -> tuple[str, ...]:
    """`CREATE TEMPORARY FUNCTION` statements for the exact products and quotients the Spark SQL calls.

    Both work on integers scaled by 10^10, each step typed so that Spark drops no digit:
    - a·10^10 as DECIMAL(38,0): the product is DECIMAL(38,6) and integral, so the cast is exact;
    - ms_mul: round(a·10^10 · b·10^10 / 10^10), ms_div: round(a·10^10 · 10^10 / b·10^10), where
      round(n/d) (half away from zero, integers) = floor((2|n| + |d|) / (2|d|)), found as
      (m - m % d') / d' — `%` is exact, and a multiple of d' divided by d' is an integer, which the
      DECIMAL(38,6) quotient holds without rounding; NULL when d is 0 (NULLIF keeps `%` and `/` from
      raising in ANSI mode);
    - the scaled result back to a decimal: DECIMAL(28,0) / DECIMAL(11,0) is typed DECIMAL(38,10),
      where dividing by 10^10 is exact.
    One function level, no calls between functions: Spark resolves a SQL function call by analysing
    its body again, which made nested helper functions slow to plan.
    Limits: operands, products and quotients below 5·10^17 in magnitude (beyond, the query fails with
    an overflow error instead of returning a wrong number) — well above the 10^15 bound on profile
    values.
    """
    a, b = exp.column("a"), exp.column("b")
    product = exp.Mul(this=_scaled(a), expression=_scaled(b))
    quotient = _rounded_quotient(exp.Paren(this=exp.Mul(this=_scaled(a), expression=_ten_pow())), _scaled(b))
    dec = f"DECIMAL(38, {SCALE})"
    bodies = (("ms_mul", _rounded_quotient(exp.Paren(this=product), _ten_pow())), ("ms_div", quotient))
    return tuple(
        f"CREATE OR REPLACE TEMPORARY FUNCTION {name}(a {dec}, b {dec}) RETURNS {dec} "
        f"RETURN {exp.Div(this=_cast(body, 28, 0), expression=_ten_pow()).sql(dialect='spark')}"
        for name, body in bodies
    )


def _scaled(e: exp.Expression) -> exp.Expression:
    return _cast(exp.Paren(this=exp.Mul(this=e, expression=_ten_pow())), 38, 0)


def _rounded_quotient(n: exp.Expression, d: exp.Expression) -> exp.Expression:
    two, zero = exp.Literal.number(2), exp.Literal.number(0)
    m = exp.Paren(this=exp.Add(this=exp.Mul(this=exp.Abs(this=n), expression=two), expression=exp.Abs(this=d)))
    d2 = exp.Nullif(this=exp.Mul(this=exp.Abs(this=d), expression=two), expression=zero)
    floor = exp.Div(this=exp.Paren(this=exp.Sub(this=m, expression=exp.Mod(this=m, expression=d2))), expression=d2)
    negative = exp.NEQ(
        this=exp.Paren(this=exp.LT(this=n, expression=zero)), expression=exp.Paren(this=exp.LT(this=d, expression=zero))
    )
    sign = exp.Case(ifs=[exp.If(this=negative, true=exp.Literal.number(-1))], default=exp.Literal.number(1))
    return exp.Mul(this=exp.Paren(this=floor), expression=sign)


def _cast(e: exp.Expression, precision: int, scale: int) -> exp.Expression:
    # exp.Cast, not exp.cast: the helper keeps an existing DECIMAL cast whatever its precision
    return exp.Cast(this=e, to=exp.DataType.build(f"DECIMAL({precision}, {scale})"))


def _int(value: int) -> exp.Expression:
    return exp.Literal.number(value) if value >= 0 else exp.Neg(this=exp.Literal.number(-value))


def _ten_pow() -> exp.Expression:
    return _cast(exp.Literal.string(str(_TEN_POW)), SCALE + 1, 0)


DIALECTS: dict[str, Dialect] = {name: Dialect(name) for name in ("duckdb", "sqlite", "postgres")}
DIALECTS["spark"] = SparkDialect("spark")
