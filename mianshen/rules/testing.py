"""Running the tests written inside policy files (given profile and date → expected outcome)."""

from __future__ import annotations

from dataclasses import dataclass

from mianshen.numbers import money_text
from mianshen.rules.ast import Policy, PolicyTest
from mianshen.rules.evaluate import evaluate
from mianshen.rules.profile import Profile
from mianshen.rules.trace import STATUS_LABELS


@dataclass
class TestOutcome:
    policy: Policy
    test: PolicyTest
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems


def run_test(policy: Policy, test: PolicyTest) -> TestOutcome:
    result = evaluate(policy, Profile(test.name, dict(test.profile)), test.as_of)
    problems = []
    if result.status != test.status:
        problems.append(
            f"状态应为 {test.status}（{STATUS_LABELS[test.status]}），实际为 {result.status}（{STATUS_LABELS[result.status]}）"
        )
    if test.amount is not None and result.amount != test.amount:
        got = money_text(result.amount) if result.amount is not None else "无"
        problems.append(f"金额应为 {money_text(test.amount)}，实际为 {got}")
    if test.amount is None and test.status == "eligible" and result.amount is None:
        problems.append("符合条件但金额无法计算")
    if test.failed is not None and set(result.failed) != test.failed:
        problems.append(f"未满足条件应为 {sorted(test.failed)}，实际为 {result.failed}")
    if test.unknown is not None and set(result.unknown) != test.unknown:
        problems.append(f"缺数据条件应为 {sorted(test.unknown)}，实际为 {result.unknown}")
    if problems:
        problems.extend("  · " + c.text for c in result.conditions)
    return TestOutcome(policy, test, problems)


def run_tests(policies: list[Policy]) -> list[TestOutcome]:
    return [run_test(p, t) for p in policies for t in p.tests]
