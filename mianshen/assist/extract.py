"""Policy text → candidate conditions, each citing the sentence and characters it came from.

The extractor is deliberately conservative: a number is a condition only when a catalogue field's
name stands before it in the same clause and a comparison word fixes the operator. Everything
else that looks like a condition is returned as a `Note` (not understood), never guessed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mianshen.assist.numerals import DateMention, Quantity, find_dates, find_quantities, normalise

ROLES = ("condition", "tier", "subjects", "window", "amount")


@dataclass
class Candidate:
    """One proposed condition (or subjects / validity / amount item) for a draft policy.

    `value` is in base units: Decimal yuan, Decimal fraction for ratios, int months, a date,
    {"years_before": N} for ages, a list for set operations, a bool or a tag name.
    """

    field: str
    op: str
    value: Any
    role: str  # one of ROLES; "tier" = a condition that selects an amount tier
    label: str  # the words in the sentence, e.g. 从业人数不超过300人
    sentence: str
    span: tuple[int, int]  # characters of `sentence` the candidate was read from
    confidence: float
    article: str = ""  # 一、/第三条 … the part of the document it is in
    unit: str = ""
    source: str = "rules"  # "rules" or "llm"

    def key(self) -> tuple[str, str, str]:
        """What two candidates must share to be the same condition (for evaluation and dedup)."""
        return self.field, self.op, value_text(self.value)

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "op": self.op,
            "value": json_value(self.value),
            "role": self.role,
            "label": self.label,
            "unit": self.unit,
            "sentence": self.sentence,
            "span": list(self.span),
            "confidence": self.confidence,
            "article": self.article,
            "source": self.source,
        }


@dataclass
class Note:
    """Something in the text that looks like a condition but was not mapped, with why."""

    text: str
    reason: str
    sentence: str
    article: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"text": self.text, "reason": self.reason, "sentence": self.sentence, "article": self.article}


@dataclass
class Sentence:
    text: str
    start: int  # offset in the document
    article: str = ""


@dataclass
class DocContext:
    """What the whole document says that changes how one sentence is read."""

    quarterly: bool = False  # 从业人数和资产总额按全年季度平均值确定 (2023年第6号口径)
    defined: set[str] = field(default_factory=set)  # terms the document defines (本公告所称X，是指…)


def json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(normalise(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    return value


def value_text(value: Any) -> str:
    """A canonical spelling: 3000000 and '300万元' and Decimal('3000000.00') all read '3000000'."""
    from mianshen.numbers import NumberError, parse_number

    if isinstance(value, str) and not isinstance(value, bool):
        try:
            return str(normalise(parse_number(value)))
        except NumberError:
            return value
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, int | float | Decimal):
        return str(normalise(Decimal(str(value))))
    if isinstance(value, list | tuple):
        return ",".join(sorted(value_text(v) for v in value))
    if isinstance(value, dict):
        return ",".join(f"{k}={value_text(v)}" for k, v in sorted(value.items()))
    return json_value(value) if isinstance(value, dt.date) else str(value)


_ARTICLE = re.compile(
    r"(?:(?<=^)|(?<=[\s。；;:：]))(?P<a>[一二三四五六七八九十]{1,3}、|第[一二三四五六七八九十百]{1,4}条)"
)
_STOP = re.compile(r"[。；;!?！？\n]+")


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with their document offsets; article headings (一、 第三条) start a new sentence."""
    cuts = sorted({m.end() for m in _STOP.finditer(text)} | {m.start() for m in _ARTICLE.finditer(text)})
    out: list[Sentence] = []
    article = ""
    prev = 0
    for cut in [*cuts, len(text)]:
        raw = text[prev:cut]
        prev = cut
        stripped = raw.strip(" \t\r\n。；;")
        if not stripped:
            continue
        start = text.index(stripped, cut - len(raw))
        head = _ARTICLE.match(stripped)
        if head:
            article = head.group("a").rstrip("、")
        out.append(Sentence(stripped, start, article))
    return out


_DEFINED = re.compile(r"所称(?P<t>[\u4e00-\u9fff“”\"]{2,14}?)[,，]?(?:是指|指)")


def document_context(text: str) -> DocContext:
    ctx = DocContext()
    ctx.quarterly = "季度平均值" in text
    ctx.defined = {m.group("t").strip('“”"') for m in _DEFINED.finditer(text)}
    return ctx


def extract_sentence(sentence: Sentence, ctx: DocContext | None = None) -> tuple[list[Candidate], list[Note]]:
    """Candidates and notes for one sentence (the unit the labelled set is scored on)."""
    from mianshen.assist import rules

    return rules.read_sentence(sentence, ctx or DocContext())


def extract(text: str) -> tuple[list[Candidate], list[Note]]:
    """All candidates and notes of a document's body text, duplicates (same key) kept once."""
    ctx = document_context(text)
    every: list[Candidate] = []
    notes: list[Note] = []
    for sentence in split_sentences(text):
        cands, sentence_notes = extract_sentence(sentence, ctx)
        every.extend(cands)
        notes.extend(sentence_notes)
    mark_tiers(every)
    found: list[Candidate] = []
    seen: set[tuple[str, ...]] = set()
    for cand in every:
        # a tier condition belongs to its sentence's amount, and the same amount said twice may name
        # its base (参保职工人数) only once: both stay per sentence
        key = (cand.role, *cand.key(), cand.sentence if cand.role in ("tier", "amount") else "")
        if key not in seen:
            seen.add(key)
            found.append(cand)
    return found, notes


def mark_tiers(cands: list[Candidate]) -> None:
    """Conditions beside one of several amounts of an article select an amount tier.

    "大型企业按30%返还；中小微企业按60%返还" is one amount with two tiers, not two conditions
    that must both hold: when an article gives the same kind of amount (rate, cap, fixed) more
    than once with different values, the conditions in those sentences become role "tier".
    """
    by_article: dict[tuple[str, str], set[str]] = {}
    for c in cands:
        if c.role == "amount":
            by_article.setdefault((c.article, c.op), set()).add(value_text(c.value))
    tiered = {c.sentence for c in cands if c.role == "amount" and len(by_article.get((c.article, c.op), set())) > 1}
    for c in cands:
        if c.role == "condition" and c.sentence in tiered:
            c.role = "tier"


__all__ = [
    "Candidate",
    "DateMention",
    "DocContext",
    "Note",
    "Quantity",
    "Sentence",
    "document_context",
    "extract",
    "extract_sentence",
    "find_dates",
    "find_quantities",
    "split_sentences",
]
