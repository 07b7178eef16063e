"""The command line loads a command's module only when that command runs, and the table that says
which modules register which command is complete: with it, every command and subcommand is there,
exactly as when every module is imported."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import click

import mianshen.cli
from mianshen.cli.main import COMMANDS, cli, load_commands

SCRIPT = """
import importlib, json, sys, click
from mianshen.cli.main import cli, load_commands
{load}
print(json.dumps({{k: sorted(v.commands) if isinstance(v, click.Group) else [] for k, v in cli.commands.items()}}, sort_keys=True))
"""


def _registered(load: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT.format(load=load)], capture_output=True, text=True, check=True
    ).stdout


def test_the_table_registers_every_command_and_subcommand() -> None:
    modules = [m.name for m in pkgutil.iter_modules(mianshen.cli.__path__) if m.name not in ("__init__", "main")]
    every = "\n".join(f"importlib.import_module('mianshen.cli.{m}')" for m in modules)
    assert _registered("load_commands()") == _registered(every)


def test_one_command_loads_only_its_modules() -> None:
    code = (
        "import sys\nfrom mianshen.cli.main import cli\nimport click\n"
        "ctx = click.Context(cli)\ncli.get_command(ctx, 'fields')\n"
        "print(sorted(m for m in sys.modules if m.startswith('mianshen.cli.')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "mianshen.cli.fields" in loaded and "mianshen.cli.bench" not in loaded and "mianshen.cli.serve" not in loaded


def test_help_lists_every_command() -> None:
    load_commands()
    ctx = click.Context(cli)
    assert set(cli.list_commands(ctx)) == set(COMMANDS) == set(cli.commands)
