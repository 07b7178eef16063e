"""The typed syntax tree of a policy: one tree, two backends (Python evaluator, SQL compiler)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mianshen.catalogue import FieldType
from mianshen.errors import Location

Scalar = Decimal | int | bool | str | dt.date

COMPARE_OPS = ("eq", "ne", "gt", "ge", "lt", "le")
SET_OPS = ("in", "not_in")
CODE_OPS = ("within", "not_within")
TAG_OPS = ("has", "has_any", "has_all", "lacks")
LEAF_OPS = COMPARE_OPS + SET_OPS + CODE_OPS + TAG_OPS
RESERVED_IDS = ("in-force", "subject", "listed", "amount", "region-scope", "region-except")
PLANS = "_evaluation_plans"  # the __dict__ key under which rules/plan.py keeps a policy's plans


# --- bounds: what a condition compares against -------------------------------------------------
@dataclass(frozen=True)
class Literal:
    value: Scalar


@dataclass(frozen=True)
class ParamRef:
    name: str


@dataclass(frozen=True)
class RelativeDate:
    """A date relative to the evaluation date: `amount` units before it (0 = the date itself)."""

    unit: str  # "years" | "months" | "days"
    amount: int


@dataclass(frozen=True)
class FieldRef:
    """Another field of the same enterprise (a date one shifted by `amount` units, negative: earlier):
    `le: {field: established_on, years_after: 3}` — not later than 3 years after the founding date."""

    name: str
    unit: str = "days"  # "years" | "months" | "days"
    amount: int = 0


Bound = Literal | ParamRef | RelativeDate | FieldRef


# --- formulas -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Num:
    value: Decimal


@dataclass(frozen=True)
class Ref:
    name: str  # a field, a derived field or a parameter


@dataclass(frozen=True)
class BinOp:
    op: str  # "+", "-", "*", "/"
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Call:
    fn: str  # "min" | "max" | "floor" | a date function of rules/dates.py (its arguments: Refs to dates)
    args: tuple[Expr, ...]


Expr = Num | Ref | BinOp | Call


# --- conditions ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Test:
    op: str
    operand: Bound | tuple[str, ...]  # tuple for set, code and tag operations


@dataclass(frozen=True)
class Leaf:
    id: str
    label: str
    field: str
    tests: tuple[Test, ...]  # one test, or two comparison tests forming an interval
    loc: Location
    basis: str = ""


@dataclass(frozen=True)
class Group:
    id: str
    label: str
    kind: str  # "all" | "any" | "not"
    children: tuple[Condition, ...]
    loc: Location
    basis: str = ""


@dataclass(frozen=True)
class Implicit:
    """A condition every policy carries: in force on the date, subject type, on the list."""

    id: str
    label: str
    loc: Location


Condition = Leaf | Group | Implicit


# --- parameters, derived fields, amount ---------------------------------------------------------
@dataclass(frozen=True)
class ParamValue:
    start: dt.date
    value: Decimal
    basis: str


@dataclass(frozen=True)
class Parameter:
    name: str
    label: str
    type: FieldType
    values: tuple[ParamValue, ...]  # sorted by start
    loc: Location
    regions: tuple[str, ...] = ()  # areas with values of their own (rules/regional.py), each a parameter


@dataclass(frozen=True)
class Derived:
    name: str
    label: str
    type: FieldType
    formula: Expr
    source: str
    loc: Location


@dataclass(frozen=True)
class Tier:
    when: Condition | None  # None: the `else` tier
    formula: Expr
    source: str
    label: str
    loc: Location | None = None


@dataclass(frozen=True)
class Amount:
    label: str
    tiers: tuple[Tier, ...]
    cap: Bound | None
    floor: Bound | None
    round_places: int  # 2 (fen) or 0 (yuan)
    loc: Location
    none: bool = False  # `amount: none`: the benefit pays no money (a single tier of 0)


@dataclass(frozen=True)
class PolicyTest:
    name: str
    as_of: dt.date
    profile: dict[str, Any]
    status: str
    amount: Decimal | None
    failed: frozenset[str] | None
    unknown: frozenset[str] | None
    loc: Location


@dataclass
class Policy:
    id: str
    version: int
    title: str
    department: str
    kind: str  # 条件类 | 名单类 | 暂难数据化类
    level: str
    region: str
    legal_basis: list[dict[str, str]]
    valid_from: dt.date
    valid_to: dt.date | None
    subjects: tuple[str, ...]
    budget: Decimal | None
    publicity_days: int
    objection_days: int
    confirm_days: int
    commitment: str
    parameters: dict[str, Parameter]
    derived: dict[str, Derived]
    conditions: tuple[Condition, ...]  # the top-level "all", implicit conditions first
    amount: Amount
    guide: dict[str, object]
    tests: list[PolicyTest]
    path: str
    loc: Location
    raw: dict[str, object] = field(default_factory=dict, repr=False)
    regions: tuple[str, ...] = ()  # the area: its regions (rules/scope.py); empty: `region` alone
    excluded: tuple[str, ...] = ()  # regions of the area the policy does not apply to
    exclusivity: Any = None  # rules/exclusive.Exclusivity: 同一事项不重复享受, 就高
    period: Any = None  # rules/periods.BenefitPeriod: once / monthly / quarterly / yearly, max, top-ups
    unverified: str | None = None  # 待核实: what of the text could not be obtained or checked

    @property
    def doc_numbers(self) -> list[str]:
        return [b.get("doc", "") for b in self.legal_basis]

    def __getstate__(self) -> dict[str, object]:
        # evaluation plans (rules/plan.py) are a cache kept with the policy: rebuilt, never copied
        return {k: v for k, v in self.__dict__.items() if k != PLANS}


def leaf_fields(leaf: Leaf) -> list[str]:
    """The fields a condition reads: its own, then those it is compared with."""
    return [leaf.field] + [t.operand.name for t in leaf.tests if isinstance(t.operand, FieldRef)]


def spine(conditions: tuple[Condition, ...]) -> list[Condition]:
    """The conjuncts: top-level conditions with nested `all` groups expanded (not through any/not).

    These are the conditions reported as failed or unknown for a policy.
    """
    out: list[Condition] = []
    for cond in conditions:
        if isinstance(cond, Group) and cond.kind == "all":
            out.extend(spine(cond.children))
        else:
            out.append(cond)
    return out
