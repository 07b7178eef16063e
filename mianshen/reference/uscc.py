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

# GB 32100-2015 登记管理部门代码 (pos 1) and 机构类别代码 (pos 2 under each department; A and N were
# added by later amendments), so an
# official sees what kind of body a code claims to be even when it is not one of SUBJECT_TYPES.
DEPARTMENTS = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "工商（市场监管）",
    "A": "中央军委改革和编制办公室",
    "N": "农业",
    "Y": "其他",
}
KINDS = {
    "11": "机关",
    "12": "事业单位",
    "13": "中央编办直接管理机构编制的群众团体",
    "19": "其他",
    "21": "外国常驻新闻机构",
    "29": "其他",
    "31": "律师执业机构",
    "32": "公证处",
    "33": "基层法律服务所",
    "34": "司法鉴定机构",
    "35": "仲裁委员会",
    "39": "其他",
    "41": "外国在华文化中心",
    "49": "其他",
    "51": "社会团体",
    "52": "民办非企业单位",
    "53": "基金会",
    "59": "其他",
    "61": "外国旅游部门常驻代表机构",
    "62": "港澳台地区旅游部门常驻内地（大陆）代表机构",
    "69": "其他",
    "71": "宗教活动场所",
    "72": "宗教院校",
    "79": "其他",
    "81": "基层工会",
    "89": "其他",
    "91": "企业",
    "92": "个体工商户",
    "93": "农民专业合作社",
    "A1": "军队事业单位",
    "A9": "其他",
    "N1": "组级集体经济组织",
    "N2": "村级集体经济组织",
    "N3": "乡镇级集体经济组织",
    "N9": "其他",
    "Y1": "其他",
}


def describe_kind(code: str) -> tuple[str | None, str | None]:
    """(登记管理部门, 机构类别) named from the first two characters; None where the code is not listed."""
    text = code.strip().upper()
    return DEPARTMENTS.get(text[:1]), KINDS.get(text[:2]) if len(text) >= 2 else None


_VALUE = {c: i for i, c in enumerate(CHARSET)}


def check_char(first17: str) -> str:
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
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
