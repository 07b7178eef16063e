"""What the loader knows while it reads one policy file: names in scope and problems found."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mianshen.catalogue import Catalogue, Field, FieldType
from mianshen.errors import Diagnostic, Location
from mianshen.rules.ast import RESERVED_IDS
from mianshen.rules.yamlsource import key_location, value_location

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")  # parameters and derived fields


@dataclass
class ParseContext:
    path: str
    catalogue: Catalogue
    diagnostics: list[Diagnostic] = field(default_factory=list)
    derived_fields: dict[str, Field] = field(default_factory=dict)
    param_types: dict[str, FieldType] = field(default_factory=dict)
    condition_ids: set[str] = field(default_factory=set)
    strict: bool = True  # False for a text published before (rules/loader.py `trusted`): its keys were checked then

    def error(self, loc: Location, message: str, hint: str = "") -> None:
        self.diagnostics.append(Diagnostic(loc, message, hint))

    def warn(self, loc: Location, message: str, hint: str = "") -> None:
        self.diagnostics.append(Diagnostic(loc, message, hint, severity="warning"))

    def at(self, container: Any, key: Any) -> Location:
        return value_location(self.path, container, key)

    def at_key(self, container: Any, key: Any) -> Location:
        return key_location(self.path, container, key)

    def field(self, name: str) -> Field | None:
        # a derived field may be written with hyphens (its id) or underscores (as in formulas)
        return self.derived_fields.get(name.replace("-", "_")) or self.catalogue.get(name)

    def suggest_field(self, name: str) -> str:
        return self.catalogue.suggest(name, list(self.derived_fields))

    def check_id(self, raw: object, loc: Location, what: str = "条件") -> str | None:
        pattern = ID_PATTERN if what in ("条件", "政策") else NAME_PATTERN
        if not isinstance(raw, str) or not pattern.match(raw):
            allowed = "小写英文字母、数字和连字符（-）" + ("" if pattern is ID_PATTERN else "、下划线（_）")
            self.error(
                loc,
                f"{what} id {raw!r} 不合规",
                f"id 只能用{allowed}，以字母{'或数字' if pattern is ID_PATTERN else ''}开头，最长 64 个字符",
            )
            return None
        if what == "条件":
            if raw in RESERVED_IDS:
                self.error(loc, f"条件 id “{raw}”是保留字", f"保留的 id：{'、'.join(RESERVED_IDS)}")
                return None
            if raw in self.condition_ids:
                self.error(loc, f"条件 id “{raw}”重复", "同一政策内每个条件的 id 必须唯一")
                return None
            self.condition_ids.add(raw)
        return raw

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)
