"""The result of evaluating one policy for one enterprise, and its trace tree (for explanations).

Deciding needs only each condition's result; a trace's sentence and bounds and the amount's
working may be filled in on first read (`pending`), from the values the decision used. Once read
they are stored like any other field, so equality, `repr`, `as_dict` and pickling see exactly what
eager construction would have built.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

STATUS_LABELS = {"eligible": "符合", "ineligible": "不符合", "unknown": "待补充数据"}
RESULT_LABELS = {True: "满足", False: "不满足", None: "未知"}
PENDING = "_pending"  # __dict__ key of (render, *args): render(*args) gives the missing fields
T = TypeVar("T")


def pending(cls: type[T], fields: dict[str, Any], render: Callable[..., dict[str, Any]], *args: Any) -> T:
    """An instance of the dataclass `cls` with `fields` now and the others from `render(*args)` later.

    Only fields without a class-level default may be left to `render`: a default is found on the
    class before `__getattr__` is consulted. `args` must be values, not a profile that could
    change before the fields are read.
    """
    obj = object.__new__(cls)
    fields[PENDING] = (render, *args)
    obj.__dict__ = fields
    return obj


class _Pending:
    """Completes a `pending` instance on the first read of a field it lacks."""

    if not TYPE_CHECKING:  # keep attribute checking strict for mypy

        def __getattr__(self, name: str) -> Any:
            state = self.__dict__
            if PENDING in state:
                self._complete()
                if name in state:
                    return state[name]
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _complete(self) -> None:
        state = self.__dict__
        todo = state.get(PENDING)
        if todo is not None:
            state.update(todo[0](*todo[1:]))
            state.pop(PENDING, None)  # a concurrent reader may have completed it too

    def __getstate__(self) -> dict[str, Any]:
        self._complete()
        return dict(self.__dict__)


def _none() -> None:
    return None


@dataclass
class Actual:
    """A value used in a decision, with where it came from and as of when."""

    value: Any
    source: str = ""
    as_of: dt.date | None = None


@dataclass
class BoundInfo:
    op: str
    value: Any
    text: str  # the bound as shown: "300人", "5.5%（参数 裁员率上限，自 2022-01-01 起，豫人社规〔2022〕5号）"
    param: str | None = None
    param_from: dt.date | None = None
    basis: str = ""


@dataclass
class Trace(_Pending):
    id: str
    label: str
    kind: str  # leaf | all | any | not | implicit
    result: bool | None
    text: str
    field: str | None = None
    field_label: str | None = None
    bounds: list[BoundInfo] = dc_field(default_factory=list)
    # defaults by factory, not class attributes, so that `pending` can leave these two for later
    actual: Actual | None = dc_field(default_factory=_none)
    distance: Decimal | int | None = dc_field(default_factory=_none)
    basis: str = ""
    children: list[Trace] = dc_field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "kind": self.kind,
            "result": {True: "satisfied", False: "not_satisfied", None: "unknown"}[self.result],
            "text": self.text,
            "field": self.field,
            "field_label": self.field_label,
            "bounds": [
                {
                    "op": b.op,
                    "value": _json(b.value),
                    "text": b.text,
                    "param": b.param,
                    "param_from": _json(b.param_from),
                    "basis": b.basis,
                }
                for b in self.bounds
            ],
            "actual": None
            if self.actual is None
            else {"value": _json(self.actual.value), "source": self.actual.source, "as_of": _json(self.actual.as_of)},
            "distance": _json(self.distance),
            "basis": self.basis,
            "children": [c.as_dict() for c in self.children],
        }


@dataclass
class AmountTrace(_Pending):
    value: Decimal | None
    tier: str
    steps: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"value": _json(self.value), "tier": self.tier, "steps": self.steps}


@dataclass
class Result:
    policy_id: str
    version: int
    title: str
    as_of: dt.date
    status: str
    amount: Decimal | None
    failed: list[str]
    unknown: list[str]
    conditions: list[Trace]
    amount_trace: AmountTrace | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy_id,
            "version": self.version,
            "title": self.title,
            "as_of": self.as_of.isoformat(),
            "status": self.status,
            "status_label": STATUS_LABELS[self.status],
            "amount": _json(self.amount),
            "failed": self.failed,
            "unknown": self.unknown,
            "conditions": [c.as_dict() for c in self.conditions],
            "amount_trace": self.amount_trace.as_dict() if self.amount_trace else None,
        }


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return sorted(value)
    return value
