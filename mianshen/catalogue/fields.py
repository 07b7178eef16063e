"""The field catalogue: name, Chinese label, type, unit, source department, refresh cycle."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml


class FieldType(StrEnum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"
    RATIO = "ratio"
    DATE = "date"
    BOOLEAN = "boolean"
    CODE = "code"
    TAGS = "tags"
    TEXT = "text"

    @property
    def numeric(self) -> bool:
        return self in NUMERIC_TYPES

    @property
    def label(self) -> str:
        return _TYPE_LABELS[self]


NUMERIC_TYPES = frozenset({FieldType.INTEGER, FieldType.DECIMAL, FieldType.MONEY, FieldType.RATIO})
_TYPE_LABELS = {
    FieldType.INTEGER: "整数",
    FieldType.DECIMAL: "小数",
    FieldType.MONEY: "金额",
    FieldType.RATIO: "比例",
    FieldType.DATE: "日期",
    FieldType.BOOLEAN: "是/否",
    FieldType.CODE: "代码",
    FieldType.TAGS: "标签集合",
    FieldType.TEXT: "文本",
}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: FieldType
    unit: str = ""
    source: str = ""
    refresh: str = ""
    basis: str = ""
    hierarchy: str | None = None  # "industry" or "region" for hierarchical codes
    values: tuple[str, ...] = field(default_factory=tuple)  # allowed codes or tags, if closed
    version: int | None = None  # a declared field's version (None: shipped in fields.yaml)


class Catalogue:
    def __init__(self, fields: dict[str, Field]) -> None:
        self.fields = fields

    def get(self, name: str) -> Field | None:
        return self.fields.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self.fields

    def suggest(self, name: str, extra: list[str] | None = None) -> str:
        """'是否想写 "employees"（从业人员）？' for a misspelt or Chinese-labelled name."""
        names = list(self.fields) + (extra or [])
        by_label = {f.label: f.name for f in self.fields.values()}
        if name in by_label:
            return f'是否想写 "{by_label[name]}"（{name}）？'
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        if not close:
            return "用 `mianshen fields` 查看可用字段"
        known = self.fields.get(close[0])
        label = f"（{known.label}）" if known else ""
        return f'是否想写 "{close[0]}"{label}？'


def field_from_spec(name: str, spec: dict[str, Any]) -> Field:
    """A field from its entry in the catalogue's format — fields.yaml and declared fields alike."""
    return Field(
        name=name,
        label=spec["label"],
        type=FieldType(spec["type"]),
        unit=spec.get("unit", ""),
        source=spec.get("source", ""),
        refresh=spec.get("refresh", ""),
        basis=spec.get("basis", ""),
        hierarchy=spec.get("hierarchy"),
        values=tuple(str(v) for v in spec.get("values", ())),
        version=spec.get("version"),
    )


@lru_cache(maxsize=1)
def built_in() -> dict[str, Field]:
    text = (resources.files("mianshen.catalogue") / "fields.yaml").read_text(encoding="utf-8")
    return {name: field_from_spec(name, spec) for name, spec in yaml.safe_load(text)["fields"].items()}


_declared: dict[str, Field] = {}  # the store's declared fields (store/fields.py installs them)


def use_declared(fields: dict[str, Field]) -> None:
    """The fields departments declared, as the store holds them: part of the catalogue from now on."""
    global _declared
    if fields != _declared:
        _declared = dict(fields)
        load_catalogue.cache_clear()


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """The catalogue every part of the platform reads: fields.yaml and the declared fields."""
    return Catalogue(built_in() | {k: v for k, v in _declared.items() if k not in built_in()})
