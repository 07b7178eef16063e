"""`mianshen bench scale`: the 100 variants at 1M and 10M enterprises with columnar results
(mianshen/benchmarks/columnar.py). Timings and peak memory are printed, never asserted."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from mianshen.cli.bench import bench
from mianshen.cli.explain import parse_as_of
from mianshen.store.paths import var_dir

GIB = 1024


@bench.command("scale")
@click.option("--enterprises", default=1_000_000, show_default=True, type=click.IntRange(min=100), help="合成企业数。")
@click.option(
    "--copies",
    "copies",
    multiple=True,
    type=click.IntRange(min=1),
    default=(1, 10),
    show_default=True,
    help="把快照重复 k 次再测（可多次给出；10 即 10 倍企业数）。",
)
@click.option("--policies", default=100, show_default=True, type=click.IntRange(min=5), help="基准变体政策数。")
@click.option("--memory", default="3GB", show_default=True, help="DuckDB 内存上限（超出部分落盘）。")
@click.option("--dir", "workdir", default=None, help="快照与结果目录，默认运行目录下的 bench-scale。")
@click.option("--as-of", "as_of", default="2025-06-30", show_default=True, help="评估日期。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
def bench_scale(
    enterprises: int,
    copies: tuple[int, ...],
    policies: int,
    memory: str,
    workdir: str | None,
    as_of: str,
    as_json: bool,
) -> None:
    """百万、千万级：批量 SQL 读 Parquet 画像快照、全部结果写成 Parquet，与手写查询对比（计数须一致）。"""
    from mianshen.benchmarks.columnar import copied_snapshot, measure
    from mianshen.benchmarks.variants import make_variants
    from mianshen.profiles.derive import with_inputs
    from mianshen.scale.bench import machine, snapshot
    from mianshen.sqlgen.compile import needed_fields

    day = parse_as_of(as_of)
    root = Path(workdir) if workdir else var_dir() / "bench-scale"
    variants = make_variants(root / "variants", policies)
    chosen = [v.policy for v in variants]
    fields = with_inputs({f for p in chosen for f in needed_fields(p)} | {"region_code"})
    snap = snapshot(root, enterprises, chosen, day, extra=tuple(sorted(fields)))
    result: dict[str, Any] = {
        "machine": machine(),
        "command": f"mianshen bench scale --enterprises {enterprises} "
        + " ".join(f"--copies {k}" for k in copies)
        + f" --memory {memory}",
        "snapshot_seconds": snap["seconds"],
        "snapshot_mib": snap["bytes"] / 2**20,
        "runs": [],
    }
    for k in copies:
        started = time.perf_counter()
        source = snap["path"] if k == 1 else copied_snapshot(snap["path"], k, root)
        copy_seconds = time.perf_counter() - started if k > 1 else None
        run = measure(source, root, variants, day, memory, enterprises * k)
        result["runs"].append(run | {"copies": k, "copy_seconds": copy_seconds})
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"机器：{result['machine']}\n命令：{result['command']}")
    if snap["seconds"] is not None:
        click.echo(f"生成 {enterprises:,} 家合成画像快照：{snap['seconds']:.1f} s（{result['snapshot_mib']:.1f} MiB）")
    click.echo(
        "| 企业 × 政策 | 装载快照并排序 | 我们：评估写入匹配库（run 的 write_layer） | 峰值内存 "
        "| 手写查询（写 Parquet） | 峰值内存 | 倍数（含装载） | 计数一致 |"
    )
    click.echo("|---|---|---|---|---|---|---|---|")
    for r in result["runs"]:
        click.echo(
            f"| {r['enterprises']:,} × {r['policies']} | {r['load_seconds']:.1f} s | {r['ours_seconds']:.1f} s，{r['ours_per_second'] / 1e6:.1f}M 次/秒 "
            f"| {r['ours_peak_mib'] / GIB:.2f} GiB | {r['handwritten_seconds']:.1f} s，"
            f"{r['handwritten_per_second'] / 1e6:.1f}M 次/秒 | {r['handwritten_peak_mib'] / GIB:.2f} GiB "
            f"| {r['ratio']:.2f}×（{r['ratio_with_load']:.2f}×） | {'是' if r['counts_equal'] else '否'} |"
        )
