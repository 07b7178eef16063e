"""`mianshen verify FILE`, `mianshen archive list|export|run`, `mianshen seal list|rotate` (docs/trust.md)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import Connection

from mianshen.cli.actor import actor_options
from mianshen.cli.data import DB_OPTION
from mianshen.cli.main import cli
from mianshen.errors import InputError
from mianshen.store.db import open_store

if TYPE_CHECKING:  # the signing stack (GmSSL, fpdf) loads with the command that needs it, not with --help
    from mianshen.trust.verify import Outcome


def _echo(out: Outcome, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(out.as_json(), ensure_ascii=False, indent=2))
    else:
        head = f"{out.title}（{out.code}）" if out.code else out.title or "文件"
        click.echo(f"{head}：{'核验通过' if out.ok else '核验未通过'}")
        for line in out.checked:
            click.echo(f"  ✓ {line}")
        for line in out.problems:
            click.echo(f"  ✗ {line}")
    if not out.ok:
        sys.exit(1)


def _rows(read: Callable[[Connection], list[dict[str, Any]]], db: str | None, as_json: bool) -> list[dict[str, Any]]:
    """Rows read from the store; printed as JSON (and none returned to print as lines) when asked for JSON."""
    from mianshen.store.db import reading

    with reading(open_store(db)) as conn:
        rows = read(conn)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return []
    return rows


@cli.command("verify")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--keys",
    "keys_file",
    type=click.Path(exists=True, path_type=Path),
    help="平台公布的验证密钥清单（/verify/keys 另存的 JSON）。",
)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@DB_OPTION
def verify_cmd(path: Path, keys_file: Path | None, as_json: bool, db: str | None) -> None:
    """核验平台签发的文件：PDF、签名 JSON，或案件电子档案（ZIP 或解开的目录）。

    档案包和带 keys.json 的文件离线核验，不需要数据库；否则对照数据库中的签发记录、案件与审计日志。
    核验未通过时退出码为 1，并逐条写明原因。
    """
    from mianshen.trust import keys, offline, verify

    published = None
    if keys_file is not None:
        try:
            published = [keys.PublicKey.from_json(k) for k in json.loads(keys_file.read_text(encoding="utf-8"))]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{keys_file}：不是验证密钥清单（应为 /verify/keys 返回的 JSON 数组）") from exc
    found = offline.check_path(path, published)
    if found is not None:
        _echo(found, as_json)
        return
    from mianshen.store.db import database_url, reading

    url = database_url(db)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).is_file():
        raise InputError(
            f"找不到数据库 {url[len('sqlite:///') :]}：对照平台记录核验请用 --db 指定数据库；"
            "离线核验请把文件与 keys.json 放在同一目录，或用 --keys 指定验证密钥清单"
        )
    with reading(open_store(url)) as conn:
        key_list = keys.public_keys(conn)
        data = path.read_bytes()
        if data.startswith(b"%PDF"):
            found = verify.pdf_in_store(conn, key_list, data)
        else:
            found = verify.json_in_store(conn, key_list, data)
    _echo(found, as_json)


@cli.group("archive")
def archive_group() -> None:
    """案件电子档案：已办结案件封存为档案包，可列出、导出，离线核验。"""


@archive_group.command("run")
@DB_OPTION
def archive_run(db: str | None) -> None:
    """立即归档全部已办结、尚未归档的案件（定时任务 archive_cases 也做这件事）。"""
    from mianshen.clock import today
    from mianshen.jobs.tasks import archive_cases

    click.echo(archive_cases(open_store(db), today()).message)


@archive_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@DB_OPTION
def archive_list(as_json: bool, db: str | None) -> None:
    """列出档案包（最近 500 个）。"""
    from mianshen.trust import archive

    rows = _rows(archive.listing, db, as_json)
    for r in rows:
        click.echo(f"档案 {r['id']}  案件 {r['case_id']}  {r['closing_label']}  SM3 {r['package_sm3'][:16]}…")
    if not as_json:
        click.echo(f"共 {len(rows)} 个档案包")


@archive_group.command("export")
@click.argument("archive_id", type=int)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@DB_OPTION
def archive_export(archive_id: int, folder: Path, db: str | None) -> None:
    """把档案包导出到 FOLDER（供审计离线核验：mianshen verify FOLDER/文件名.zip）。"""
    from mianshen.store.db import reading
    from mianshen.trust import archive

    with reading(open_store(db)) as conn:
        found = archive.package(conn, archive_id)
    if found is None:
        raise InputError(f"档案 {archive_id} 不存在（用 mianshen archive list 查看）")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / found[0]
    target.write_bytes(found[1])
    click.echo(f"已导出 {target}")


@cli.group("seal")
def seal_group() -> None:
    """电子印章密钥（SM2）：列出公布的验证密钥、轮换。"""


@seal_group.command("list")
@DB_OPTION
def seal_list(db: str | None) -> None:
    """验证密钥清单（与 /verify/keys 相同）。"""
    from mianshen.store.db import reading
    from mianshen.trust import keys

    with reading(open_store(db)) as conn:
        click.echo(json.dumps([k.as_json() for k in keys.public_keys(conn)], ensure_ascii=False, indent=2))


@seal_group.command("rotate")
@click.argument("seal")
@click.option("--reason", required=True, help="轮换原因（写入审计日志）。")
@actor_options("platform_admin")
@DB_OPTION
def seal_rotate(seal: str, reason: str, actor: object, db: str | None) -> None:
    """轮换 SEAL（部门名称或“免申即享平台”）的签名密钥：旧密钥停用，已签文件仍可核验。"""
    from mianshen.audit.log import Actor
    from mianshen.trust import keys

    assert isinstance(actor, Actor)
    if actor.role != "platform_admin":
        raise InputError("只有平台管理员可以轮换印章密钥")
    with open_store(db).begin() as conn:
        new = keys.rotate(conn, seal, actor, reason)
    click.echo(f"已为“{seal}”启用新密钥 {new.key_id}，旧密钥已停用")


@cli.group("routes")
def routes_group() -> None:
    """守信激励：审核路由（免审直达、常规审核、重点审核）统计与免审直达抽查。"""


@routes_group.command("summary")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@DB_OPTION
def routes_summary(as_json: bool, db: str | None) -> None:
    """每项政策各路由的案件数、抽中复查数与抽查结果。"""
    from mianshen.trust import routing

    rows = _rows(routing.summary, db, as_json)
    for r in rows:
        click.echo(
            f"{r['policy_id']}  {r['label']}：{r['cases']} 件，抽中 {r['sampled']}，已查 {r['checked']}，未通过 {r['failed']}"
        )


@routes_group.command("sample-check")
@click.argument("case_id", type=int)
@click.option("--passed/--failed", required=True, help="抽查是否通过。")
@click.option("--note", required=True, help="抽查情况。")
@actor_options("department")
@DB_OPTION
def routes_sample_check(case_id: int, passed: bool, note: str, actor: object, db: str | None) -> None:
    """登记被抽中复查的免审直达案件的抽查结果（政策执行部门）。"""
    from mianshen.audit.log import Actor
    from mianshen.trust import routing

    assert isinstance(actor, Actor)
    with open_store(db).begin() as conn:
        routing.record_sample(conn, case_id, actor, passed, note)
    click.echo(f"已登记案件 {case_id} 的抽查结果：{'通过' if passed else '未通过'}")
