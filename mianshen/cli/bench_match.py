"""`mianshen bench match` and `mianshen bench run [--quick]`: the matching benchmarks (docs/benchmarks.md).

`bench match` times, on an imported store: (a) full matching of 100 policy variants with results
written, (b) the hand-written single DuckDB query over the same table (the practical limit; its
counts must equal ours), (c) OpenFisca / zen-engine when installed, (d) explaining all 100
variants for one enterprise. `bench run` first imports a generated population through
`bench import`, then runs `bench match` and (e) the incremental re-match after 1% of the
enterprises change, and prints one table. Timings are printed, never asserted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import click

from mianshen.cli.bench import bench, bench_import

AS_OF = dt.date(2025, 6, 30)
TARGETS = {"evals": 50e6, "ratio": 1.5, "p50_ms": 2.0, "share": 0.05}


def _import(ctx: click.Context, enterprises: int, workdir: Path) -> tuple[str, Path, dict[str, Any]]:
    """`bench import` (generate + the real import path), its JSON report captured."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ctx.invoke(bench_import, enterprises=enterprises, workdir=str(workdir), as_json=True)
    report = json.loads(out.getvalue())
    return f"sqlite:///{workdir / f'import-{enterprises}.sqlite'}", workdir / f"data-{enterprises}", report


def measure_match(url: str, workdir: Path, policies: int, repetitions: int) -> dict[str, Any]:
    from mianshen.benchmarks import matching
    from mianshen.benchmarks.variants import make_variants
    from mianshen.store.db import open_store

    variants = make_variants(workdir / "variants", policies)
    engine = open_store(url)
    started = time.perf_counter()
    profiles = matching.population(engine, variants, AS_OF)
    read_seconds = time.perf_counter() - started
    timing = matching.full_match(profiles, variants, AS_OF, workdir / "match-results.sqlite")
    # (d) an enterprise every variant reads something of: the first with a non-empty profile
    one = max(profiles[:200], key=lambda p: len(p.values))
    samples = matching.explain_latency(variants, one, AS_OF, repetitions)
    engine.dispose()
    return {
        "variants": variants,
        "enterprises": timing.enterprises,
        "policies": timing.policies,
        "evaluations": timing.evaluations,
        "read_profiles_seconds": read_seconds,
        "load_seconds": timing.load_seconds,
        "compile_seconds": timing.compile_seconds,
        "run_seconds": timing.run_seconds,
        "write_seconds": timing.write_seconds,
        "match_seconds": timing.match_seconds,
        "match_evals_per_second": timing.per_second(timing.match_seconds),
        "sql_only_seconds": timing.sql_only_seconds,
        "sql_only_evals_per_second": timing.per_second(timing.sql_only_seconds),
        "handwritten_seconds": timing.handwritten_seconds,
        "handwritten_evals_per_second": timing.per_second(timing.handwritten_seconds),
        "ratio": timing.match_seconds / timing.handwritten_seconds,
        "sql_only_ratio": timing.sql_only_seconds / timing.handwritten_seconds,
        "counts_equal": True,  # full_match raises otherwise
        "others": matching.other_engines(),
        "explain_enterprise": one.id,
        "explain_repetitions": repetitions,
        "explain_p50_ms": matching.percentile(samples, 50) * 1000,
        "explain_p99_ms": matching.percentile(samples, 99) * 1000,
    }


def measure_rematch(url: str, data_dir: Path, workdir: Path, variants: list[Any]) -> dict[str, Any]:
    from mianshen.benchmarks import matching
    from mianshen.store.db import open_store

    engine = open_store(url)
    matching.publish(engine, variants)
    r = matching.rematch(engine, url, data_dir, workdir, AS_OF)
    engine.dispose()
    return {
        "rematch_full_seconds": r.full_seconds,
        "rematch_full_evaluated": r.full_evaluated,
        "rematch_changed": r.changed_enterprises,
        "rematch_seconds": r.incremental_seconds,
        "rematch_evaluated": r.incremental_evaluated,
        "rematch_scope": r.scope,
        "rematch_share": r.share,
    }


def _ok(good: bool) -> str:
    return "达到" if good else "未达到"


