"""`mianshen fields`: the field catalogue."""

from __future__ import annotations

import json

import click

from mianshen.catalogue import load_catalogue
from mianshen.cli.main import cli


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
def fields(as_json: bool) -> None:
    """列出字段目录：名称、中文标签、类型、单位、来源部门、更新周期。"""
    catalogue = load_catalogue()
    rows = [
        {
            "name": f.name,
            "label": f.label,
            "type": f.type.value,
            "unit": f.unit,
            "source": f.source,
            "refresh": f.refresh,
            "basis": f.basis,
            "hierarchy": f.hierarchy,
            "values": list(f.values),
        }
        for f in catalogue.fields.values()
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        unit = f"（{row['unit']}）" if row["unit"] else ""
        click.echo(f"{row['name']:<28} {row['label']}{unit} · {row['type']} · {row['source']} · {row['refresh']}")
