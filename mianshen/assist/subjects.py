"""Who a sentence is about: subject types (企业, 个体工商户, 社会组织 …) and hires of young people.

A subject word counts when the sentence names its beneficiaries (对象/主体/单位性质/参照 …) or
when the word itself is the head of the beneficiary phrase: "对个体工商户…", "…以上的企业，".
Lists of excluded kinds ("机关事业单位、社会团体等不在受益范围内") are excluded as a whole.
"""

from __future__ import annotations

import re

from mianshen.assist.extract import Candidate, Note, Sentence
from mianshen.assist.lexicon import SIZES, SUBJECT_CUES, SUBJECTS, UNCODED_SUBJECTS
from mianshen.assist.spans import clause_span, excluded_at, scan

_CLAUSE_EXCLUDES = re.compile(r"不符合|不在|不享受|不予|不纳入|不属于|除外|不适用|不得享受")
_HIRES = re.compile(r"(?:招用|吸纳|招收|录用)[^,，;；。]{0,40}?(?:高校毕业生|登记失业青年|16\s*[—\-~～至]\s*24岁)")
_HIRE_OFFER = re.compile(r"签订劳动合同|可享受|可按|发放|给予")
# A size class joined to 个体工商户 / 个体经营 applies to the enterprises only: the two are alternatives.
_SIZE_WORDS = "|".join(re.escape(w) for w, _ in SIZES)
_SIZE_OR_SOLE = re.compile(
    rf"(?:个体工商户|个体户)\s*(?:和|、|及|或)\s*(?:{_SIZE_WORDS})|(?:{_SIZE_WORDS})\s*(?:或|、|和|及)\s*(?:从事个体经营|"
    r"[^,，;；]{0,10}个体工商户)"
)


def _headed(text: str, start: int, end: int) -> bool:
    """Is the word the beneficiary itself: after 对, or the noun a 的-phrase ends on?

    "…以上的企业" mostly restates the default (企业) beside a condition; it names the beneficiary
    only when what it may receive follows ("…的企业，可按…").
    """
    if text[:start].rstrip().endswith("对"):
        return True
    if not text[:start].endswith("的"):
        return False
    if text[start:end] == "企业":
        return re.match(r"\s*[,，]\s*可", text[end:]) is not None
    return re.match(r"(?:(?:和|、|及|或)[^,，;；。]{0,8})?\s*(?:[,，;；。(（]|$)", text[end:]) is not None


def size_joined_to_sole_traders(text: str) -> re.Match[str] | None:
    return _SIZE_OR_SOLE.search(text)


def read_subjects(s: Sentence, out: list[Candidate], notes: list[Note]) -> None:
    text = s.text
    found = scan(text, SUBJECTS)
    cued = any(cue in text for cue in SUBJECT_CUES)
    headed_clauses = {clause_span(text, a) for a, b, _ in found if _headed(text, a, b)}
    inc: list[str] = []
    exc: list[str] = []
    spans: list[tuple[int, int]] = []
    for start, end, values in found:
        clause = clause_span(text, start)
        if not cued and clause not in headed_clauses:
            continue
        if text[:start].endswith("参照"):
            continue  # "参照企业实施": treated like an enterprise, not a kind of beneficiary
        clause_excludes = _CLAUSE_EXCLUDES.search(text, clause[0], clause[1]) is not None
        if text[:start].endswith("非") and clause_excludes:
            continue  # "非企业不符合": a double negative about the others, not 企业 excluded
        excluded = clause_excludes or excluded_at(text, start, end)
        target = exc if excluded else inc
        target.extend(v for v in values if v not in target)
        spans.append((start, end))
    for word in UNCODED_SUBJECTS:
        if word in text and (cued or headed_clauses):
            notes.append(Note(word, "主体类型代码中无对应值（subject_type），需经办机构线下核定", text, s.article))
            break
    span = (min(a for a, _ in spans), max(b for _, b in spans)) if spans else (0, 0)
    if inc:
        out.append(
            Candidate("subject_type", "in", inc, "subjects", text[span[0] : span[1]], text, span, 0.8, s.article)
        )
    if exc:
        out.append(
            Candidate("subject_type", "not_in", exc, "subjects", text[span[0] : span[1]], text, span, 0.8, s.article)
        )


def read_hires(s: Sentence, out: list[Candidate]) -> None:
    """招用高校毕业生/登记失业青年…的企业 → at least one qualifying hire (qualified_youth_hires ≥ 1)."""
    text = s.text
    for m in _HIRES.finditer(text):
        before = text[: m.start()].rstrip()
        if (not before or before[-1] in "对,，:：" or before.endswith("企业")) and _HIRE_OFFER.search(text):
            label = text[m.start() : m.end()]
            out.append(Candidate("qualified_youth_hires", "ge", 1, "condition", label, text, m.span(), 0.7, s.article))
            return
