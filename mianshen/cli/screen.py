"""`mianshen screen`: screen a population against every policy in force, on one SQL engine, through
the one assembler; nothing is written to the store (a match run does that), results optionally to
a Parquet file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from mianshen.cli.explain import parse_as_of
from mianshen.cli.main import cli, policies_option
from mianshen.errors import InputError, PolicyFileError
from mianshen.rules.loader import read_policies
from mianshen.rules.population import read_population
from mianshen.rules.versions import in_force as version_in_force
from mianshen.settings import current as settings
from mianshen.sqlgen.engines import duckdb_connect, sqlite_connect
from mianshen.sqlgen.screen import PolicySummary, screen, write_results

ENGINES = ("sqlite", "duckdb", "postgres")


def connect(engine: str, db: str | None) -> Any:
    if engine == "sqlite":
        if db:
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        return sqlite_connect(db or ":memory:")
    if engine == "duckdb":
        return duckdb_connect(db or ":memory:")
    url = db or settings().database_url
    if not url:
        raise InputError(
            "PostgreSQL 需要 --db 或环境变量 MIANSHEN_DATABASE_URL（如 postgresql://postgres@127.0.0.1:5432/test）"
        )
    import psycopg

    try:
        return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    except psycopg.OperationalError as exc:
        raise InputError(f"无法连接 PostgreSQL：{str(exc).strip().splitlines()[0]}") from exc


@cli.command("screen")
@policies_option
@click.option(
    "--profiles",
    "profiles_path",
    default=None,
    type=click.Path(),
    help="企业档案（JSON Lines）；不给出时读企业画像库。",
)
@click.option(
    "--store", "store_url", default=None, help="企业画像库地址（不给出 --profiles 时），默认 MIANSHEN_DATABASE_URL。"
)
@click.option("--as-of", "as_of", default=None, help="评估日期，如 2025-06-30；默认今天。")
@click.option("--engine", type=click.Choice(ENGINES), default="duckdb", show_default=True, help="在哪个数据库中筛查。")
@click.option("--db", default=None, help="筛查所用的 SQLite/DuckDB 文件或 PostgreSQL 连接串（默认内存中）。")
@click.option("--out", default=None, type=click.Path(), help="把每家企业、每项政策的结果写入这个 Parquet 文件。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出汇总。")
def screen_cmd(
    policy_paths: tuple[str, ...],
    profiles_path: str | None,
    store_url: str | None,
    as_of: str | None,
    engine: str,
    db: str | None,
    out: str | None,
    as_json: bool,
) -> None:
    """按评估日筛查全部企业：每项在有效期内的条件类、暂难数据化类政策，得出符合 / 不符合 / 待补充数据。"""
    day = parse_as_of(as_of)
    policies, diagnostics = read_policies(policy_paths)
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        raise PolicyFileError(errors)
    in_force = [p for p in policies if version_in_force(p, day)]
    if profiles_path is not None:
        profiles, rejected = read_population(profiles_path)
    else:
        profiles, rejected = _from_store(store_url, day, in_force), []
    for bad in rejected:
        click.echo(f"{profiles_path}:{bad.line}: 已拒收：{bad.reason}", err=True)
    conn = connect(engine, db)
    try:
        summaries = screen(conn, engine, in_force, profiles, day)
    finally:
        conn.close()
    saved = write_results(summaries, out, day) if out else None
    if as_json:
        click.echo(json.dumps(_as_json(summaries, day, len(profiles), rejected), ensure_ascii=False, indent=2))
    else:
        screened = {p.id for p in in_force}  # an earlier version that a renewal continues is history, not news
        skipped = [p for p in policies if p.id not in screened]
        _print(summaries, day, len(profiles), len(rejected), skipped, engine, saved)
    if rejected:
        sys.exit(1)


def _from_store(url: str | None, day: Any, policies: list[Any]) -> list[Any]:
    """The store's profiles as of the day: the snapshot a match run reads (pivoted by DuckDB)."""
    from mianshen.profiles.snapshot import build, evaluator_profiles
    from mianshen.sqlgen.compile import needed_fields
    from mianshen.store.db import open_store

    duck = duckdb_connect()
    try:
        with open_store(url).connect() as conn:
            snap = build(conn, duck, day, {f for p in policies for f in needed_fields(p)})
        return evaluator_profiles(duck, snap.table, snap.fields)
    finally:
        duck.close()


def _as_json(summaries: list[PolicySummary], day: Any, n: int, rejected: list[Any]) -> dict[str, Any]:
    return {
        "as_of": day.isoformat(),
        "enterprises": n,
        "rejected": [{"line": r.line, "reason": r.reason} for r in rejected],
        "policies": [
            {
                "id": s.policy.id,
                "title": s.policy.title,
                "eligible": s.count("eligible"),
                "ineligible": s.count("ineligible"),
                "unknown": s.count("unknown"),
                "total_amount": format(s.total, "f"),
                "missing": s.missing(),
            }
            for s in summaries
        ],
    }


def _print(
    summaries: list[PolicySummary], day: Any, n: int, rejected: int, skipped: list[Any], engine: str, saved: int | None
) -> None:
    click.echo(f"评估日 {day}，{n} 家企业（拒收 {rejected} 行），引擎 {engine}")
    click.echo(f"{'政策':<28}{'符合':>6}{'不符合':>7}{'待补数据':>8}{'金额合计（元）':>18}")
    for s in summaries:
        title = s.policy.title if len(s.policy.title) <= 14 else s.policy.title[:13] + "…"
        click.echo(
            f"{title:<28}{s.count('eligible'):>6}{s.count('ineligible'):>7}{s.count('unknown'):>8}{s.total:>18,.2f}"
        )
        for cid, count in list(s.missing().items())[:3]:
            click.echo(f"    待补充：条件 {cid} 缺数据 {count} 家")
    for p in skipped:
        click.echo(f"未筛查（评估日不在有效期内）：{p.title}（{p.valid_from} 至 {p.valid_to or '长期'}）")
    if saved is not None:
        click.echo(f"结果 {saved} 行已写入 Parquet 文件（每家企业、每项政策一行）")