def table(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(row, measured, target) — the rows `bench run` prints (also checked by the smoke test)."""
    n, k = result["enterprises"], result["policies"]
    rows = [
        (
            "(a) 全量匹配（编译 + DuckDB 执行 + 取回 + 写入结果）",
            f"{result['match_seconds']:.2f} s，{result['match_evals_per_second']:,.0f} 次/秒（{n:,} 家 × {k} 项）",
            f"≥ 50,000,000 次/秒（100 万 × 100）：{_ok(result['match_evals_per_second'] >= TARGETS['evals'])}",
        ),
        (
            "(a′) 其中仅 SQL（我们生成的查询在 DuckDB 内物化，不取回）",
            f"{result['sql_only_seconds']:.2f} s，{result['sql_only_evals_per_second']:,.0f} 次/秒",
            "—",
        ),
        (
            "(b) 手写单条查询（实际上限），结果计数与我们一致",
            f"{result['handwritten_seconds']:.3f} s，{result['handwritten_evals_per_second']:,.0f} 次/秒",
            "—",
        ),
        (
            "(b) 倍数：我们 / 手写",
            f"{result['ratio']:.1f}×（仅 SQL：{result['sql_only_ratio']:.1f}×）",
            f"≤ 1.5×：{_ok(result['ratio'] <= TARGETS['ratio'])}",
        ),
    ]
    rows += [(f"(c) {name}", status, "可选") for name, status in result["others"].items()]
    rows += [
        (
            f"(d) 解释 {k} 项政策（完整轨迹）p50",
            f"{result['explain_p50_ms']:.2f} ms（{result['explain_repetitions']} 次）",
            f"≤ 2 ms：{_ok(result['explain_p50_ms'] <= TARGETS['p50_ms'])}",
        ),
        (f"(d) 解释 {k} 项政策（完整轨迹）p99", f"{result['explain_p99_ms']:.2f} ms", "—"),
    ]
    if "rematch_seconds" in result:
        rows.append(
            (
                "(e) 1% 企业变化后增量重匹配（run_match）",
                f"{result['rematch_seconds']:.2f} s，全量 {result['rematch_full_seconds']:.2f} s 的 "
                f"{result['rematch_share']:.1%}（{result['rematch_changed']:,} 家变化，"
                f"{result['rematch_full_evaluated'] // k:,} 家库）",
                f"≤ 5%：{_ok(result['rematch_share'] <= TARGETS['share'])}",
            )
        )
    return rows


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({k: v for k, v in result.items() if k != "variants"}, ensure_ascii=False, indent=2))
        return
    click.echo(f"\n机器：{result['machine']}；命令：{result['command']}")
    click.echo("\n| 项目 | 测得 | 目标 |\n|---|---|---|")
    for row in table(result):
        click.echo("| " + " | ".join(row) + " |")


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


@bench.command("match")
@click.option("--db", required=True, help="已导入的企业画像库（如 sqlite:///var/bench/import-20000.sqlite）。")
@click.option("--policies", default=100, show_default=True, type=click.IntRange(min=5), help="政策变体数量。")
@click.option("--repetitions", default=200, show_default=True, type=click.IntRange(min=2), help="解释的重复次数。")
@click.option("--dir", "workdir", default="var/bench", show_default=True, help="变体与结果目录。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
def bench_match(db: str, policies: int, repetitions: int, workdir: str, as_json: bool) -> None:
    """全量匹配政策变体、手写查询上限、解释延迟（不改动画像库）。"""
    root = Path(workdir)
    result = measure_match(db, root, policies, repetitions)
    result["machine"] = _machine()
    result["command"] = f"mianshen bench match --db {db} --policies {policies}"
    _print(result, as_json)


@bench.command("run")
@click.option("--quick", is_flag=True, help="快速模式：2 万家企业（重匹配用 2,000 家的库），2 分钟内完成。")
@click.option("--enterprises", default=None, type=click.IntRange(min=100), help="企业数量（默认 100 万，快速 2 万）。")
@click.option(
    "--rematch-enterprises",
    default=None,
    type=click.IntRange(min=100),
    help="增量重匹配所用库的企业数（默认同上，快速 2,000）。",
)
@click.option("--policies", default=100, show_default=True, type=click.IntRange(min=5), help="政策变体数量。")
@click.option("--repetitions", default=200, show_default=True, type=click.IntRange(min=2), help="解释的重复次数。")
@click.option("--dir", "workdir", default="var/bench", show_default=True, help="数据与数据库目录。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
def bench_run(
    quick: bool,
    enterprises: int | None,
    rematch_enterprises: int | None,
    policies: int,
    repetitions: int,
    workdir: str,
    as_json: bool,
) -> None:
    """导入 → 全量匹配与手写上限 → 解释 → 1% 变化后增量重匹配，打印对比表。"""
    ctx = click.get_current_context()
    n = enterprises or (20000 if quick else 1_000_000)
    m = rematch_enterprises or (2000 if quick else n)
    root = Path(workdir)
    started = time.perf_counter()
    url, data_dir, imported = _import(ctx, n, root)
    result = measure_match(url, root, policies, repetitions)
    result["import"] = imported
    if m != n:
        url, data_dir, _ = _import(ctx, m, root)
    result.update(measure_rematch(url, data_dir, root, result["variants"]))
    result["total_seconds"] = time.perf_counter() - started
    result["machine"] = _machine()
    flags = " --quick" if quick else ""
    flags += f" --enterprises {n}" if enterprises else ""
    flags += f" --rematch-enterprises {m}" if rematch_enterprises else ""
    result["command"] = f"mianshen bench run{flags}"
    _print(result, as_json)
    if not as_json:
        click.echo(
            f"\n导入 {n:,} 家：{imported['import_seconds']} s；读取画像 {result['read_profiles_seconds']:.1f} s；"
            f"装入 DuckDB {result['load_seconds']:.1f} s；编译 {result['compile_seconds']:.2f} s；"
            f"执行并取回 {result['run_seconds']:.2f} s；写入 {result['write_seconds']:.2f} s；"
            f"总计 {result['total_seconds']:.0f} s。"
        )
