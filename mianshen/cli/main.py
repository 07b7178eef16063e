"""Top-level command group; bad input becomes one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import sys
from typing import Any

import click

from mianshen.errors import MianshenError, PolicyFileError


class FriendlyGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PolicyFileError as exc:
            click.echo(str(exc), err=True)  # each line is already "file:line:col: 错误: …"
            sys.exit(2)
        except MianshenError as exc:
            click.echo(f"错误：{exc}", err=True)
            sys.exit(2)


@click.group(cls=FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mianshen")
def cli() -> None:
    """免申即享平台（mianshen）：惠企政策“政策找企、应享尽享、免申即享”。"""


def main() -> None:
    from mianshen.cli import (  # noqa: F401  (registers commands)
        assist,
        audit,
        bench,
        bench_match,
        bench_scale,
        bench_web,
        case,
        data,
        demo,
        demo_data,
        explain,
        fields,
        match,
        notify,
        pay,
        policy,
        reference,
        screen,
        serve,
        spark,
        user,
        worker,
    )

    cli(prog_name="mianshen")
