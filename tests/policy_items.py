"""A pytest collector for the tests written inside policy files: each `tests:` entry of each policy
is its own test item, named by the policy id and the test name, so one failure hides no other.

A test module opts in with `test_… = PolicyTests(folder)`; conftest.py's `pytest_pycollect_makeitem`
turns that object into a `PolicyFolder` collector. A file that does not load is one failing item
carrying the loader's diagnostics (file:line:column).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mianshen.errors import Diagnostic
from mianshen.rules.ast import Policy, PolicyTest
from mianshen.rules.loader import read_policies
from mianshen.rules.testing import run_test


@dataclass(frozen=True)
class PolicyTests:
    folder: Path


class PolicyTestFailed(Exception):
    pass


class PolicyFolder(pytest.Collector):
    def __init__(self, *, source: PolicyTests, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        policies, diagnostics = read_policies([self.source.folder])
        errors: dict[str, list[Diagnostic]] = {}
        for d in diagnostics:
            if d.severity == "error":
                errors.setdefault(d.location.file, []).append(d)
        for file, diags in errors.items():
            yield BrokenPolicyFile.from_parent(self, name=Path(file).name, diagnostics=diags)
        for policy in policies:
            yield PolicyCases.from_parent(self, name=Path(policy.path).stem, policy=policy)  # <id> or <id>.vN


class PolicyCases(pytest.Collector):
    def __init__(self, *, policy: Policy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = policy

    def collect(self) -> Iterator[pytest.Item]:
        seen: dict[str, int] = {}
        for case in self.policy.tests:
            seen[case.name] = seen.get(case.name, 0) + 1
            name = case.name if seen[case.name] == 1 else f"{case.name}（{seen[case.name]}）"
            yield PolicyCase.from_parent(self, name=name, policy=self.policy, case=case)


class PolicyCase(pytest.Item):
    def __init__(self, *, policy: Policy, case: PolicyTest, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy, self.case = policy, case

    def runtest(self) -> None:
        outcome = run_test(self.policy, self.case)
        if not outcome.passed:
            raise PolicyTestFailed(
                "\n".join([f"{self.case.loc}: {self.policy.id} · {self.case.name}"] + outcome.problems)
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, PolicyTestFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return Path(self.policy.path), max(self.case.loc.line - 1, 0), f"{self.policy.id}::{self.case.name}"


class BrokenPolicyFile(pytest.Item):
    def __init__(self, *, diagnostics: list[Diagnostic], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.diagnostics = diagnostics

    def runtest(self) -> None:
        raise PolicyTestFailed("\n".join(str(d) for d in self.diagnostics))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int, str]:
        return Path(self.diagnostics[0].location.file), 0, self.name
