"""Top-level command group; bad input becomes one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import sys
from typing import Any

import click

from mianshen.errors import MianshenError, PolicyFileError, os_problem

# Which modules define each top-level command (and add subcommands to it), so that `mianshen data
# import` loads the data commands only: importing every subcommand module took most of the 0.74 s a
# command needed to start (each import process of `bench import` starts one). tests/test_cli_lazy.py
# checks this table against importing everything.
COMMANDS: dict[str, tuple[str, ...]] = {
    "apply": ("pay",),
    "archive": ("trust",),
    "assist": ("assist",),
    "audit": ("audit",),
    "bench": ("bench", "bench_match", "bench_web", "bench_scale", "spark"),
    "case": ("case",),
    "contact": ("user",),
    "data": ("data",),
    "demo": ("demo",),
    "demo-data": ("demo_data",),
    "explain": ("explain",),
    "export-profiles": ("spark",),
    "fields": ("fields",),
    "list": ("pay",),
    "match": ("match",),
    "match-spark": ("spark",),
    "notify": ("notify",),
    "pay": ("pay",),
    "policy": ("policy", "match", "assist"),
    "profile": ("data",),
    "reference": ("reference",),
    "screen": ("screen",),
    "seal": ("trust",),
    "routes": ("trust",),
    "search": ("assist",),
    "serve": ("serve",),
    "settings": ("config",),
    "supervise": ("supervise",),
    "user": ("user",),
    "verify": ("trust",),
    "worker": ("worker",),
}


def load_commands(names: tuple[str, ...] | None = None) -> None:
    """Import the modules that register `names` (every command when None)."""
    import importlib

    wanted = COMMANDS if names is None else {n: COMMANDS[n] for n in names if n in COMMANDS}
    for modules in wanted.values():
        for module in modules:
            importlib.import_module(f"mianshen.cli.{module}")


class FriendlyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands)) if self.name == "cli" else super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if self.name == "cli" and cmd_name in COMMANDS:
            load_commands((cmd_name,))
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PolicyFileError as exc:
            click.echo(str(exc), err=True)  # each line is already "file:line:col: 错误: …"
            sys.exit(2)
        except MianshenError as exc:
            click.echo(f"错误：{exc}", err=True)
            sys.exit(2)
        except OSError as exc:  # a folder that cannot be written, a file that went away: the user's to fix
            click.echo(f"错误：{os_problem(exc)}", err=True)
            sys.exit(2)


def shipped_when_empty(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """Policy paths as given, or the catalogue shipped in the package (found from any folder)."""
    from mianshen.rules.loader import or_shipped

    return tuple(map(str, or_shipped(value)))


# `--policies` of every command that reads the catalogue
policies_option = click.option(
    "--policies",
    "policy_paths",
    multiple=True,
    type=click.Path(),
    callback=shipped_when_empty,
    help="政策文件或目录（可重复），默认随软件发布的政策目录。",
)


def _set_var_dir(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    # configure() also exports it, so that the site's worker processes and the commands a benchmark
    # starts write to the same folder
    if value:
        from pathlib import Path

        from mianshen.settings import configure

        configure(var_dir=Path(value))


@click.group(cls=FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mianshen")
@click.option(
    "--var-dir",
    default=None,
    expose_value=False,
    is_eager=True,
    callback=_set_var_dir,
    help="运行目录：默认数据库、演示、基准、拒收报告、上传文件等写在这里。默认环境变量 MIANSHEN_VAR_DIR，否则为当前目录下的 var。",
)
def cli() -> None:
    """免申即享平台（mianshen）：惠企政策“政策找企、应享尽享、免申即享”。"""
    from mianshen.settings import current
    from mianshen.store.files import keep_private

    # the settings, read (and checked: a bad variable is one line, exit 2) before any command runs
    click.get_current_context().obj = current()
    keep_private()


def main() -> None:
    cli(prog_name="mianshen")
