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


KEYS = ("id", "name", "department", "refresh", "freshness_days", "priority", "columns", "as_of_column")
SCALES = {"元": Decimal(1), "万元": Decimal(10000), "亿元": Decimal(100000000), "%": Decimal("0.01")}


def parse_source(spec: Any, where: str) -> DataSource:
    """One definition, every key checked: unknown keys, wrong types and absurd numbers are errors
    naming the key (a hostile or mistyped file never reaches the store)."""
    if not isinstance(spec, Mapping):
        raise InputError("每个数据源应是“键: 值”的映射（id、name、department、columns …）", where)
    unknown = [str(k) for k in spec if k not in KEYS]
    if unknown:
        raise InputError(f"不认识的键：{'、'.join(unknown)}（可用：{'、'.join(KEYS)}）", where)
    missing = [k for k in ("id", "name", "department", "columns") if spec.get(k) in (None, "")]
    if missing:
        raise InputError(f"数据源定义缺少 {'、'.join(missing)}（须有 id、name、department、columns）", where)
    columns_spec = spec["columns"]
    if not isinstance(columns_spec, Mapping) or not columns_spec:
        raise InputError("columns 应是“文件中的列名: 字段”的映射", where)
    columns = [_column(column, target, where) for column, target in columns_spec.items()]
    if not any(c.field == "uscc" for c in columns):
        raise InputError("columns 中须有一列映射到 uscc（统一社会信用代码）", where)
    as_of = spec.get("as_of_column")
    return DataSource(
        _text(spec, "id", where),
        _text(spec, "name", where),
        _text(spec, "department", where),
        _text(spec, "refresh", where) if spec.get("refresh") is not None else "",
        _whole(spec.get("freshness_days", 365), "freshness_days", 1, 36500, where),
        _whole(spec.get("priority", 100), "priority", 0, 10000, where),
        tuple(columns),
        _text(spec, "as_of_column", where) if as_of is not None else None,
    )


def _text(spec: Mapping[str, Any], key: str, where: str) -> str:
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip() or len(str(value)) > 200:
        raise InputError(f"{key} 应是不超过 200 字的文字", where)
    return str(value)


def _whole(value: Any, key: str, low: int, high: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{key} 应是 {low} 到 {high} 之间的整数，现为“{value}”", where)
    return value


def _column(column: Any, target: Any, where: str) -> ColumnMap:
    catalogue = load_catalogue()
    if not isinstance(column, str | int) or isinstance(column, bool) or not str(column).strip():
        raise InputError(f"列名“{column}”应是文字", where)
    unit = "元"
    if isinstance(target, Mapping):
        unknown = [str(k) for k in target if k not in ("field", "unit")]
        if unknown:
            raise InputError(f"列“{column}”：不认识的键 {'、'.join(unknown)}（可用：field、unit）", where)
        field, unit = target.get("field"), target.get("unit", "元")
    else:
        field = target
    if not isinstance(field, str) or (field not in RESERVED_COLUMNS and field not in catalogue):
        raise InputError(f"列“{column}”映射到未知字段 “{field}”。{catalogue.suggest(str(field))}", where)
    if not isinstance(unit, str):
        raise InputError(f"列“{column}”的 unit 应是文字（如 万元）", where)
    # units other than money and percentages (人, 年 …) only say what the number counts
    return ColumnMap(str(column), field, SCALES.get(unit, Decimal(1)))


def load_source_file(path: str | Path) -> list[DataSource]:
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError("数据源定义文件不是 UTF-8 编码的文本", str(path)) from exc
    except (OSError, yaml.YAMLError, RecursionError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"第 {mark.line + 1} 行" if mark is not None else ""
        raise InputError(f"无法读取数据源定义：{place}不是有效的 YAML（或文件无法打开）", str(path)) from exc
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
