"""统一社会信用代码 (GB 32100-2015) with the inner organisation-code check (GB 11714).

A failed check is a warning an authorised official may override: real registries hold codes
that fail it, so callers must never silently drop such an enterprise.
"""

from __future__ import annotations

from dataclasses import dataclass

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, …
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]

SUBJECT_TYPES = {
    ("9", "1"): "企业",
    ("9", "2"): "个体工商户",
    ("9", "3"): "农民专业合作社",
    ("5", "1"): "社会组织",  # 社会团体
    ("5", "2"): "社会组织",  # 民办非企业单位
    ("5", "3"): "社会组织",  # 基金会
    ("1", "1"): "机关",
    ("1", "2"): "事业单位",
}


def check_char(first17: str) -> str:
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def org_check_char(first8: str) -> str:
    def value(c: str) -> int:
        return int(c) if c.isdigit() else ord(c) - ord("A") + 10

    rest = 11 - sum(value(c) * w for c, w in zip(first8, ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(rest, str(rest))


@dataclass(frozen=True)
class UsccCheck:
    code: str
    valid: bool
    problems: tuple[str, ...]
    subject_type: str | None
    region: str | None


def check_uscc(raw: str) -> UsccCheck:
    code = raw.strip().upper()
    problems: list[str] = []
    if len(code) != 18:
        return UsccCheck(code, False, (f"长度应为 18 位，实际 {len(code)} 位",), None, None)
    bad = [c for c in code if c not in CHARSET]
    if bad:
        return UsccCheck(code, False, (f"含有不允许的字符：{''.join(sorted(set(bad)))}",), None, None)
    if check_char(code[:17]) != code[17]:
        problems.append(f"第18位校验码应为 {check_char(code[:17])}，实际为 {code[17]}")
    org = code[8:17]
    if all(c.isdigit() or c in CHARSET for c in org[:8]) and org_check_char(org[:8]) != org[8]:
        problems.append(f"组织机构代码（第9–17位）校验位应为 {org_check_char(org[:8])}，实际为 {org[8]}")
    return UsccCheck(code, not problems, tuple(problems), SUBJECT_TYPES.get((code[0], code[1])), code[2:8])


def make_uscc(department: str, kind: str, region: str, org8: str) -> str:
    """A valid code from its parts (used by demo data and tests)."""
    first17 = department + kind + region + org8 + org_check_char(org8)
    return first17 + check_char(first17)
