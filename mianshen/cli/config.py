"""`mianshen settings`: the settings in force (secrets masked), or their reference as Markdown."""

from __future__ import annotations

import click

from mianshen.cli.main import cli


def markdown() -> str:
    """docs/settings.md, generated from the fields of mianshen/settings.py (a test keeps the file current)."""
    from mianshen.settings import FILE_ENV, Settings, env_name

    lines = [
        "# 设置（Settings）",
        "",
        "由 `mianshen settings --markdown` 从 `mianshen/settings.py` 生成，请勿手改。",
        "",
        "平台的每项设置都来自环境变量，或由环境变量 `" + FILE_ENV + "` 指定的 TOML 文件（键为下表的字段名，如",
        '`var_dir = "/srv/mianshen"`；环境变量优先；文件中的未知键是错误）。值无效时命令给出一行中文说明并以退出码 2 结束。',
        "`mianshen settings` 显示当前生效的设置（密钥与地址中的口令以 * 代替）。",
    ]
    group = None
    for field, info in Settings.model_fields.items():
        extra = info.json_schema_extra or {}
        if extra.get("group") != group:  # type: ignore[union-attr]
            group = extra.get("group")  # type: ignore[union-attr]
            lines += ["", f"## {group}", "", "| 环境变量 | 字段 | 默认 | 说明 |", "| --- | --- | --- | --- |"]
        default = "—" if info.default in (None, "") else f"`{info.default}`"
        secret = "（保密，显示时遮盖）" if extra.get("secret") else ""  # type: ignore[union-attr]
        lines.append(f"| `{env_name(field)}` | `{field}` | {default} | {info.description}{secret} |")
    return "\n".join(lines) + "\n"


@cli.command("settings")
@click.option("--markdown", "as_markdown", is_flag=True, help="输出设置说明（docs/settings.md）。")
def settings_cmd(as_markdown: bool) -> None:
    """显示当前生效的设置（来自环境变量与设置文件，密钥已遮盖）。"""
    from mianshen.settings import shown

    if as_markdown:
        click.echo(markdown(), nl=False)
        return
    rows = shown(click.get_current_context().find_root().obj)
    width = max(len(name) for name, _, _ in rows)
    for name, value, doc in rows:
        click.echo(f"{name:<{width}}  {value}    # {doc}")
