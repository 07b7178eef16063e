"""A match run killed with SIGKILL at any point — while writing its library files, after writing them,
in the middle of its store writes, just before its commit, or after its commit — leaves the previous
library and the store exactly as they were (or, after the commit, exactly as the finished run left
them), and simply running again completes.

The run happens in a child process that replaces one step of the run with `os.kill(SIGKILL)`, so
the kill lands exactly there, deterministically.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from mianshen.audit.batches import verify_batches
from mianshen.audit.log import verify
from mianshen.matching import library as lib
from mianshen.matching.read import pairs
from mianshen.matching.runs import run_match
from mianshen.profiles.demo_data import DemoSummary
from mianshen.profiles.imports import import_file
from mianshen.store.schema import audit_log, cases, data_requests, match_changes, match_policies, match_runs

from . import matching_fixtures as fx
from .matching_fixtures import AS_OF, publish
from .test_matching import _flip_dishonesty

demo, populated = fx.demo, fx.populated

CHILD = """
import datetime as dt, os, signal, sys
import importlib
from mianshen.store.db import open_store
from mianshen.matching.runs import run_match
module, name, after = sys.argv[2], sys.argv[3], int(sys.argv[4])
target = importlib.import_module(module)
original = getattr(target, name)
calls = []
def killing(*args, **kwargs):
    calls.append(1)
    if len(calls) > after:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(*args, **kwargs)
setattr(target, name, killing)
run_match(open_store(sys.argv[1]), dt.date.fromisoformat(sys.argv[5]))
print("finished")
"""

# (module, function, calls let through before the kill): along a run, in order
POINTS = [
    ("mianshen.matching.evaluation", "copy", 1),  # the layer's files half written
    ("mianshen.matching.runs", "compare", 0),  # every file written, nothing in the store yet
    ("mianshen.matching.runs", "sync", 0),  # changes and cases written, not committed
    ("mianshen.matching.runs", "record", 0),  # the run's last statement, just before the commit
    ("mianshen.matching.library", "clean", 0),  # committed; the old folders not yet removed
]


def state(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        counted = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (match_runs, match_policies, match_changes, cases, data_requests, audit_log)
        }
        manifest = lib.latest(conn)
        found = {(p.policy_id, p.uscc): (p.status, p.amount, p.unknown) for p in pairs(conn)}
        problems = lib.verify(manifest, lib.root(conn)) if manifest else []
        chain = verify(conn).first_broken
        batches = verify_batches(conn)
    return {"counts": counted, "run": manifest.run if manifest else None, "pairs": found} | {
        "problems": problems,
        "chain": chain,
        "batches": batches,
    }


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.mark.parametrize(("module", "name", "after"), POINTS)
def test_a_killed_run_leaves_library_and_store_as_they_were(
    populated: Engine, demo: DemoSummary, tmp_path: Path, module: str, name: str, after: int
) -> None:
    publish(populated)
    run_match(populated, AS_OF)
    _flip_dishonesty(demo, None, tmp_path, "credit-flip.csv", every=5)
    assert import_file(populated, "credit", tmp_path / "credit-flip.csv", AS_OF).accepted > 0
    before = state(populated)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, _url(populated), module, name, str(after), AS_OF.isoformat()],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    assert child.returncode == -9, child.stderr  # killed, not finished
    after_kill = state(populated)
    if name == "clean":  # the kill came after the commit: the run is whole
        assert after_kill["run"] == before["run"] + 1 and after_kill["problems"] == []
    else:
        assert after_kill == before
    again = run_match(populated, AS_OF)
    final = state(populated)
    assert final["problems"] == [] and final["chain"] is None and final["batches"] == []
    if name != "clean":
        assert again.scope == "incremental" and again.changed > 0
    with populated.connect() as conn:  # what the killed run left is gone once a run has committed
        manifests = [
            lib.Manifest.from_json(m) for m in conn.execute(select(match_runs.c.manifest)).scalars() if m is not None
        ]
        folders = {p.name for p in lib.root(conn).glob("run-*")}
    assert folders == {layer.folder for m in manifests for layer in m.layers} | {m.folder for m in manifests}
