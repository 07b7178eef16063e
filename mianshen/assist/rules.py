"""The pattern rules for numbers: comparisons, amounts (fixed, caps, per-person, rates), windows.

Word rules (flags, subjects, tags, grades, industries) are in `words.py`; `read_sentence` runs both.
"""

from __future__ import annotations

import re
from decimal import Decimal

from mianshen.assist import words
from mianshen.assist.amounts import clause_of, read_amounts
from mianshen.assist.bounds import bound_for, flip_for_age, range_between
from mianshen.assist.extract import Candidate, DocContext, Note, Sentence
from mianshen.assist.lexicon import FLAGS, NUMERIC, NumericField
from mianshen.assist.numerals import Quantity, find_dates, find_quantities, normalise
from mianshen.assist.spans import clause_span

# Preambles state purposes and legal grounds, never conditions ("为支持小微企业…发展").
_PREAMBLE = re.compile(
    r"^(?:[一二三四五六七八九十]+、)?\s*(?:为了?(?:支持|进一步|加大|帮助|全面|贯彻|落实|充分|推动)|根据《|按照《|现就|现将)"
)
# A document's own title line ("关于…的公告") names the topic, not a condition.
_TITLE = re.compile(r"^(?:[\u4e00-\u9fff ]{0,30})?关于[^,，。；;]*(?:通知|公告|意见|办法|细则|方案)$")
# A heading ("一、规上工业企业满负荷生产奖励(工信局)") names a measure; its words are no condition —
# reading one would exclude firms the measure's own thresholds admit.
_HEADING_LINE = re.compile(
    r"^(?:[一二三四五六七八九十]+、|[(（][一二三四五六七八九十]+[)）]|\d+[、.])?\s*[^,，。；;:：]{2,36}?"
    r"(?:奖励|补贴|补助|奖补|政策|资金|返还|贴息|措施|办法|申报|项目|支持)(?:[(（][^)）]{1,20}[)）])?$"
)
_CUES = ("不超过", "不低于", "不高于", "以上", "以下", "以内", "不得", "除外", "须", "符合", "不含", "未满", "不足")
_SUFFIX_WORDS = re.compile(
    r"\s*(?:[(（]\s*不?含\s*[)）])?\s*(?:及|或)?(?:以上|以下|以内|之内)(?:\s*[(（]\s*不?含\s*[)）])?"
)
_WINDOW_VERB = re.compile(r"执行|实施|有效|期限|延续|施行|期间")
_HEADING = r"^(?:[一二三四五六七八九十]+、|[(（][一二三四五六七八九十]+[)）]|\d+[、.])?\s*"
# "自2017年10月12日《…》下发之日起，取得工商登记…": the earliest date of establishment, not a window.
_SINCE = re.compile(r"[^。；;]{0,60}?之日起[^。；;]{0,30}?(?:登记|营业执照|创办|注册|成立|设立)")
# "规上工业企业（含年营业收入达到2000万元的军工企业）", "工业企业及年营业收入达到…的军工企业":
# a second kind of beneficiary, i.e. an alternative (或) to the first.
_ALTERNATIVE = re.compile(r"[(（]\s*含[^)）]*[)）]|企业及[^,，;；]{0,24}?的[^,，;；]{0,8}?企业")
_GROUP_FIELDS = {fw.field for fw in FLAGS if fw.group}


def read_sentence(s: Sentence, ctx: DocContext) -> tuple[list[Candidate], list[Note]]:
    text = s.text
    if _PREAMBLE.match(text) or _TITLE.match(text):
        return [], []
    if _HEADING_LINE.match(text) and not re.search(r"给予|对|的|须|应|可|不|以上|以下|以内", text):
        return [], [Note(text, "标题行：不从标题的字词推断条件", text, s.article)]
    cands: list[Candidate] = []
    notes: list[Note] = []
    quantities = find_quantities(text)
    rest = read_amounts(s, quantities, cands, notes)
    _windows(s, cands, notes)
    rest, alternatives = _alternatives(s, rest, notes)
    _comparisons(s, ctx, rest, cands, notes)
    words.read_words(s, ctx, cands, notes)
    for lo, hi in alternatives:  # the kind the alternative widens is no longer a condition on its own
        cands[:] = [c for c in cands if not (c.field in _GROUP_FIELDS and lo <= c.span[0] < hi)]
    _either_or(s, cands, notes)
    if not cands and not notes and any(c in text for c in _CUES):
        notes.append(Note(text[:60], "含条件用语，但未识别出可映射的条件", text, s.article))
    return cands, notes


