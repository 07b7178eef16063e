"""The JSON Schema of a whole policy file, generated from the key tables the loader checks against
(rules/keys.py), so the published schema and the loader cannot drift apart.

`python -m mianshen.rules.schema` prints it; docs/policy-schema.json is that output, and
tests/test_policy_schema.py fails when the published file is not current. The schema describes
keys and value shapes (editors use it for completion and for flagging unknown keys); the loader's
own checks (field types, intervals, dates, the field catalogue) go further.
"""

from __future__ import annotations

import json

from mianshen.catalogue import Catalogue, load_catalogue
from mianshen.rules.keys import SECTIONS, Schema, Section


def _object(section: Section) -> Schema:
    out: Schema = {
        "type": "object",
        "description": section.where,
        "properties": {name: key.schema | {"description": key.text} for name, key in section.keys.items()},
        "additionalProperties": False,
    }
    if section.required:
        out["required"] = list(section.required)
    if section.conflicts:
        out["allOf"] = [{"not": {"required": [a, b]}} for a, b in section.conflicts]
    return out


def policy_schema(catalogue: Catalogue | None = None) -> Schema:
    """The schema; a test's `profile` may name the fields of the catalogue only."""
    defs = {name: _object(section) for name, section in SECTIONS.items() if name != "policy"}
    fields = sorted((catalogue or load_catalogue()).fields)
    defs["test"]["properties"]["profile"]["propertyNames"] = {"enum": fields}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "免申即享政策文件（mianshen/policies/*.yaml）",
        **_object(SECTIONS["policy"]),
        "$defs": defs,
    }


def schema_text(catalogue: Catalogue | None = None) -> str:
    return json.dumps(policy_schema(catalogue), ensure_ascii=False, indent=2) + "\n"


def main() -> None:
    print(schema_text(), end="")


if __name__ == "__main__":
    main()
