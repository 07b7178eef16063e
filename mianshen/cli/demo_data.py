"""`mianshen demo-data`: write a Henan-like demo population as import files from seven data sources.

The files then go through the real path (`mianshen data sources` + `mianshen data import`), so the
demo and the benchmarks measure what production does, defects and reject reports included.
"""

from __future__ import annotations

import click

from mianshen.cli.main import cli

FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".jsonl": "JSON Lines", ".xlsx": "Excel"}


@cli.command("demo-data")
@click.option("--enterprises", "count", type=click.IntRange(min=1), required=True, help="市场主体数量。")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="输出目录。")
@click.option("--seed", default=1, show_default=True, type=int, help="随机种子；同一种子生成同样的数据。")
@click.option("--as-of", "as_of", default=None, help="数据日期（“上年度”相对于它），默认平台日期（今天）。")
def demo_data(count: int, out: str, seed: int, as_of: str | None) -> None:
    """生成演示数据：河南省市场主体画像的各部门导入文件（含缺失、过期、冲突和坏行）。"""
    from pathlib import Path

    from mianshen.cli.explain import parse_as_of
    from mianshen.profiles.demo_data import generate

    day = parse_as_of(as_of)
    click.echo(f"生成 {count:,} 个市场主体（种子 {seed}，数据日期 {day}）→ {out}", err=True)
    summary = generate(count, out, seed, day, progress=lambda text: click.echo(text, err=True))
    click.echo(
        f"{'数据源':<10}{'文件':<16}{'格式':<12}{'行数':>10}{'应拒收':>8}{'应警告':>8}{'缺失值':>9}{'过期行':>8}{'冲突':>6}"
    )
    for f in summary.files:
        kind = FORMATS.get(Path(f["file"]).suffix, "")
        click.echo(
            f"{f['source']:<12}{f['file']:<18}{kind:<12}{f['rows']:>10,}{f['rejects']:>10}{f['warnings']:>10}"
            f"{f['missing_values']:>10}{f['stale_rows']:>10}{f['conflicts']:>8}"
        )
    click.echo(
        f"共 {sum(f['rows'] for f in summary.files):,} 行，用时 {summary.seconds:.1f} 秒；"
        f"校验位故意出错的代码 {len(summary.bad_uscc)} 个，应拒收 {summary.rejects} 行。"
    )
    click.echo(
        f"数据源定义：{summary.out / 'sources.yaml'}；清单：{summary.out / 'manifest.json'}；"
        f"导入：sh {summary.out / 'import.sh'} [数据库地址]"
    )
