"""One enterprise's input to the evaluator: typed values with their source and as-of date."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mianshen.catalogue import Catalogue, load_catalogue
from mianshen.errors import InputError, os_reason
from mianshen.rules.values import Value, ValueError_, coerce, parse_date


@dataclass
class Profile:
    id: str
    values: dict[str, Value | None]
    sources: dict[str, str] = field(default_factory=dict)
    as_of: dict[str, dt.date] = field(default_factory=dict)


def profile_from_mapping(data: Mapping[str, Any], catalogue: Catalogue | None = None, where: str = "档案") -> Profile:
    """Read `{"uscc": …, "fields": {name: value | {value, source, as_of}}}` or a flat mapping."""
    catalogue = catalogue or load_catalogue()
    if not isinstance(data, Mapping):
        raise InputError("企业档案应为 JSON 对象", where)
    body = data.get("fields", data)
    if not isinstance(body, Mapping):
        raise InputError("fields 应为对象：字段名 → 值", where)
    values: dict[str, Value | None] = {}
    sources: dict[str, str] = {}
    as_of: dict[str, dt.date] = {}
    for name, raw in body.items():
        if name in ("uscc", "name", "id") and body is data:
            continue
        spec = catalogue.get(name)
        if spec is None:
            raise InputError(f"未知字段 “{name}”。{catalogue.suggest(name)}", where)
        if isinstance(raw, Mapping):
            if "source" in raw:
                sources[name] = str(raw["source"])
            if raw.get("as_of") is not None:
                try:
                    as_of[name] = parse_date(raw["as_of"])
                except ValueError_ as exc:
                    raise InputError(f"字段 {name} 的 as_of：{exc}", where) from exc
            raw = raw.get("value")
        try:
            values[name] = None if raw is None else coerce(spec, raw)
        except ValueError_ as exc:
            raise InputError(f"字段 {name}：{exc}", where) from exc
    ident = str(data.get("uscc") or data.get("id") or data.get("name") or "")
    return Profile(ident, values, sources, as_of)


def load_profile(path: str | Path, catalogue: Catalogue | None = None) -> Profile:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"无法读取档案文件：{os_reason(exc)}", str(path)) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"档案不是有效的 JSON：{exc}", str(path)) from exc
    return profile_from_mapping(data, catalogue, str(path))
