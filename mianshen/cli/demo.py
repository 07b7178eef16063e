"""`mianshen demo`: the main job on the embedded default, start to end, on the shipped examples."""

from __future__ import annotations

import click

from mianshen.cli.main import cli


@cli.command()
@click.option("--as-of", "as_of", default="2025-06-30", show_default=True, help="评估日期。")
@click.pass_context
def demo(ctx: click.Context, as_of: str) -> None:
    """演示：检查并测试政策目录，用 SQLite 筛查示例企业，再逐条解释一家企业的结果。"""
    from mianshen.cli.explain import explain
    from mianshen.cli.policy import check, test_cmd
    from mianshen.cli.screen import screen_cmd

    steps = [
        ("1. 检查政策文件（mianshen policy check policies/）", check, {"paths": ("policies",), "as_json": False}),
        ("2. 运行政策测试（mianshen policy test policies/）", test_cmd, {"paths": ("policies",), "verbose": False}),
        (
            "3. 用 SQLite 筛查示例企业（mianshen screen --profiles examples/enterprises.jsonl）",
            screen_cmd,
            {
                "policy_paths": ("policies",),
                "profiles_path": "examples/enterprises.jsonl",
                "store_url": None,
                "as_of": as_of,
                "engine": "sqlite",
                "db": "var/demo.sqlite",
                "as_json": False,
            },
        ),
    ]
    for title, command, kwargs in steps:
        click.secho(f"\n== {title}", bold=True)
        ctx.invoke(command, **kwargs)
    click.secho("\n== 4. 解释一家企业为何符合（mianshen explain）", bold=True)
    with open("var/demo-profile.json", "w", encoding="utf-8") as out:
        out.write(_first_profile("examples/enterprises.jsonl"))
    ctx.invoke(
        explain,
        policy_path="policies/wengang-fanhuan.yaml",
        profile_path="var/demo-profile.json",
        as_of=as_of,
        as_json=False,
    )


def _first_profile(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.readline()
