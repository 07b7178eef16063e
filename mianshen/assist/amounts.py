"""Amount items of a sentence: fixed sums, caps, per-person sums and rates (返还比例、贴息百分点).

A money figure is an amount only when an amount word stands next to it (给予/最高/每招用1人…);
a loan's size ("贷款额度最高300万元") is not what the policy pays and is reported as a note.
"""

from __future__ import annotations

import re

from mianshen.assist.extract import Candidate, Note, Sentence
from mianshen.assist.numerals import Quantity, normalise

_CLAUSE = re.compile(r"[,，:：;；]")
_PER_PERSON = re.compile(r"每(?:招用|吸纳|新增|安置|录用)?\s*(?:(?:1|一)\s*)?(?:人|名)\s*(?:不超过|最高|按|给予)?\s*$")
_CAP = re.compile(
    r"(?:最高|最多|上限|封顶|最高不超过|最高可达)\s*(?:为|给予|补助|奖励|补贴)?\s*"
    r"(?:可(?:获得?|享受|给予))?\s*(?:贴息|补贴|补助|奖励|奖补)?\s*$"
)
# "每家企业奖补金额最高不超过10万元", "单个项目年度省级贴息不超过500万元": a cap without 最高.
_CAP_NOT_OVER = re.compile(r"(?:金额|贴息|补贴|补助|奖励|奖补|资助|返还)\s*(?:最高)?\s*(?:不超过|不高于|以内)\s*$")
_FIXED_BEFORE = re.compile(r"(?:给予|发放|补贴|奖励|补助|奖补|资助|(?:补贴|补助|奖励)标准为)\s*(?:一次性)?\s*$")
_FIXED_AFTER = re.compile(r"^\s*的?\s*(?:财政|一次性)?\s*(?:奖励|补贴|补助|奖补|资助)")
_RATE_VERB = re.compile(r"返还|补助|补贴|贴息|奖励|税率|计入|计算|给予|征收|减免|减征|抵减")
# What makes a percentage the paid share rather than a threshold: 按…%、比例、幅度、上限为…%、加计…%、
# "利率50%的财政贴息", "贴息1.5个百分点".
_RATE_CUE = re.compile(r"按|比例|幅度|上限|加计|贴息|年化")
_RATE_AFTER = re.compile(
    r"^\s*(?:[、和]\s*\d+(?:\.\d+)?%\s*)?(?:的)?\s*(?:税额)?\s*(?:幅度|财政贴息|贴息|返还|补贴|抵减)"
)
# A threshold named before the percentage (裁员率不高于5.5%, 同比增长10%) is a condition, not a share.
_RATIO_FIELD = re.compile(r"裁员率|失业率|增长|增速|征收率")
_LOAN_SIZE = re.compile(r"贷款(?:额度|规模|最高|金额)|额度")
_PAYS = re.compile(r"贴息|补贴|补助|奖励|奖补|资助|返还")


def clause_of(text: str, pos: int) -> tuple[int, int]:
    start = max((m.end() for m in _CLAUSE.finditer(text, 0, pos)), default=0)
    nxt = _CLAUSE.search(text, pos)
    return start, nxt.start() if nxt else len(text)


def _money_op(text: str, q: Quantity, lo: int) -> str | None:
    before, after = text[max(lo, q.start - 12) : q.start], text[q.end : q.end + 8]
    if _PER_PERSON.search(before) or re.match(r"^\s*/\s*人", after):
        return "per_person"
    if _CAP.search(before) or _CAP_NOT_OVER.search(before):
        return "cap"
    if _FIXED_BEFORE.search(before) or _FIXED_AFTER.match(after):
        return "fixed"
    return None


def _is_rate(text: str, q: Quantity, lo: int, hi: int) -> bool:
    before = text[lo : q.start]
    if _RATIO_FIELD.search(text[max(lo, q.start - 8) : q.start]):
        return False
    if q.kind == "points":  # 个百分点: only ever a subsidised interest share
        return "贴息" in text[lo:hi] or "贴息" in text
    cue = _RATE_CUE.search(before) or _RATE_AFTER.match(text[q.end : q.end + 12])
    return bool(cue and _RATE_VERB.search(text[lo:hi] + text[q.end : q.end + 12]))


def read_amounts(s: Sentence, quantities: list[Quantity], out: list[Candidate], notes: list[Note]) -> list[Quantity]:
    """Amount items (fixed sum, cap, per person, rate); returns the quantities left for conditions."""
    text = s.text
    loans_only = "贷款" in text and not _PAYS.search(text)
    rest: list[Quantity] = []
    for q in quantities:
        lo, hi = clause_of(text, q.start)
        op = None
        if q.kind == "money":
            op = _money_op(text, q, lo)
            if op == "cap" and (_LOAN_SIZE.search(text[lo : q.start]) or loans_only):
                notes.append(Note(text[lo:hi], f"“{q.text}”是贷款额度，不是政策发放的金额", text, s.article))
                continue
        elif q.kind in ("ratio", "points") and not loans_only and _is_rate(text, q, lo, hi):
            op = "rate"
        if op is None:
            rest.append(q)
            continue
        start = max(lo, q.start - 6)
        out.append(
            Candidate(
                "amount", op, normalise(q.value), "amount", text[start : q.end], text, (start, q.end), 0.7, s.article
            )
        )
    return rest
