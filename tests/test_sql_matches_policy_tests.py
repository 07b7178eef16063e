"""Every test written in a shipped policy gives the same outcome on every SQL engine as in Python."""

from __future__ import annotations

from typing import Any

import pytest

from mianshen.rules.ast import Policy
from mianshen.rules.evaluate import evaluate
from mianshen.rules.profile import Profile
from mianshen.sqlgen.compile import compile_policy
from mianshen.sqlgen.engines import load_profiles, run_compiled

from .conftest import ENGINES


@pytest.mark.parametrize("engine", ENGINES)
def test_shipped_policy_tests_agree_on_every_engine(
    engine: str, engines: dict[str, Any], shipped_policies: list[Policy]
) -> None:
    conn = engines[engine]
    checked = 0
    for policy in shipped_policies:
        for index, case in enumerate(policy.tests):
            expected = evaluate(policy, Profile(case.name, dict(case.profile)), case.as_of)
            compiled = compile_policy(policy, case.as_of, engine)
            load_profiles(conn, engine, "profiles", compiled.fields, [(f"case{index}", case.profile)])
            (row,) = run_compiled(conn, compiled)
            got = (row.status, row.amount, list(row.failed), list(row.unknown))
            assert got == (expected.status, expected.amount, expected.failed, expected.unknown), (policy.id, case.name)
            checked += 1
    assert checked >= 32  # 8 policies × at least 4 tests each
