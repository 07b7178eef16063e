"""Issue 16, M8 (second half): a rewrite of the audit log that recomputes every later hash verifies
link by link; keyed checkpoints of the chain's head (HMAC-SM3, key outside the store) find it."""

from __future__ import annotations

import datetime as dt
import os
import stat

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, text

from mianshen.audit.anchors import KEY_ENV, checkpoint, key_path
from mianshen.audit.log import GENESIS, _row_content, digest, verify
from mianshen.cli import audit as _audit  # noqa: F401  (registers the command)
from mianshen.cli.main import cli
from mianshen.jobs.runner import run_once
from mianshen.store.schema import audit_checkpoints, audit_log

from .test_audit import _fill, _url, _verify


def rewrite(store: Engine, victim: int, actor: str = "李四") -> None:
    """What someone with write access to the database but not the key can do: edit one row and
    recompute its hash and every later row's link and hash, so each row verifies on its own."""
    with store.begin() as conn:
        rows = [dict(r) for r in conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings()]
        prev = GENESIS
        for row in rows:
            if row["at"].tzinfo is None:
                row["at"] = row["at"].replace(tzinfo=dt.UTC)
            if row["id"] == victim:
                row["actor"] = actor
            row["prev_hash"] = prev
            row["row_hash"] = prev = digest(_row_content(row), row["algorithm"])
            values = {k: row[k] for k in ("actor", "prev_hash", "row_hash")}
            conn.execute(audit_log.update().where(audit_log.c.id == row["id"]).values(**values))


def test_a_recomputed_chain_is_found_by_its_checkpoint(store: Engine) -> None:
    ids = _fill(store)
    assert _verify(store)[0] == 0  # verifying a whole chain writes a checkpoint of its head
    rewrite(store, ids[1])
    with store.connect() as conn:
        check = verify(conn)
    assert check.first_broken == ids[-1] and "检查点不符" in check.problem and "被改写" in check.problem
    code, out = _verify(store)  # before: “审计链完整” — every link and hash fits
    assert code == 1 and f"id={ids[-1]}" in out and "被改写" in out


def test_the_key_is_kept_apart_and_a_forged_checkpoint_is_found(store: Engine) -> None:
    ids = _fill(store)
    with store.begin() as conn:
        assert checkpoint(conn) is not None and checkpoint(conn) is None  # nothing new: no second one
        path = key_path(conn)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    rewrite(store, ids[1])
    with store.begin() as conn:  # …and the forger also moves the checkpoint to the new head hash
        head = conn.execute(select(audit_log.c.row_hash).order_by(audit_log.c.id.desc()).limit(1)).scalar_one()
        conn.execute(audit_checkpoints.update().values(last_hash=head))
    code, out = _verify(store)
    assert code == 1 and "检查点签名不符" in out


def test_deleting_the_newest_rows_is_found(store: Engine) -> None:
    ids = _fill(store)
    assert _verify(store)[0] == 0
    with store.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id >= :i"), {"i": ids[3]})
    code, out = _verify(store)  # before: whole, 3 rows
    assert code == 1 and f"第 {ids[-1]} 号记录已不存在" in out


def test_the_worker_anchors_periodically_and_the_key_may_come_from_the_environment(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "ab" * 32)
    _fill(store)
    run_once(store, names=["anchor_audit"])
    _fill(store, 2)
    run_once(store, names=["anchor_audit"])  # within the interval: no second checkpoint yet
    with store.connect() as conn:
        assert conn.execute(select(audit_checkpoints.c.last_id)).scalars().all() == [5]
        assert not key_path(conn).exists()  # the key came from the environment
    assert CliRunner().invoke(cli, ["audit", "verify", "--db", _url(store)]).exit_code == 0
    monkeypatch.setenv(KEY_ENV, "cd" * 32)  # another key: the checkpoints cannot be trusted
    code, out = _verify(store)
    assert code == 1 and "审计密钥" in out


def test_the_audit_page_reports_a_rewritten_chain(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from .test_web_console_fixtures import add_staff, login

    monkeypatch.setenv("MIANSHEN_FAST_HASH", "1")
    ids = _fill(store)
    add_staff(store)
    aud = login(store, "aud")
    assert "哈希链校验通过" in aud.get("/audit").text  # and anchored
    rewrite(store, ids[0])
    page = aud.get("/audit").text
    assert "哈希链校验未通过" in page and "被改写" in page
    assert aud.get("/api/audit/verify").json()["ok"] is False
