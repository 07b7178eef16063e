"""Data sources (数据源): who provides which fields, how often, and how fresh they must be."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, select

from mianshen.audit.log import SYSTEM, Actor, record
from mianshen.catalogue import load_catalogue
from mianshen.clock import now as platform_now
from mianshen.errors import InputError
from mianshen.rules.numbers import parse_number
from mianshen.store.schema import data_sources

RESERVED_COLUMNS = ("uscc", "name")


@dataclass(frozen=True)
class ColumnMap:
    column: str  # the column name in the file
    field: str  # a catalogue field, or "uscc" / "name"
    scale: Decimal = Decimal(1)  # 10000 for a column in 万元


@dataclass(frozen=True)
class DataSource:
    id: str
    name: str
    department: str
    refresh: str
    freshness_days: int
    priority: int
    columns: tuple[ColumnMap, ...]
    as_of_column: str | None = None

    @property
    def fields(self) -> list[str]:
        return [c.field for c in self.columns if c.field not in RESERVED_COLUMNS]


def parse_source(spec: Mapping[str, Any], where: str) -> DataSource:
    catalogue = load_catalogue()
    try:
        sid, name, department = str(spec["id"]), str(spec["name"]), str(spec["department"])
        columns_spec = spec["columns"]
    except (KeyError, TypeError) as exc:
        raise InputError(f"数据源定义缺少 {exc}（须有 id、name、department、columns）", where) from exc
    columns = []
    for column, target in dict(columns_spec).items():
        field, scale = (target, Decimal(1)) if isinstance(target, str) else (target.get("field"), None)
        if scale is None:
            unit = str(target.get("unit", "元"))
            scale = parse_number(f"1{unit}") if unit in ("万元", "亿元", "%") else Decimal(1)
        if field not in RESERVED_COLUMNS and field not in catalogue:
            raise InputError(f"列“{column}”映射到未知字段 “{field}”。{catalogue.suggest(str(field))}", where)
        columns.append(ColumnMap(str(column), str(field), scale))
    if not any(c.field == "uscc" for c in columns):
        raise InputError("columns 中须有一列映射到 uscc（统一社会信用代码）", where)
    return DataSource(
        sid,
        name,
        department,
        str(spec.get("refresh", "")),
        int(spec.get("freshness_days", 365)),
        int(spec.get("priority", 100)),
        tuple(columns),
        spec.get("as_of_column"),
    )


def load_source_file(path: str | Path) -> list[DataSource]:
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"无法读取数据源定义：{exc}", str(path)) from exc
    items = doc.get("sources") if isinstance(doc, Mapping) else None
    if not isinstance(items, list):
        raise InputError("数据源定义文件应有 sources: 列表", str(path))
    return [parse_source(item, f"{path} 第{i + 1}个数据源") for i, item in enumerate(items)]


def _to_row(source: DataSource) -> dict[str, Any]:
    columns = [{"column": c.column, "field": c.field, "scale": str(c.scale)} for c in source.columns]
    return {
        "id": source.id,
        "name": source.name,
        "department": source.department,
        "refresh": source.refresh,
        "freshness_days": source.freshness_days,
        "priority": source.priority,
        "mapping": json.dumps({"columns": columns, "as_of_column": source.as_of_column}, ensure_ascii=False),
        "registered_at": platform_now(),
    }


def register_source(conn: Connection, source: DataSource, actor: Actor = SYSTEM) -> None:
    """Insert or update a source definition (re-registering the same id replaces its mapping),
    audited with the definition before and after: a source decides which values the platform
    trusts, so who changed it must be known."""
    row = _to_row(source)
    before = conn.execute(select(data_sources).where(data_sources.c.id == source.id)).mappings().first()
    if before is not None:
        conn.execute(data_sources.update().where(data_sources.c.id == source.id).values(**row))
    else:
        conn.execute(data_sources.insert().values(**row))
    earlier = None if before is None else _audited(_from_row(before))
    record(conn, actor, "data_source.register", "data_source", source.id, earlier, _audited(source))


def _audited(source: DataSource) -> dict[str, Any]:
    """A definition as the audit log keeps it: what it provides, from which columns, how fresh."""
    kept: dict[str, Any] = {"name": source.name, "department": source.department, "refresh": source.refresh}
    kept |= {"freshness_days": source.freshness_days, "priority": source.priority}
    return kept | {
        "fields": [c.field for c in source.columns],
        "columns": [c.column for c in source.columns],
        "as_of_column": source.as_of_column,
    }


def get_source(conn: Connection, source_id: str) -> DataSource:
    row = conn.execute(select(data_sources).where(data_sources.c.id == source_id)).mappings().first()
    if row is None:
        known = [r[0] for r in conn.execute(select(data_sources.c.id))]
        raise InputError(f"未登记的数据源 “{source_id}”；已登记：{'、'.join(known) or '（无）'}")
    return _from_row(row)


def list_sources(conn: Connection) -> list[DataSource]:
    return [_from_row(r) for r in conn.execute(select(data_sources).order_by(data_sources.c.priority)).mappings()]


def _from_row(row: Any) -> DataSource:
    spec = json.loads(row["mapping"])
    columns = tuple(ColumnMap(c["column"], c["field"], Decimal(c["scale"])) for c in spec["columns"])
    return DataSource(
        row["id"],
        row["name"],
        row["department"],
        row["refresh"],
        row["freshness_days"],
        row["priority"],
        columns,
        spec.get("as_of_column"),
    )
