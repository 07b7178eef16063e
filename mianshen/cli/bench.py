"""`mianshen bench …`: benchmarks (never timed tests). Numbers go to docs/benchmarks.md.

So far: the import path of 企业画像库. Each import runs as its own process, as a data manager
would run it, so the peak memory reported is that of one import, not of the generator.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import click

from mianshen.cli.main import cli
from mianshen.cli.progress import progress
from mianshen.store.paths import var_dir


@cli.group(invoke_without_command=True)
@click.option("--quick", is_flag=True, help="不带子命令时：快速运行匹配基准（同 bench run --quick）。")
@click.option("--json", "as_json", is_flag=True, help="不带子命令时：以 JSON 输出。")
@click.pass_context
def bench(ctx: click.Context, quick: bool, as_json: bool) -> None:
    """基准测试（结果写入 docs/benchmarks.md）。不带子命令时运行匹配基准（bench run）。"""
    if ctx.invoked_subcommand is None:
        from mianshen.cli.bench_match import bench_run

        ctx.invoke(bench_run, quick=quick, as_json=as_json)


@bench.command("import")
@click.option("--enterprises", default=100000, show_default=True, type=click.IntRange(min=100), help="企业数量。")
@click.option("--dir", "workdir", default=None, help="数据与数据库目录，默认运行目录下的 bench。")
@click.option(
    "--db",
    "store_url",
    default=None,
    help="导入到这个空的 PostgreSQL 库（postgresql://…），而不是工作目录中新建的 SQLite 文件。",
)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
def bench_import(enterprises: int, workdir: str | None, store_url: str | None, as_json: bool) -> None:
    """生成演示数据并经真实导入路径导入全新的画像库（默认 SQLite），报告吞吐与峰值内存。"""
    from mianshen.benchmarks.peak import run_with_peak
    from mianshen.benchmarks.stores import fresh_store, store_mib
    from mianshen.profiles.demo_data import generate

    root = Path(workdir) if workdir else var_dir() / "bench"
    data_dir = root / f"data-{enterprises}"
    root.mkdir(parents=True, exist_ok=True)
    url = fresh_store(store_url, root / f"import-{enterprises}.sqlite")  # refuses a store holding data
    started = time.perf_counter()
    with progress("生成演示数据") as moved:
        summary = generate(
            enterprises, data_dir, 1, dt.date(2025, 6, 30), progress=lambda line: moved(description=line.strip())
        )
    generate_seconds = time.perf_counter() - started
    exe = str(Path(sys.executable).parent / "mianshen")
    subprocess.run(
        [exe, "data", "sources", str(data_dir / "sources.yaml"), "--db", url], check=True, capture_output=True
    )
    rows = sum(f["rows"] for f in summary.files)
    started = time.perf_counter()
    peaks = []
    with progress("导入", total=len(summary.files)) as moved:
        for done, f in enumerate(summary.files):
            moved(done, description=f"导入 {f['file']}")
            peaks.append(
                run_with_peak(
                    [
                        exe,
                        "data",
                        "import",
                        "--source",
                        f["source"],
                        str(data_dir / f["file"]),
                        "--as-of",
                        "2025-06-30",
                        "--db",
                        url,
                        "--rejects",
                        str(root / f"rejects-{f['source']}.csv"),
                    ]
                )[0]
            )
    seconds = time.perf_counter() - started
    peak_mib = max(peaks)  # the largest single import process (each file is its own process)
    result = {
        "enterprises": enterprises,
        "files": len(summary.files),
        "rows": rows,
        "generate_seconds": round(generate_seconds, 1),
        "import_seconds": round(seconds, 1),
        "rows_per_second": round(rows / seconds),
        "peak_import_mib": round(peak_mib),
        "store": url.split(":", 1)[0],
        "store_mib": store_mib(url),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "command": f"mianshen bench import --enterprises {enterprises}" + (" --db postgresql://…" if store_url else ""),
    }
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"| {enterprises:,} | {len(summary.files)} | {rows:,} | {generate_seconds:.1f} s | {seconds:.1f} s | "
        f"{rows / seconds:,.0f} | {peak_mib:,.0f} MiB | {result['store_mib']} MiB |"
    )
