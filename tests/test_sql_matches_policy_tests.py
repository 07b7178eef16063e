"""Every test written in a shipped policy gives the same outcome on every SQL engine as in Python
(one item per engine and policy, so one disagreement hides no other policy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mianshen.rules.ast import Policy
from mianshen.rules.evaluate import evaluate
from mianshen.rules.loader import SHIPPED
from mianshen.rules.profile import Profile
from mianshen.sqlgen.assemble import assemble
from mianshen.sqlgen.engines import load_profiles, run_assembly

from .conftest import ENGINES

POLICY_IDS = sorted(p.stem for p in SHIPPED.glob("*.yaml"))  # one per file: a renewal is <id>.v2


@pytest.mark.parametrize("policy_id", POLICY_IDS)
@pytest.mark.parametrize("engine", ENGINES)
def test_shipped_policy_tests_agree_on_every_engine(
    engine: str, policy_id: str, engines: dict[str, Any], shipped_policies: list[Policy]
) -> None:
    conn = engines[engine]
    (policy,) = [p for p in shipped_policies if Path(p.path).stem == policy_id]
    assert len(policy.tests) >= 4
    for index, case in enumerate(policy.tests):
        expected = evaluate(policy, Profile(case.name, dict(case.profile)), case.as_of)
        assembly = assemble([policy], case.as_of, engine, "profiles", masks="all")
        load_profiles(conn, engine, "profiles", assembly.fields, [(f"case{index}", case.profile)])
        (row,) = run_assembly(conn, assembly)[policy.id]
        got = (row.status, row.amount, list(row.failed), list(row.unknown))
        assert got == (expected.status, expected.amount, expected.failed, expected.unknown), case.name
