"""The electronic archive (trust/archive.py): the worker seals ended cases; a package copied to an empty
folder verifies with `mianshen verify` and no store; a changed file, a re-signed manifest or a stranger's
key fails with the reason."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine, select

from mianshen.cases import transitions as tr
from mianshen.cli.main import cli, load_commands
from mianshen.clock import today
from mianshen.jobs.tasks import archive_cases
from mianshen.store.schema import cases
from mianshen.trust import archive, keys
from mianshen.trust.tables import case_archives

from .test_cases_fixtures import KJ, sm4_key, to_publicity
from .test_trust_documents import paid_case

__all__ = ["sm4_key"]
ROOT = Path(__file__).resolve().parent.parent


def archived(store: Engine) -> tuple[int, bytes]:
    case_id = paid_case(store)
    rejected = to_publicity(store, 4, "1000.00")
    with store.begin() as conn:
        tr.reject(conn, rejected, KJ, "复核发现不符合条件")
    assert archive_cases(store, today()).changed == 2
    assert archive_cases(store, today()).changed == 0  # once per case and closing state
    with store.begin() as conn:
        assert conn.execute(select(cases.c.state).where(cases.c.id == case_id)).scalar_one() == "archived"
        rows = archive.listing(conn)
        assert {(r["case_id"], r["closing_label"]) for r in rows} == {(case_id, "已拨付"), (rejected, "不予通过")}
        found = archive.package(conn, next(r["id"] for r in rows if r["case_id"] == case_id))
    assert found is not None
    return case_id, found[1]


def verify_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`mianshen verify` as a separate process in `folder`, with no database configured anywhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIANSHEN_")}
    env |= {"PYTHONPATH": str(ROOT), "MIANSHEN_VAR_DIR": str(folder / "var")}
    return subprocess.run(
        [sys.executable, "-m", "mianshen", "verify", *args], cwd=folder, env=env, capture_output=True, text=True
    )


def test_archive_verifies_offline_in_an_empty_folder(store: Engine, tmp_path: Path) -> None:
    case_id, package = archived(store)
    names = set(zipfile.ZipFile(io.BytesIO(package)).namelist())
    assert {"manifest.json", "manifest.sig.json", "keys.json", "case.json", "events.json", "audit.json"} <= names
    assert {"evidence.json", "policy.yaml"} <= names and len([n for n in names if n.endswith(".pdf")]) == 3
    empty = tmp_path / "审计"
    empty.mkdir()
    (empty / "档案.zip").write_bytes(package)
    done = verify_in(empty, "档案.zip")
    assert done.returncode == 0, done.stderr
    assert "核验通过" in done.stdout and "文件与封存时一致" in done.stdout
    assert not (empty / "var").exists()  # no store was opened or made

    unpacked = empty / "解开"
    zipfile.ZipFile(empty / "档案.zip").extractall(unpacked)
    assert verify_in(empty, "解开").returncode == 0
    pdf = next((unpacked / "documents").glob("*.pdf"))
    lone = verify_in(empty, str(pdf.relative_to(empty)))  # keys.json is not beside it, and there is no store
    assert lone.returncode == 2 and "找不到数据库" in lone.stderr and "keys.json" in lone.stderr
    assert not (empty / "var").exists()
    shutil.copy(unpacked / "keys.json", unpacked / "documents" / "keys.json")
    beside = verify_in(empty, str(pdf.relative_to(empty)))  # with the key list beside it: offline
    assert beside.returncode == 0 and "PDF 文件与签发时逐字节一致" in beside.stdout, beside.stdout + beside.stderr
    (unpacked / "documents" / "keys.json").unlink()
    receipt = json.loads((unpacked / "case.json").read_text(encoding="utf-8"))
    assert receipt["id"] == case_id and "**** ****" in receipt["bank_account"]

    events = unpacked / "events.json"
    events.write_text(events.read_text(encoding="utf-8").replace("300000.00", "900000.00"), encoding="utf-8")
    failed = verify_in(empty, "解开")
    assert failed.returncode == 1 and "文件 events.json 与封存时不一致（SM3 摘要不同）：已被改动" in failed.stdout


def test_a_resigned_package_fails_against_the_published_keys(store: Engine, tmp_path: Path) -> None:
    """Someone rebuilds a package with a key of their own: its own keys.json agrees, the published list not."""
    from mianshen.audit.log import canonical, digest
    from mianshen.trust import sm2

    _, package = archived(store)
    with store.begin() as conn:
        published = [k.as_json() for k in keys.public_keys(conn)]
    (tmp_path / "keys.json").write_text(json.dumps(published), encoding="utf-8")
    sealed = zipfile.ZipFile(io.BytesIO(package))
    files = {n: sealed.read(n) for n in sealed.namelist()}
    public, private = sm2.generate()
    stranger = {"key_id": "ffff000011112222", "seal": "免申即享平台", "public_key": sm2.public_hex(public)}
    stranger |= {"valid_from": "2020-01-01T00:00:00+00:00", "valid_to": "2099-01-01T00:00:00+00:00", "retired_at": None}
    files["case.json"] = files["case.json"].replace(b"300000.00", b"900000.00")
    files["keys.json"] = json.dumps(json.loads(files["keys.json"]) + [stranger]).encode()
    manifest = json.loads(files["manifest.json"])
    manifest["files"] = {n: digest(files[n]) for n in manifest["files"]}
    manifest["key_id"] = stranger["key_id"]
    signature = sm2.sign(private, public, canonical(manifest).encode())
    files["manifest.json"] = json.dumps(manifest, ensure_ascii=False).encode()
    files["manifest.sig.json"] = json.dumps({"key_id": stranger["key_id"], "value": signature}).encode()
    forged = tmp_path / "forged"
    for name, data in files.items():
        (forged / name).parent.mkdir(parents=True, exist_ok=True)
        (forged / name).write_bytes(data)
    assert verify_in(tmp_path, "forged").returncode == 0  # self-consistent on its own keys …
    refused = verify_in(tmp_path, "forged", "--keys", "keys.json")
    assert (
        refused.returncode == 1
        and "ffff000011112222" in refused.stdout
        and "不在平台公布的验证密钥清单中" in refused.stdout
    )


def test_export_command_writes_the_sealed_bytes(store: Engine, tmp_path: Path) -> None:
    _, package = archived(store)
    load_commands(("archive",))
    url = str(store.url)
    with store.connect() as conn:
        archive_id = conn.execute(select(case_archives.c.id).where(case_archives.c.closing == "paid")).scalar_one()
    result = CliRunner().invoke(cli, ["archive", "export", str(archive_id), str(tmp_path / "out"), "--db", url])
    assert result.exit_code == 0, result.output
    exported = next((tmp_path / "out").glob("*.zip"))
    assert exported.read_bytes() == package
    listed = CliRunner().invoke(cli, ["archive", "list", "--db", url])
    assert listed.exit_code == 0 and f"档案 {archive_id}" in listed.output and "共 2 个档案包" in listed.output
    missing = CliRunner().invoke(cli, ["archive", "export", "999", str(tmp_path / "out"), "--db", url])
    assert missing.exit_code == 2 and "档案 999 不存在" in missing.output
    shutil.rmtree(tmp_path / "out")
