"""Profile snapshots: the wide table DuckDB pivots from the observation mirror holds, for every
registered enterprise and every field, the value `profile show` gives (derived tags included), and
a mirror file that is missing, half-written or left by a rolled-back import is never trusted."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from mianshen.catalogue import load_catalogue
from mianshen.profiles import mirror
from mianshen.profiles.current import read_profile
from mianshen.profiles.snapshot import build
from mianshen.sqlgen.duck import duckdb_connect
from mianshen.store.schema import enterprises

from . import matching_fixtures as fx
from .matching_fixtures import AS_OF, N

demo, populated = fx.demo, fx.populated

BARE = "91410100MA9XYZ0000"  # registered, never observed by any source


def _snapshot(engine: Engine, as_of: dt.date = AS_OF, scope: Any = None) -> dict[str, dict[str, Any]]:
    fields = set(load_catalogue().fields)
    duck = duckdb_connect()
    try:
        with engine.connect() as conn:
            snap = build(conn, duck, as_of, fields, scope=scope)
        names = ["id", *snap.fields]
        rows = duck.execute(f"SELECT {', '.join(names)} FROM {snap.table}").fetchall()
    finally:
        duck.close()
    return {r[0]: {n: v for n, v in zip(names[1:], r[1:], strict=True) if v is not None} for r in rows}


def _expected(conn: Any, uscc: str, as_of: dt.date) -> dict[str, Any]:
    """`profile show`'s values as batch SQL stores them (tags as "|a|b|")."""
    out = {}
    for name, item in read_profile(conn, uscc, as_of).fields.items():
        value = item.value
        out[name] = "|" + "|".join(sorted(value)) + "|" if isinstance(value, frozenset) else value
    return out


def test_snapshot_is_every_profile_as_profile_show_gives_it(populated: Engine) -> None:
    with populated.begin() as conn:
        conn.execute(enterprises.insert().values(uscc=BARE, name="无数据企业", uscc_status="valid"))
    for as_of in (AS_OF, dt.date(2024, 12, 31)):  # an earlier date leaves out later observations
        snap = _snapshot(populated, as_of)
        with populated.connect() as conn:
            registered = set(conn.execute(select(enterprises.c.uscc)).scalars())
            assert set(snap) == registered and len(snap) == N + 1
            for uscc in sorted(snap):
                assert snap[uscc] == _expected(conn, uscc, as_of), uscc
    assert set(snap[BARE]) <= {"subject_type"}  # nothing observed: only what its code says


def test_a_scoped_snapshot_reads_only_those_enterprises(populated: Engine) -> None:
    everyone = _snapshot(populated)
    some = sorted(everyone)[::9]
    scoped = _snapshot(populated, scope=some)
    assert sorted(scoped) == some and all(scoped[u] == everyone[u] for u in some)


def test_a_missing_or_untrusted_mirror_file_is_copied_from_the_store(populated: Engine) -> None:
    expected = _snapshot(populated)
    with populated.connect() as conn:
        folder = mirror.folder(conn)
    files = sorted(folder.glob("batch-*.parquet"))
    assert len(files) == len(fx_files(populated))
    files[0].unlink()  # lost
    files[1].write_bytes(b"not parquet")  # half-written
    stray = folder / mirror.file_name(99, "0" * 16)  # a rolled-back import's file: no batch 99 commits
    stray.write_bytes(files[2].read_bytes())
    assert _snapshot(populated) == expected
    assert files[0].exists()


def fx_files(engine: Engine) -> list[Path]:
    with engine.connect() as conn:
        return sorted(mirror.folder(conn).glob("batch-*.parquet"))
