"""Reading YAML with the line and column of every value, for errors that point at the text.

ruamel.yaml keeps positions on its round-trip containers. Dates and floats are kept as their
source text (`DateText`, `NumberText`) so that a bad date gets an error at its place and a number
such as 0.055 is read exactly, never through a binary float.
"""

from __future__ import annotations

import re
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from mianshen.errors import Diagnostic, Location


class DateText(str):
    """A scalar YAML would have read as a timestamp."""


class NumberText(str):
    """A scalar YAML would have read as a float."""


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    constructor = yaml.constructor

    def as_date(loader: Any, node: Any) -> DateText:
        return DateText(loader.construct_scalar(node))

    def as_number(loader: Any, node: Any) -> NumberText:
        return NumberText(loader.construct_scalar(node))

    constructor.add_constructor("tag:yaml.org,2002:timestamp", as_date)
    constructor.add_constructor("tag:yaml.org,2002:float", as_number)
    return yaml


def load_yaml(text: str, path: str) -> tuple[Any, list[Diagnostic]]:
    """The document, or None with a located diagnostic when the YAML itself is malformed."""
    try:
        return _yaml().load(text), []
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
        problem = exc.problem or exc.context or "YAML 语法错误"
        return None, [Diagnostic(loc, f"YAML 语法错误：{problem}", "检查缩进、冒号和括号是否成对")]
    except Exception as exc:  # ruamel raises plain errors for some malformed scalars
        return None, [Diagnostic(Location(path), f"YAML 无法读取：{exc}")]


class _Trusted(getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's C parser with YAML 1.2's core schema (as ruamel reads it) and the same exact
    scalars: `yes`, `on`, `0755` and `1:30` stay what YAML 1.2 makes of them, dates and floats text."""


_Trusted.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    (
        "timestamp",
        r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?"
        r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)?)$",
        "0123456789",
    ),
):
    _Trusted.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first))
_Trusted.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: DateText(loader.construct_scalar(node)))
_Trusted.add_constructor(  # YAML 1.2: a leading zero is decimal, not octal
    "tag:yaml.org,2002:int", lambda loader, node: int(loader.construct_scalar(node), 0 if "x" in node.value else 10)
)
_Trusted.add_constructor("tag:yaml.org,2002:float", lambda loader, node: NumberText(loader.construct_scalar(node)))


def load_trusted(text: str) -> Any:
    """A document that has passed the checker before (a published version), read twenty times
    faster than with positions: errors are not expected, and a place would never be shown.
    tests/test_policy_texts.py checks it reads every policy exactly as `load_yaml` does."""
    return pyyaml.load(text, Loader=_Trusted)  # noqa: S506  (a safe loader: no Python objects)


def value_location(path: str, container: Any, key: Any) -> Location:
    """Where the value of `container[key]` starts (falls back to the container's own place)."""
    try:
        if isinstance(container, CommentedMap):
            line, col = container.lc.value(key)
            return Location(path, line + 1, col + 1)
        if isinstance(container, CommentedSeq):
            line, col = container.lc.item(key)
            return Location(path, line + 1, col + 1)
    except (KeyError, IndexError, TypeError, AttributeError):
        pass
    return node_location(path, container)


def key_location(path: str, container: Any, key: Any) -> Location:
    try:
        if isinstance(container, CommentedMap):
            line, col = container.lc.key(key)
            return Location(path, line + 1, col + 1)
    except (KeyError, TypeError, AttributeError):
        pass
    return value_location(path, container, key)


def node_location(path: str, node: Any) -> Location:
    lc = getattr(node, "lc", None)
    if lc is not None and lc.line is not None:
        return Location(path, lc.line + 1, lc.col + 1)
    return Location(path)
