"""`mianshen fields`: the field catalogue, and `fields declare`: fields departments add as data."""

from __future__ import annotations

import json

import click

from mianshen.catalogue import load_catalogue
from mianshen.cli.actor import OPERATOR_OPTION, operator
from mianshen.cli.main import cli
from mianshen.store.fields import install_named

DB_OPTION = click.option("--db", default=None, help="数据库地址（含部门声明的字段），默认同其他命令。")


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@DB_OPTION
@click.pass_context
def fields(ctx: click.Context, as_json: bool, db: str | None) -> None:
    """列出字段目录：名称、中文标签、类型、单位、来源部门、更新周期（含部门声明的字段及其版本）。"""
    if ctx.invoked_subcommand is not None:
        return
    install_named(db)
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
            "declared_version": f.version,
        }
        for f in catalogue.fields.values()
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        unit = f"（{row['unit']}）" if row["unit"] else ""
        declared = f" · 部门声明第{row['declared_version']}版" if row["declared_version"] else ""
        click.echo(
            f"{row['name']:<28} {row['label']}{unit} · {row['type']} · {row['source']} · {row['refresh']}{declared}"
        )


@fields.command("declare")
@click.argument("definition", type=click.Path())
@OPERATOR_OPTION
@DB_OPTION
def declare_cmd(definition: str, operator_name: str | None, db: str | None) -> None:
    """声明新字段（类型、单位、中文标签、来源部门、更新周期），无须改代码即可导入数据、在政策中使用；再次声明为新版本。"""
    from mianshen.profiles.declared import declare, read_declarations
    from mianshen.store.db import open_store
    from mianshen.store.fields import install

    found = read_declarations(definition)
    engine = open_store(db)
    with engine.begin() as conn:
        done = declare(conn, found, operator(operator_name))
    install(engine)
    for name, version, new in done:
        click.echo(f"{name}：{'已声明第' + str(version) + '版' if new else '未变化，仍为第' + str(version) + '版'}")
