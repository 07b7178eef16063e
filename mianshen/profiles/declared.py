"""Fields declared by a department or the data manager (政策语言 v2 第6项): a field the catalogue lacks
(monthly turnover, R&D ratio, patents …) added as data, without a code change.

A declaration is written in the catalogue's own format (catalogue/fields.yaml):

    fields:
      rd_expense_ratio:
        label: 研发费用占营业收入比例
        type: ratio
        source: 河南省科学技术厅
        refresh: 每年
        basis: 高新技术企业认定管理办法第十一条

Each declared name is versioned: declaring it again with a different label, unit, source … adds a
version (the type cannot change — observations already imported are of that type). The latest
version is part of the catalogue (store/fields.py), so data sources may map columns to it, imports
check its values by type, the profile pivot and snapshot carry it, and policies and their checker
use it like any field.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, func, select

from mianshen.audit.log import Actor, record
from mianshen.catalogue.fields import FieldType, built_in, field_from_spec
from mianshen.clock import now as platform_now
from mianshen.errors import InputError
from mianshen.profiles.sources import RESERVED_COLUMNS
from mianshen.store.fields import install, latest
from mianshen.store.schema import declared_fields

KEYS = {
    "label": "中文标签",
    "type": "类型",
    "unit": "单位",
    "source": "来源部门",
    "refresh": "更新周期（时效）",
    "basis": "口径依据",
    "values": "可取的代码或标签",
}
REQUIRED = ("label", "type", "source", "refresh")
DECLARERS = ("department", "data_manager", "platform_admin", "operator")  # operator: the CLI on the platform's machine
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


def read_declarations(path: str | Path) -> dict[str, dict[str, Any]]:
    """The declared fields of a file, each checked; any problem is an error naming the field and key."""
    where = str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"无法读取字段声明文件：{type(exc).__name__}", where) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"字段声明文件不是有效的 YAML：{str(exc).splitlines()[0]}", where) from exc
    if not isinstance(raw, Mapping) or set(raw) != {"fields"} or not isinstance(raw["fields"], Mapping):
        raise InputError("字段声明文件应只有一个键 fields，其下每个字段一项（名称: {label, type, …}）", where)
    return {str(name): check_spec(str(name), spec, where) for name, spec in raw["fields"].items()}


def check_spec(name: str, spec: Any, where: str) -> dict[str, Any]:
    what = f"字段“{name}”"
    if not _NAME.match(name):
        raise InputError(f"{what}的名称应为小写字母开头的小写字母、数字和下划线（2—64 个字符）", where)
    if name in built_in() or name in RESERVED_COLUMNS:
        raise InputError(f"{what}已是字段目录中的字段，不能再声明", where)
    if not isinstance(spec, Mapping):
        raise InputError(f"{what}应写成映射：label、type、source、refresh 等", where)
    for key in spec:
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), list(KEYS), n=1)
            hint = f'是否想写 "{close[0]}"？' if close else f"可写的键：{'、'.join(KEYS)}"
            raise InputError(f"{what}中有未知的键“{key}”。{hint}", where)
    missing = [f"{k}（{KEYS[k]}）" for k in REQUIRED if not str(spec.get(k, "")).strip()]
    if missing:
        raise InputError(f"{what}缺少 {'、'.join(missing)}", where)
    kinds = [t.value for t in FieldType]
    if spec["type"] not in kinds:
        raise InputError(f"{what}的类型“{spec['type']}”无效，应为 {'、'.join(kinds)} 之一", where)
    values = spec.get("values", [])
    if values and (spec["type"] not in ("code", "tags") or not isinstance(values, list)):
        raise InputError(f"{what}：values 只用于 code、tags 类型，写成列表", where)
    clean = {k: (list(map(str, v)) if k == "values" else str(v)) for k, v in spec.items()}
    field_from_spec(name, clean)  # the same reading as the catalogue's
    return clean


def declare(conn: Connection, fields: Mapping[str, dict[str, Any]], actor: Actor) -> list[tuple[str, int, bool]]:
    """Store the declarations (a version each that changed), audited; returns (name, version, new)."""
    if actor.role not in DECLARERS:
        raise InputError("只有部门工作人员、数据管理员或平台管理员可以声明字段")
    known, out = latest(conn), []
    for name, spec in sorted(fields.items()):
        before = known.get(name)
        if before is not None and before.type.value != spec["type"]:
            raise InputError(
                f"字段“{name}”已按“{before.type.label}”声明，类型不能改为“{FieldType(spec['type']).label}”"
                "（已导入的数据是原类型）；请换一个名称声明新字段"
            )
        if before is not None and field_from_spec(name, {**spec, "version": before.version}) == before:
            out.append((name, int(before.version or 1), False))
            continue
        version = 1 + int(
            conn.execute(select(func.max(declared_fields.c.version)).where(declared_fields.c.name == name)).scalar()
            or 0
        )
        conn.execute(
            declared_fields.insert().values(
                name=name,
                version=version,
                spec=json.dumps(spec, ensure_ascii=False, sort_keys=True),
                declared_by=actor.name,
                declared_at=platform_now(),
            )
        )
        record(conn, actor, "field.declare", "field", f"{name}/v{version}", _shown(before), spec)
        out.append((name, version, True))
    install(conn)
    return out


def _shown(before: Any) -> dict[str, Any] | None:
    if before is None:
        return None
    return {"label": before.label, "type": before.type.value, "unit": before.unit, "source": before.source}
