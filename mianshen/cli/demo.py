"""`mianshen demo`: the main job on the embedded default (SQLite), start to end.

Policy catalogue checked and tested → a Henan-like population generated as departmental files →
imported through the real path into 企业画像库 → data quality → screening from the store → one
enterprise's profile and explanation.
"""

from __future__ import annotations

from pathlib import Path

import click

from mianshen.cli.main import cli
from mianshen.cli.progress import progress
from mianshen.rules.loader import SHIPPED
from mianshen.settings import configure
from mianshen.settings import current as settings
from mianshen.store.paths import var_dir


def demo_db() -> Path:
    return var_dir() / "demo.sqlite"


def demo_url() -> str:
    return f"sqlite:///{demo_db()}"


@cli.command()
@click.option("--enterprises", default=20000, show_default=True, type=click.IntRange(min=100), help="演示企业数量。")
@click.option("--as-of", "as_of", default=None, help="评估日期（固定平台日期），默认平台日期（今天）。")
@click.option("--serve/--no-serve", "serve_after", default=True, show_default=True, help="最后启动网站。")
@click.option("--port", default=8000, show_default=True, type=int, help="网站端口。")
def demo(enterprises: int, as_of: str | None, serve_after: bool, port: int) -> None:
    """演示：政策检查与测试 → 生成演示数据 → 导入企业画像库 → 数据质量 → 筛查 → 解释一家企业。"""
    from mianshen.cli.data import import_cmd, quality_cmd, sources_cmd
    from mianshen.cli.demo_case import show_accounts, stage_for_staff, walk_one_case
    from mianshen.cli.explain import explain, parse_as_of
    from mianshen.cli.match import match_cmd, publish_cmd
    from mianshen.cli.policy import check, test_cmd
    from mianshen.cli.screen import screen_cmd
    from mianshen.cli.serve import serve
    from mianshen.profiles.demo_data import generate
    from mianshen.store.db import open_store

    ctx = click.get_current_context()
    day = parse_as_of(as_of)  # the platform clock's today unless a date is asked for
    pinned = as_of is not None or settings().today is not None
    # One clock for the whole demo: every step, every recorded time and the site afterwards run as of
    # the demo date, also when it was not asked for (a demo run across midnight stays on one day).
    # The demo population's data are dated that day (demo_data.generate), so they are fresh.
    configure(today=day)
    as_of = day.isoformat()
    url = demo_url()
    demo_db().unlink(missing_ok=True)  # the demo starts from an empty store every time
    catalogue = (str(SHIPPED),)  # the catalogue shipped in the package, so the demo runs from any folder
    _step("1. 检查政策目录（mianshen policy check）")
    ctx.invoke(check, paths=catalogue, as_json=False)
    _step("2. 运行政策测试（mianshen policy test）")
    ctx.invoke(test_cmd, paths=catalogue, verbose=False)
    _step(f"3. 生成 {enterprises:,} 家企业的各部门数据文件（mianshen demo-data）")
    with progress("生成演示数据") as moved:  # each command the demo runs draws its own bar
        summary = generate(enterprises, var_dir() / "demo-data", 1, day, progress=lambda line: moved(description=line))
    for f in summary.files:
        click.echo(f"  {f['source']:<10}{f['file']:<18}{f['rows']:>9,} 行")
    _step("4. 登记数据源并导入（mianshen data sources / data import）")
    ctx.invoke(sources_cmd, definition=str(summary.out / "sources.yaml"), db=url)
    for f in summary.files:
        ctx.invoke(
            import_cmd,
            source_id=f["source"],
            as_of=as_of,
            rejects_path=None,
            files=(str(summary.out / f["file"]),),
            db=url,
        )
    _step("5. 数据质量（mianshen data quality）")
    ctx.invoke(quality_cmd, as_of=as_of, policy_paths=catalogue, as_json=False, db=url)
    _step("6. 从企业画像库筛查全部企业（mianshen screen）")
    ctx.invoke(
        screen_cmd,
        policy_paths=catalogue,
        profiles_path=None,
        store_url=url,
        as_of=as_of,
        engine="duckdb",
        db=None,
        out=None,
        as_json=False,
    )
    engine = open_store(url)
    _step("7. 发布政策版本并匹配（mianshen policy publish / mianshen match）")
    ctx.invoke(publish_cmd, paths=catalogue, actor="政策管理员（演示）", db=url)
    ctx.invoke(match_cmd, policy_id=None, as_of=as_of, full=False, layer_from=None, as_json=False, db=url)
    uscc = _an_eligible_enterprise(url, "wengang-fanhuan")
    if uscc:
        _step(f"8. 逐条解释一家企业（mianshen explain --policy wengang-fanhuan --uscc {uscc}）")
        ctx.invoke(
            explain,
            policy_path="wengang-fanhuan",  # the shipped version in force on the demo date
            profile_path=None,
            uscc=uscc,
            db=url,
            as_of=as_of,
            as_json=False,
        )
    _step("9. 一件稳岗返还从匹配到拨付（通知 → 确认 → 审核 → 公示 → 批准 → 拨付），审计链校验")
    walk_one_case(engine, "wengang-fanhuan", day)
    click.echo("  另备两件供网站上办理：一件公示期满待批准（部门），一件已批准待拨付（财政）")
    stage_for_staff(engine, "wengang-fanhuan", day)
    _step("10. 演示账号（每个角色一个）")
    show_accounts(engine, day)
    if serve_after:
        if pinned:
            click.echo(f"\n网站按固定的平台日期 {day} 运行（环境变量 MIANSHEN_TODAY）。")
        else:  # the site goes on with the real calendar: tomorrow is tomorrow
            configure(today=None)
            click.echo("\n网站按平台日期（北京时间今天）运行。")
        ctx.invoke(serve, host="127.0.0.1", port=port, db=url, send=True)
    click.echo(
        f"\n演示数据库：{demo_db()}；可继续用 mianshen profile show / profile gaps / explain --uscc … --db {url}"
    )


def _step(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


def _an_eligible_enterprise(url: str, policy_id: str) -> str | None:
    from mianshen.matching.read import pairs
    from mianshen.store.db import open_store

    with open_store(url, migrate=False).connect() as conn:
        found = sorted(p.uscc for p in pairs(conn, policy_ids=[policy_id], statuses=["eligible"]))
    return found[0] if found else None
