"""Comparison words → operators, with the closedness of each bound.

The reading follows 《民法典》第一千二百五十九条: “以上、以下、以内、届满”包括本数；“不满、超过、
以外”不包括本数. An explicit （含）/（不含） next to the number overrides the default. When the
words before and after a number disagree (不低于5000元以下), no operator is returned: the
extractor lists such a sentence as not understood instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words before the number. Longest first: 不超过 must not be read as 超过.
_PREFIX: list[tuple[str, str]] = [
    ("最高不超过", "le"),
    ("不得超过", "le"),
    ("不超过", "le"),
    ("未超过", "le"),
    ("不高于", "le"),
    ("不大于", "le"),
    ("不多于", "le"),
    ("低于或等于", "le"),
    ("至多", "le"),
    ("最多", "le"),
    ("不低于", "ge"),
    ("不少于", "ge"),
    ("不小于", "ge"),
    ("不足", "lt"),
    ("未满", "lt"),
    ("不满", "lt"),
    ("未达到", "lt"),
    ("至少", "ge"),
    ("达到", "ge"),
    ("届满", "ge"),
    ("满", "ge"),
    ("超过", "gt"),
    ("高于", "gt"),
    ("大于", "gt"),
    ("多于", "gt"),
    ("低于", "lt"),
    ("少于", "lt"),
    ("小于", "lt"),
]
_PREFIX_RE = re.compile("|".join(re.escape(w) for w, _ in _PREFIX))
_PREFIX_OP = dict(_PREFIX)

_INCL = r"[(（]\s*含(?:本数)?\s*[)）]"
_EXCL = r"[(（]\s*不含(?:本数)?\s*[)）]"
# Words right after the number (spaces and the closedness marks allowed in between).
_SUFFIX: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"^\s*{_EXCL}\s*以上|^\s*以上\s*{_EXCL}"), "gt"),
    (re.compile(rf"^\s*{_EXCL}\s*以下|^\s*以下\s*{_EXCL}"), "lt"),
    (re.compile(rf"^\s*(?:{_INCL})?\s*(?:及|或)?以上"), "ge"),
    (re.compile(rf"^\s*(?:{_INCL})?\s*(?:及|或)?以下"), "le"),
    (re.compile(rf"^\s*(?:{_INCL})?\s*以内"), "le"),
    (re.compile(r"^\s*(?:之内|内)"), "le"),
    (re.compile(r"^\s*以外"), "gt"),
]
_RANGE = re.compile(rf"^\s*(?P<lo>{_INCL}|{_EXCL})?\s*(?:至|到|—|－|-|~|～)\s*$")
_UPPER_MARK = re.compile(rf"^\s*(?P<hi>{_INCL}|{_EXCL})")


@dataclass(frozen=True)
class Bound:
    op: str  # eq ne gt ge lt le
    explicit: bool  # the closedness was written out: （含）/（不含）, or an unambiguous word


def prefix_op(between: str) -> str | None:
    """The last comparison word in the text between a field's name and its number."""
    found = list(_PREFIX_RE.finditer(between))
    if not found:
        return None
    last = found[-1]
    # A comparison word must stand near the number: "不高于上年度全国城镇调查失业率控制目标5.5%"
    # keeps 不高于 (the rest is a noun phrase), but a full clause in between breaks the link.
    if re.search(r"[,，;；。]", between[last.end() :]):
        return None
    return _PREFIX_OP[last.group(0)]


def suffix_op(after: str) -> str | None:
    for pattern, op in _SUFFIX:
        if pattern.search(after):
            return op
    return None


def bound_for(before: str, after: str) -> str | None:
    """The operator for one number from the words before and after it; None if absent or in conflict."""
    pre, post = prefix_op(before), suffix_op(after)
    if pre and post and pre != post:
        # 满12个月以上 and 不超过300人以下 agree or are redundant; 不低于…以下 contradicts itself.
        if {pre, post} <= {"ge", "gt"} or {pre, post} <= {"le", "lt"}:
            return pre
        return None
    return pre or post


def range_between(middle: str, after_upper: str) -> tuple[str, str] | None:
    """For "A（含）至B": the operators of the lower and upper bound, or None if not a range.

    The lower bound is closed unless （不含）; the upper bound is closed unless （不含） follows it
    — 至 in Chinese legal texts includes both ends (16—24岁 includes 24) — or unless only the lower
    bound carries （含）, which marks a half-open tier.
    """
    m = _RANGE.match(middle)
    if not m:
        return None
    lo = "gt" if m.group("lo") and "不含" in m.group("lo") else "ge"
    hi_mark = _UPPER_MARK.match(after_upper)
    hi = "lt" if hi_mark and "不含" in hi_mark.group("hi") else "le"
    if m.group("lo") and "不含" not in m.group("lo") and not hi_mark:
        # "200万元（含）至1000万元": marking only the lower end closed says the upper end belongs to
        # the next tier ("1000万元（含）以上"), as tier tables write it.
        hi = "lt"
    if suffix_op(after_upper) in ("ge", "gt"):  # "A至B以上" is not a range
        return None
    return lo, hi


def flip_for_age(op: str) -> str:
    """成立满N年 (age ≥ N) is 成立日期 ≤ 评估日前N年: comparing the date reverses the operator."""
    return {"ge": "le", "gt": "lt", "le": "ge", "lt": "gt"}.get(op, op)
