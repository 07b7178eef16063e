"""The published JSON Schema (docs/policy-schema.json) is generated from the loader's key tables and
is current, and it describes every key of the shipped policies (and no unknown one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mianshen.rules.keys import SECTIONS
from mianshen.rules.loader import SHIPPED
from mianshen.rules.schema import policy_schema, schema_text

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = ROOT / "docs" / "policy-schema.json"


def test_the_published_schema_is_current() -> None:
    assert PUBLISHED.read_text(encoding="utf-8") == schema_text(), (
        "docs/policy-schema.json is out of date: python -m mianshen.rules.schema > docs/policy-schema.json"
    )


def _unknown_keys(value: Any, schema: dict[str, Any], defs: dict[str, Any], path: str) -> list[str]:
    """Keys of `value` the schema does not allow (keys only: the loader checks the values)."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:  # the branches that describe a mapping, for a mapping
        branches = [defs[s["$ref"].rsplit("/", 1)[1]] if "$ref" in s else s for s in schema["anyOf"]]
        objects = [s for s in branches if s.get("type") == "object"]
        if not isinstance(value, dict) or not objects:
            return []
        return min((_unknown_keys(value, s, defs, path) for s in objects), key=len)
    if isinstance(value, dict) and schema.get("type") == "object":
        out = []
        props = schema.get("properties", {})
        for key, item in value.items():
            if key in props:
                out += _unknown_keys(item, props[key], defs, f"{path}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                out += _unknown_keys(item, schema["additionalProperties"], defs, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                out.append(f"{path}.{key}")
            names = schema.get("propertyNames", {}).get("enum")
            if names is not None and key not in names:
                out.append(f"{path}.{key}")
        return out
    if isinstance(value, list) and "items" in schema:
        return [k for i, item in enumerate(value) for k in _unknown_keys(item, schema["items"], defs, f"{path}[{i}]")]
    return []


@pytest.mark.parametrize("path", sorted((SHIPPED).glob("*.yaml")), ids=lambda p: p.stem)
def test_the_schema_describes_every_key_of_a_shipped_policy(path: Path) -> None:
    schema = policy_schema()
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert _unknown_keys(doc, schema, schema["$defs"], "") == []
    doc["amount"]["caps"] = 1
    assert _unknown_keys(doc, schema, schema["$defs"], "") == [".amount.caps"]


def test_every_section_is_reachable_from_the_top() -> None:
    text = schema_text()
    for name in SECTIONS:
        assert name == "policy" or f'"#/$defs/{name}"' in text, name
