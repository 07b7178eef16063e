"""USCC vectors from domain.md §4, and the kind/region description the CLI shows."""

from __future__ import annotations

import pytest

from mianshen.reference.uscc import check_uscc, describe_kind

VALID = [
    "91110108551385082Q",
    "91370000728611939A",
    "52410000663412719U",
    "531000005000160090",
    "91110000600037341L",
    "91440101MA5CJQ4N59",
]


@pytest.mark.parametrize("code", VALID)
def test_valid_vectors(code: str) -> None:
    check = check_uscc(code)
    assert check.valid and check.problems == ()


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("91110108551385082F", "第18位校验码应为 Q，实际为 F"),
        ("91350203M0001QAY9B", "第18位校验码应为 9，实际为 B"),  # real registry code that fails
        ("9111010855138508", "长度应为 18 位"),
        ("91110108551385082I", "不允许的字符：I"),
    ],
)
def test_invalid_vectors(code: str, problem: str) -> None:
    check = check_uscc(code)
    assert not check.valid and any(problem in p for p in check.problems)


def test_subject_types_and_kinds() -> None:
    assert check_uscc("91110108551385082Q").subject_type == "企业"
    assert describe_kind("91110108551385082Q") == ("工商（市场监管）", "企业")
    assert describe_kind("52410000663412719U") == ("民政", "民办非企业单位")
    assert describe_kind("531000005000160090") == ("民政", "基金会")
    assert describe_kind("Z9") == (None, None)
