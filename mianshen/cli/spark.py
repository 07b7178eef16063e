"""`mianshen export-profiles`, `mianshen match-spark` and `mianshen bench spark`: matching at scale.

export-profiles writes a Parquet snapshot of the store's profiles (or of synthetic ones, for
benchmarks); match-spark runs every screenable policy in force over a snapshot on a Spark master and
writes the result rows as Parquet. Everything a user can get wrong is checked before Spark starts
(it takes seconds to start), and reported as one Chinese line.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from mianshen.cli.bench import bench
from mianshen.cli.explain import parse_as_of
from mianshen.cli.main import cli, policies_option
from mianshen.cli.progress import progress
from mianshen.errors import InputError, PolicyFileError
from mianshen.rules.ast import Policy
from mianshen.rules.loader import read_policies
from mianshen.rules.versions import in_force
from mianshen.store.paths import var_dir


def _policies(paths: tuple[str, ...]) -> list[Policy]:
    policies, diagnostics = read_policies(paths)
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        raise PolicyFileError(errors)
    return policies


def _in_force(policies: list[Policy], day: dt.date) -> list[Policy]:
    return [p for p in policies if in_force(p, day)]


@cli.command("export-profiles")
@click.option("--db", "db_url", default=None, help="企业画像库地址，默认 MIANSHEN_DATABASE_URL。")
@click.option("--out", required=True, type=click.Path(), help="快照目录（写入 Parquet 文件）。")
@click.option("--as-of", "as_of", default=None, help="画像日期，如 2025-06-30；默认今天。")
@policies_option
@click.option("--partition", is_flag=True, help="按省份与信用代码哈希分桶写成 Hive 分区目录。")
@click.option(
    "--synthetic", type=click.IntRange(min=1), default=None, help="不读画像库，生成 N 家合成企业（基准测试用）。"
)
@click.option("--seed", default=1, show_default=True, help="合成企业的随机种子。")
@click.option(
    "--changed-after",
    "changed_after",
    type=click.IntRange(min=0),
    default=None,
    help="增量：只导出导入批次 N 之后数据有变化的企业（N 取上次快照 _mianshen.json 中的 last_batch）。",
)
def export_profiles(
    db_url: str | None,
    out: str,
    as_of: str | None,
    policy_paths: tuple[str, ...],
    partition: bool,
    synthetic: int | None,
    seed: int,
    changed_after: int | None,
) -> None:
    """导出画像快照（Parquet）：每家企业一行，列为政策所需的字段，供 match-spark 在 Spark 上匹配。"""
    from mianshen.scale.parquet import write_snapshot
    from mianshen.sqlgen.compile import needed_fields
    from mianshen.sqlgen.screen import screenable

    day = parse_as_of(as_of)
    fields = sorted({f for p in screenable(_policies(policy_paths)) for f in needed_fields(p)})
    if not fields:
        raise InputError("没有可筛查的政策，无字段可导出")
    batch = None
    if synthetic is not None:
        from mianshen.profiles.derive import with_inputs
        from mianshen.scale.synthetic import synthetic_profiles

        wanted = sorted(with_inputs({*fields, "region_code"}))
        with progress(f"生成并导出 {synthetic:,} 家企业的画像快照"):
            snap = write_snapshot(synthetic_profiles(synthetic, seed, day), wanted, out, day, partition)
    else:
        from mianshen.scale.parquet import export_store
        from mianshen.store.db import open_store

        with open_store(db_url).connect() as conn, progress("导出画像快照"):
            snap = export_store(conn, out, day, fields, partition, changed_after)
        batch = snap.last_batch
    if not snap.rows:
        click.echo("注意：没有企业可导出，快照为空", err=True)
    done = f"已导出批次 {changed_after} 之后有变化的 " if changed_after is not None else "已导出 "
    click.echo(
        f"{done}{snap.rows:,} 家企业的画像快照（画像日期 {day}，{len(snap.fields)} 个字段"
        f"{f'，截至导入批次 {batch}' if batch is not None else ''}）至 {out}"
    )


def _snapshot_day(profiles: Path, as_of: str | None) -> dt.date:
    from mianshen.scale.parquet import parquet_files, read_meta

    if not profiles.is_dir():
        raise InputError(f"画像快照目录不存在：{profiles}（先用 mianshen export-profiles 导出）")
    if not parquet_files(profiles):
        raise InputError(f"画像快照目录 {profiles} 中没有 Parquet 文件（先用 mianshen export-profiles 导出）")
    meta = read_meta(profiles)
    day = parse_as_of(as_of) if as_of or not (meta and meta.as_of) else meta.as_of
    if meta and meta.as_of and meta.as_of != day:
        click.echo(f"注意：快照的画像日期为 {meta.as_of}，与评估日 {day} 不同", err=True)
    return day


@cli.command("match-spark")
@click.option("--master", default="local[2]", show_default=True, help="Spark 主节点：local[N] 或 spark://主机:7077。")
@click.option("--profiles", "profiles_dir", required=True, type=click.Path(), help="画像快照目录（Parquet）。")
@click.option("--out", required=True, type=click.Path(), help="结果目录（匹配库格式的 Parquet）。")
@click.option("--as-of", "as_of", default=None, help="评估日期；默认为快照的画像日期。")
@policies_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出汇总。")
def match_spark(
    master: str, profiles_dir: str, out: str, as_of: str | None, policy_paths: tuple[str, ...], as_json: bool
) -> None:
    """在 Spark 上对画像快照匹配全部在有效期内的可筛查政策，结果按匹配库格式写为 Parquet。"""
    from mianshen.scale.session import check_master, spark_session
    from mianshen.scale.spark import match_snapshot

    check_master(master)
    profiles = Path(profiles_dir)
    day = _snapshot_day(profiles, as_of)
    policies = _policies(policy_paths)
    in_force = _in_force(policies, day)
    spark = spark_session(master)  # the running session when there is one (tests, notebooks)
    result = match_snapshot(spark, profiles, out, in_force, day)
    if as_json:
        summary = {
            "as_of": day.isoformat(),
            "enterprises": result.enterprises,
            "seconds": round(result.seconds, 3),
            "out": str(result.out),
            "policies": [
                {
                    "id": p.id,
                    "eligible": result.counts.get(p.id, {}).get("eligible", 0),
                    "ineligible": result.counts.get(p.id, {}).get("ineligible", 0),
                    "unknown": result.counts.get(p.id, {}).get("unknown", 0),
                    "total_amount": format(result.totals.get(p.id, 0), "f"),
                }
                for p in result.policies
            ],
        }
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    click.echo(f"评估日 {day}，{result.enterprises:,} 家企业，Spark {master}，匹配用时 {result.seconds:.1f} 秒")
    click.echo(f"{'政策':<28}{'符合':>8}{'不符合':>9}{'待补数据':>9}{'金额合计（元）':>18}")
    for p in result.policies:
        c = result.counts.get(p.id, {})
        title = p.title if len(p.title) <= 14 else p.title[:13] + "…"
        total = result.totals.get(p.id, 0)
        click.echo(
            f"{title:<28}{c.get('eligible', 0):>8,}{c.get('ineligible', 0):>9,}{c.get('unknown', 0):>9,}{total:>18,.2f}"
        )
    for p in policies:
        if p not in in_force and p.kind != "名单类":
            click.echo(f"未匹配（评估日不在有效期内）：{p.title}（{p.valid_from} 至 {p.valid_to or '长期'}）")
    click.echo(f"结果已写入 {out}（匹配库的一层：画像与各政策一列；用 mianshen match --from {out} 写入政策匹配库）")


@bench.command("spark")
@click.option("--enterprises", default=100000, show_default=True, type=click.IntRange(min=100), help="合成企业数。")
@click.option("--variants", default=0, show_default=True, type=click.IntRange(min=0), help="改用 N 个基准变体政策。")
@click.option("--master", default="local[2]", show_default=True, help="Spark 主节点。")
@click.option("--dir", "workdir", default=None, help="快照与结果目录，默认运行目录下的 bench-spark。")
@click.option("--as-of", "as_of", default="2025-06-30", show_default=True, help="评估日期。")
@click.option("--repeats", default=2, show_default=True, type=click.IntRange(min=1), help="每个引擎匹配几次。")
@policies_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
def bench_spark(
    enterprises: int,
    variants: int,
    master: str,
    workdir: str | None,
    as_of: str,
    repeats: int,
    policy_paths: tuple[str, ...],
    as_json: bool,
) -> None:
    """同一份 Parquet 画像快照上，Spark 与 DuckDB 的匹配用时（结果计数须一致）。"""
    from mianshen.scale.bench import run
    from mianshen.scale.session import check_master, spark_session

    check_master(master)
    day = parse_as_of(as_of)
    root = Path(workdir) if workdir else var_dir() / "bench-spark"
    if variants:
        from mianshen.benchmarks.variants import make_variants

        policies = [v.policy for v in make_variants(root / "variants", variants, policy_paths[0])]
    else:
        policies = _policies(policy_paths)
    result = run(lambda: spark_session(master), root, enterprises, policies, day, repeats)
    result["command"] = (
        f"mianshen bench spark --enterprises {enterprises} --variants {variants} --master {master} --repeats {repeats}"
    )
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"机器：{result['machine']}\n命令：{result['command']}")
    click.echo(f"{result['enterprises']:,} 家企业 × {result['policies']} 项政策 = {result['evaluations']:,} 次评估")
    if result["snapshot_seconds"] is not None:
        click.echo(f"生成快照：{result['snapshot_seconds']:.1f} s（{result['snapshot_mib']:.1f} MiB）")
    click.echo(f"Spark 会话启动：{result['spark_session_seconds']:.1f} s")
    for i, r in enumerate(result["spark_runs"], 1):
        click.echo(f"Spark 第 {i} 次匹配：{r['job']:.1f} s（含汇总 {r['with_summary']:.1f} s）")
    click.echo(f"DuckDB 匹配：{'、'.join(f'{s:.1f} s' for s in result['duckdb_runs'])}")
    click.echo(
        f"最快：Spark {result['spark_best_seconds']:.1f} s（{result['spark_per_second']:,.0f} 次/秒），"
        f"DuckDB {result['duckdb_best_seconds']:.1f} s（{result['duckdb_per_second']:,.0f} 次/秒）；"
        f"结果计数一致：{'是' if result['counts_equal'] else '否'}"
    )