def _cand(s: Sentence, field: str, op: str, value: object, role: str, span: tuple[int, int], conf: float) -> Candidate:
    return Candidate(field, op, value, role, s.text[span[0] : span[1]], s.text, span, conf, s.article)


def _either_or(s: Sentence, cands: list[Candidate], notes: list[Note]) -> None:
    """Conditions read on both sides of one 或 are alternatives: say so rather than let them be ANDed."""
    text = s.text
    for m in re.finditer("或", text):
        lo, hi = clause_span(text, m.start())
        if re.match(r"\s*(?:非|无|不|未)", text[lo:]):
            continue  # "非A或B" / "无A或B": neither, i.e. both conditions hold
        inside = [c for c in cands if c.role == "condition" and lo <= c.span[0] < hi]
        sides = {c.span[0] < m.start() for c in inside}
        if sides == {True, False}:
            notes.append(Note(text[lo:hi], "“或”两侧都读出了条件：二者是选择关系，需人工组合为 any", text, s.article))
        elif inside and any(n.reason.startswith("含“或”") and lo <= text.find(n.text) < hi for n in notes):
            # one side was read, the other could only be noted: alone it would be required, so both are notes
            for c in inside:
                cands.remove(c)
                notes.append(Note(c.label, "“或”的一侧（另一侧未能识别），需人工组合为 any", text, s.article))


def _alternatives(
    s: Sentence, quantities: list[Quantity], notes: list[Note]
) -> tuple[list[Quantity], list[tuple[int, int]]]:
    """Numbers inside an alternative kind of beneficiary become notes; returns their clauses too."""
    text = s.text
    found: list[tuple[int, int]] = []
    for m in _ALTERNATIVE.finditer(text):
        inside = [q for q in quantities if m.start() <= q.start < m.end()]
        if not inside:
            continue
        lo, hi = clause_of(text, m.start())
        found.append((lo, hi))
        quantities = [q for q in quantities if q not in inside]
        notes.append(Note(m.group(0), "另一类可享受的主体（“含…”/“及…”，即“或”），需人工组合为 any", text, s.article))
    return quantities, found


def _windows(s: Sentence, out: list[Candidate], notes: list[Note]) -> None:
    """自2023年1月1日至2027年12月31日 / 执行至… / 自…起施行 → the policy's validity window."""
    text = s.text
    days = [d for d in find_dates(text) if d.precision == "day"]
    used: set[int] = set()
    for a, b in zip(days, days[1:], strict=False):
        if re.fullmatch(r"\s*起?\s*(?:至|到|—|-|～|~)\s*", text[a.end : b.start]) and (
            "自" in text[max(0, a.start - 3) : a.start]
            or _WINDOW_VERB.search(text)
            or re.fullmatch(_HEADING, text[: a.start])  # a sentence that opens with its period
        ):
            out.append(_cand(s, "valid_from", "eq", a.value, "window", (a.start, b.end), 0.8))
            out.append(_cand(s, "valid_to", "eq", b.value, "window", (a.start, b.end), 0.8))
            used |= {a.start, b.start}
    for d in days:
        if d.start in used:
            continue
        before, after = text[max(0, d.start - 8) : d.start], text[d.end : d.end + 6]
        clause_before = text[clause_of(text, d.start)[0] : d.start]
        if "自" in before[-3:] and _SINCE.match(text, d.end):
            span = (d.start, _SINCE.match(text, d.end).end())  # type: ignore[union-attr]
            out.append(_cand(s, "established_on", "ge", d.value, "condition", span, 0.7))
        elif re.search(r"(?:执行|实施|延续|延长|有效期|期限)[^，,。]{0,4}至\s*$", before) or re.search(
            r"(?:延续|继续)实施[^，,。；;]{0,40}?至\s*$", clause_before
        ):
            out.append(_cand(s, "valid_to", "eq", d.value, "window", (d.start, d.end), 0.8))
        elif re.match(r"^\s*(?:前)?\s*(?:截止|止)", after) and "于" in before[-2:]:
            out.append(_cand(s, "valid_to", "eq", d.value, "window", (d.start, d.end), 0.7))
        elif "自" in before[-3:] and (
            re.match(r"^\s*起\s*[,，]?\s*(?:继续)?\s*(?:施行|执行|实施|生效)", after)
            or (re.match(r"^\s*起", after) and _WINDOW_VERB.search(text))
        ):
            out.append(_cand(s, "valid_from", "eq", d.value, "window", (d.start, d.end), 0.8))


