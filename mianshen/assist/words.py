"""The pattern rules for words: yes/no fields, tags, size classes, subject types, tax grades, industries."""

from __future__ import annotations

import re

from mianshen.assist.extract import Candidate, DocContext, Note, Sentence
from mianshen.assist.lexicon import FLAGS, INDUSTRIES, SIZES, TAX_GRADES, FlagWord
from mianshen.assist.spans import excluded_at, scan
from mianshen.assist.subjects import read_hires, read_subjects, size_joined_to_sole_traders

_CLAUSE = re.compile(r"[,，:：;；。]")
_GRADE = re.compile(
    r"纳税信用(?:等级|级别|评价)?(?:为|是|在|评定为|评价为|达到)?\s*"
    r"(?P<g>[ABMCD](?:\s*级?\s*[、或和及,，]\s*[ABMCD])*)\s*级(?P<up>及以上|以上)?"
)
_GROUP_JOIN = re.compile(r"^[、和及或与]$")


def _clause(text: str, pos: int) -> str:
    start = max((m.end() for m in _CLAUSE.finditer(text, 0, pos)), default=0)
    nxt = _CLAUSE.search(text, pos)
    return text[start : nxt.start() if nxt else len(text)]


def read_words(s: Sentence, ctx: DocContext, out: list[Candidate], notes: list[Note]) -> None:
    _flags(s, ctx, out, notes)
    _sizes(s, out, notes)
    read_subjects(s, out, notes)
    read_hires(s, out)
    _grades(s, out)
    _industries(s, out)
    _regions(s, out, notes)


def _add(s: Sentence, field: str, op: str, value: object, role: str, span: tuple[int, int], conf: float) -> Candidate:
    return Candidate(field, op, value, role, s.text[span[0] : span[1]], s.text, span, conf, s.article)


# "(指高新技术企业认定前一年)" explains another word; "X是指…" defines X: neither states a condition.
_ASIDE = re.compile(r"[(（]\s*(?:指|即|以下简称)[^)）]*$")
_DEFINES = re.compile(
    r"^(?:[一二三四五六七八九十]+、)?\s*(?:本\w{1,3}所称)?(?P<t>[\u4e00-\u9fff]{2,12}?)[,，]?(?:是指|指)"
)


_NEGATED = re.compile(r"(?:不能|无法|未能|不再)$")


def _mentions_only(text: str, at: int, word: str) -> bool:
    """The word is explained, defined or negated here ("不能正常经营的"), not required."""
    defined = _DEFINES.match(text)
    return bool(
        _ASIDE.search(text[max(0, at - 30) : at])
        or (defined and defined.group("t") == word)
        or _NEGATED.search(text[max(0, at - 2) : at])
    )


def _flags(s: Sentence, ctx: DocContext, out: list[Candidate], notes: list[Note]) -> None:
    text = s.text
    hits: list[tuple[int, int, FlagWord]] = []
    for fw in FLAGS:
        if any(term in ctx.defined for term in fw.words):
            continue  # the document defines this term: its definition's conditions are drafted instead
        for word in fw.words:
            at = text.find(word)
            if at < 0 or _mentions_only(text, at, word):
                continue
            clause = _clause(text, at)
            if fw.unless and any(u in clause for u in fw.unless):
                continue
            where = text if fw.needs_in_sentence else clause + text[max(0, at - 4) : at]
            if fw.needs and not any(n in where for n in fw.needs):
                continue
            if any(h[0] <= at < h[1] for h in hits):
                break
            cue = re.search(r"(?:不含|不包括|非|未被|不属于)$", text[max(0, at - 4) : at])
            hits.append((at - len(cue.group(0)) if cue else at, at + len(word), fw))
            break
    groups = [h for h in hits if h[2].group]
    listed = len({(g[2].field, str(g[2].value)) for g in groups}) > 1 and _joined(text, groups)
    if listed:
        first, last = min(g[0] for g in groups), max(g[1] for g in groups)
        notes.append(Note(text[first:last], "并列的多类享受主体（任一即可），需人工组合为 any", text, s.article))
    for start, end, fw in hits:
        if listed and fw in [g[2] for g in groups]:
            continue
        out.append(_add(s, fw.field, fw.op, fw.value, "condition", (start, end), 0.8))


def _joined(text: str, groups: list[tuple[int, int, FlagWord]]) -> bool:
    """Are the group words one list (小规模纳税人、小型微利企业和个体工商户)?"""
    spans = sorted(groups, key=lambda g: g[0])
    for a, b in zip(spans, spans[1:], strict=False):
        gap = text[a[1] : b[0]]
        if len(gap) > 12 or re.search(r"[,，;；。]", gap):
            return False
    return True


def _sizes(s: Sentence, out: list[Candidate], notes: list[Note]) -> None:
    text = s.text
    masked = text
    for fw in FLAGS:  # 科技型中小企业 / 专精特新中小企业 are tags, not a size class
        for word in fw.words:
            masked = masked.replace(word, "＊" * len(word))
    sole = size_joined_to_sole_traders(text)
    for start, end, values in scan(masked, SIZES):
        if sole and sole.start() <= start < sole.end():
            reason = "企业规模只限企业，与个体工商户是选择关系（或）：主体类型已列出，规模条件须人工写成 any"
            notes.append(Note(sole.group(0), reason, text, s.article))
            continue
        op = "not_in" if excluded_at(text, start, end) else "in"
        out.append(_add(s, "size_class", op, list(values), "condition", (start, end), 0.7))


def _grades(s: Sentence, out: list[Candidate]) -> None:
    for m in _GRADE.finditer(s.text):
        grades = [g for g in TAX_GRADES if g in m.group("g")]
        if m.group("up"):
            worst = max(TAX_GRADES.index(g) for g in grades)
            grades = list(TAX_GRADES[: worst + 1])
        op = "not_in" if excluded_at(s.text, m.start(), m.end()) else "in"
        out.append(_add(s, "tax_credit_grade", op, grades, "condition", (m.start(), m.end()), 0.8))


def _industries(s: Sentence, out: list[Candidate]) -> None:
    text = s.text
    inc: list[str] = []
    exc: list[str] = []
    spans = []
    for start, end, codes in scan(text, tuple((name, (code,)) for name, code in INDUSTRIES)):
        (exc if excluded_at(text, start, end) else inc).extend(codes)
        spans.append((start, end))
    if not spans:
        return
    span = (spans[0][0], spans[-1][1])
    if inc:
        out.append(_add(s, "industry_code", "within", sorted(set(inc)), "condition", span, 0.7))
    if exc:
        out.append(_add(s, "industry_code", "not_within", sorted(set(exc)), "condition", span, 0.7))


_REGION = re.compile(
    r"(?:在|注册地(?:为|在)?)(?P<n>[\u4e00-\u9fff]{2,8}?(?:省|市|县|区))(?:范围内|行政区域内|辖区内|境内|内)"
)


def _regions(s: Sentence, out: list[Candidate], notes: list[Note]) -> None:
    """在安阳市范围内 → region_code within 410500 (names from GB/T 2260, 统计用区划代码2022)."""
    from mianshen.reference.regions import find_regions_by_name

    for m in _REGION.finditer(s.text):
        found = {r.code for r in find_regions_by_name(m.group("n"))}
        if len(found) == 1:
            out.append(_add(s, "region_code", "within", [found.pop()], "condition", m.span(), 0.8))
        elif m.group("n") not in ("我市", "本市", "我省", "本省", "全省", "全市"):
            notes.append(
                Note(m.group(0), f"地名“{m.group('n')}”对应 {len(found)} 个行政区划，需人工指定", s.text, s.article)
            )