def _keyword(text: str, lo: int, q: Quantity, ctx: DocContext) -> tuple[NumericField, str, int, int] | None:
    """The catalogue field named nearest before `q` (after `lo`) whose kind fits the quantity."""
    best: tuple[NumericField, str, int, int] | None = None
    for nf in NUMERIC:
        if q.kind not in nf.kinds:
            continue
        for word in nf.words:
            at = text.rfind(word, lo, q.start)
            if at >= 0 and (best is None or at + len(word) > best[3]):
                # 申报期上月末的人数/资产 are month-end figures even in a quarterly-average document
                quarterly = ctx.quarterly and not re.search("月末|期末", text)
                field = nf.quarterly if quarterly and nf.quarterly else nf.field
                best = (nf, field, at, at + len(word))
    return best


def _comparisons(
    s: Sentence, ctx: DocContext, quantities: list[Quantity], out: list[Candidate], notes: list[Note]
) -> None:
    text = s.text
    prev_end = 0
    skip: set[int] = set()
    for i, q in enumerate(quantities):
        if i in skip:
            continue
        lo, _ = clause_of(text, q.start)
        where = text[max(lo, q.start - 14) : min(len(text), q.end + 6)]
        found = _keyword(text, max(lo, prev_end), q, ctx)
        prev_end = q.end
        if q.kind in ("days", "workdays", "times"):
            continue  # time limits of the procedure and multiples are not eligibility conditions
        if found is None:
            notes.append(Note(where, f"数值“{q.text}”前没有可对应的目录字段", text, s.article))
            continue
        nf, field, kw_start, kw_end = found
        if field.endswith("_q1") and re.search("[二三四]季度", text) and "一季度" not in text:
            notes.append(Note(where, "说的是其他季度，目录字段只有一季度", text, s.article))
            continue
        after = text[q.end : q.end + 12]
        if re.match(r"^\s*(?:[(（][^)）]*[)）])?\s*的部分", after):
            notes.append(Note(where, "“…的部分”是计算基数，不是资格条件", text, s.article))
            continue
        if "或" in text[max(lo, kw_start - 6) : q.start]:
            notes.append(Note(where, "含“或”的选择条件，需人工组合（any）", text, s.article))
            continue
        bounds: list[tuple[str, Quantity]] = []
        nxt = quantities[i + 1] if i + 1 < len(quantities) else None
        pair = (
            range_between(text[q.end : nxt.start], text[nxt.end : nxt.end + 8]) if nxt and nxt.kind == q.kind else None
        )
        if pair and nxt is not None:
            bounds = [(pair[0], q), (pair[1], nxt)]
            skip.add(i + 1)
            prev_end = nxt.end
        else:
            op = bound_for(text[kw_end : q.start], after)
            if op is None:
                notes.append(
                    Note(where, f"“{text[kw_start:kw_end]}”后的数值没有比较词（或比较词矛盾）", text, s.article)
                )
                continue
            bounds = [(op, q)]
        for op, bq in bounds:
            value = _value(field, bq)
            if value is None:
                notes.append(Note(where, f"“{bq.text}”的单位与字段不符", text, s.article))
                continue
            final_op = flip_for_age(op) if field == "established_on" else op
            conf = 0.9 if q.start - kw_end <= 8 else 0.7
            tail = _SUFFIX_WORDS.match(text, bq.end)
            out.append(_cand(s, field, final_op, value, "condition", (kw_start, tail.end() if tail else bq.end), conf))


def _value(field: str, q: Quantity) -> object:
    if field == "established_on":
        n = int(q.value)
        return {"years_before": n} if q.kind == "years" else {"months_before": n}
    if field == "ui_paid_months_last_year" and q.kind == "years":
        return int(q.value * 12)
    if q.kind in ("persons", "months") and q.value == q.value.to_integral_value():
        return int(q.value)
    return normalise(Decimal(q.value))
