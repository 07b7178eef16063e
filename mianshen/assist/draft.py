"""Candidates → a draft policy file that loads and passes `mianshen policy check`.

A draft is never a policy: staff accept, edit or reject each candidate (再确认) first. What the
extractor did not map is written as `# 未能识别` comments under their sentence — the loader rejects unknown keys, so
notes cannot be a YAML key. Every condition the draft emits has passed the checker on its own;
one the checker rejects is moved to the notes with the checker's message.

For a web handler: `draft_from_file(path)` returns a `Draft` whose `candidates` are dataclasses
with `as_dict()`; after review, `render(draft.document, accepted, draft.notes)` gives the YAML.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from mianshen.assist.amountblock import amount_block
from mianshen.assist.document import Document, read_document
from mianshen.assist.extract import Candidate, Note, extract, json_value
from mianshen.assist.numerals import find_dates, normalise
from mianshen.clock import today as clock_today
from mianshen.rules.loader import read_policy

CONDITION_OPS = ("eq", "ne", "gt", "ge", "lt", "le", "in", "not_in", "within", "not_within", "has", "lacks")


@dataclass
class Draft:
    document: Document
    candidates: list[Candidate]
    notes: list[Note]
    suggestions: list[Candidate] = field(default_factory=list)  # from the language model, kept apart
    yaml: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.document.path,
            "title": self.document.title,
            "doc_no": self.document.doc_no,
            "candidates": [c.as_dict() for c in self.candidates],
            "suggestions": [c.as_dict() for c in self.suggestions],
            "notes": [n.as_dict() for n in self.notes],
            "skipped_sections": self.document.skipped,
            "yaml": self.yaml,
        }


def draft_from_file(path: str | Path, article: str | None = None, llm: Any = None) -> Draft:
    """Read `path` (text or .docx), extract, check each candidate, render the draft YAML.

    `article` keeps only one part of a multi-measure document (一 / 三 / 第二条); `llm` is an
    `LLMClient` whose suggestions are checked the same way and returned beside the rules' ones.
    """
    document = read_document(path)
    cands, notes = extract(document.body)
    if article:
        wanted = article.rstrip("、")
        cands = [c for c in cands if c.article == wanted]
        notes = [n for n in notes if n.article == wanted]
    cands = checked(cands, notes)
    amount_block(cands, notes)  # its notes (an amount it cannot write) belong to the draft's notes too
    suggestions: list[Candidate] = []
    if llm is not None:
        from mianshen.assist.llm import LLMError

        try:
            raw, llm_notes = llm.suggest(document.body)
        except LLMError as exc:  # the model is optional: its failure leaves the rule-based draft intact
            raw, llm_notes = [], [Note("", str(exc), "")]
        suggestions = checked(raw, llm_notes)
        notes.extend(Note(n.text, f"语言模型：{n.reason}", n.sentence, n.article) for n in llm_notes)
    draft = Draft(document, cands, notes, suggestions)
    draft.yaml = render(document, cands, notes)
    return draft


def yaml_value(field_name: str, value: Any) -> Any:
    """The value as a policy author writes it: 300万元, 5.5%, a date, a list."""
    if isinstance(value, Decimal):
        if field_name.endswith("_rate") or field_name == "main_revenue_growth_q1":
            return f"{normalise(value * 100)}%"
        n = normalise(value)
        if n >= 10000 and n % 10000 == 0:
            return f"{normalise(n / 10000)}万元"
        return int(n) if n == n.to_integral_value() else str(n)
    return json_value(value) if not isinstance(value, dt.date | bool | int | str) else value


def _condition(c: Candidate, index: int) -> dict[str, Any]:
    slug = re.sub(r"[^a-z0-9]+", "-", c.field.lower()).strip("-")
    label = c.label if len(c.label) <= 40 else c.label[:39] + "…"
    out: dict[str, Any] = {"id": f"c{index}-{slug}", "label": label, "field": c.field}
    out[c.op] = yaml_value(c.field, c.value)
    return out


def _check_one(c: Candidate) -> str:
    """'' if the checker accepts the condition alone, else its first error message."""
    doc = {
        "id": "draft-check",
        "title": "检查",
        "department": "检查",
        "legal_basis": [{"doc": "检查"}],
        "kind": "条件类",
        "valid_from": dt.date(2000, 1, 1),
        "subjects": ["企业"],
        "conditions": [_condition(c, 1)],
        "amount": "none",
    }
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", encoding="utf-8", delete=False) as fh:
        yaml.safe_dump(doc, fh, allow_unicode=True, sort_keys=False)
    try:
        _, diags = read_policy(fh.name)
    finally:
        Path(fh.name).unlink(missing_ok=True)
    errors = [d for d in diags if d.severity == "error"]
    return f"{errors[0].message}{'。' + errors[0].hint if errors[0].hint else ''}" if errors else ""


def checked(cands: list[Candidate], notes: list[Note]) -> list[Candidate]:
    """Keep the candidates the policy checker accepts; the others become notes with its reason."""
    kept = []
    for c in cands:
        if c.role in ("condition", "tier"):
            if c.op not in CONDITION_OPS:
                notes.append(Note(c.label, f"运算“{c.op}”不是政策语言的条件运算", c.sentence, c.article))
                continue
            problem = _check_one(c)
            if problem:
                notes.append(Note(c.label, f"检查器拒绝：{problem}", c.sentence, c.article))
                continue
        kept.append(c)
    return kept


def _comment(text: str) -> str:
    return " ".join(text.split())


def _issued(document: Document) -> dt.date:
    # Without a stated window the draft starts on the issue date (header 日期), else today.
    dates = find_dates(document.meta.get("日期", ""))
    return dates[0].value if dates else clock_today()


def render(document: Document, cands: list[Candidate], notes: list[Note]) -> str:
    """The draft YAML for the given (accepted) candidates, with notes as comments."""
    notes = list(notes)
    amount = amount_block(cands, notes)  # may turn tier conditions shared by every tier into conditions
    conds: list[Candidate] = []
    for c in cands:  # a tier condition turned condition may repeat one already there
        if c.role == "condition" and all(c.key() != d.key() for d in conds):
            conds.append(c)
    windows = {c.field: c.value for c in cands if c.role == "window"}
    subjects: list[str] = []
    for c in cands:
        if c.field == "subject_type" and c.op == "in":
            subjects += [s for s in c.value if s not in subjects]
    excluded = {s for c in cands if c.field == "subject_type" and c.op == "not_in" for s in c.value}
    subjects = [s for s in subjects if s not in excluded] or ["企业"]
    head: dict[str, Any] = {
        "id": "draft-" + re.sub(r"[^a-z0-9]+", "-", Path(document.path).stem.lower()).strip("-")[:40],
        "version": 1,
        "title": f"{document.title or Path(document.path).stem}（草稿）",
        "department": document.issuer.split("（")[0] or "待填写",
        "level": "省级",
        "region": "410000",
        "legal_basis": [{"doc": document.doc_no or "文号待填写", "title": document.title or "待填写"}],
        "kind": "条件类" if conds else "暂难数据化类",
        "valid_from": windows.get("valid_from", _issued(document)),
    }
    if "valid_to" in windows:
        head["valid_to"] = windows["valid_to"]
    head["subjects"] = subjects
    lines = [
        f"# 草稿：由 `mianshen policy draft` 从 {document.path} 生成。须由工作人员逐条确认（再确认）后才能成为政策。",
        "# 每个条件上方的注释引用其来源句；region、level、department、有效期须人工核对。",
    ]
    lines += [f"# 未用于起草：{_comment(s)}" for s in document.skipped]
    lines.append(yaml.safe_dump(head, allow_unicode=True, sort_keys=False, width=1000).rstrip())
    lines.append("conditions:")
    if not conds:
        lines.append("  []  # 未识别出可直接比对的条件")
    for i, c in enumerate(conds, 1):
        lines.append(f"  # 来源（{c.article or '正文'}，置信度 {c.confidence}）：{_comment(c.sentence)}")
        block = yaml.safe_dump([_condition(c, i)], allow_unicode=True, sort_keys=False, width=1000)
        lines += ["  " + ln for ln in block.rstrip().splitlines()]
    if amount is not None:
        lines.append(
            f"# 金额来源：{_comment(' / '.join(sorted({c.sentence[:60] for c in cands if c.role == 'amount'})))}"
        )
        lines.append(yaml.safe_dump({"amount": amount}, allow_unicode=True, sort_keys=False, width=1000).rstrip())
    else:  # declared, not a silent 0: staff see that no amount was found and write one
        lines.append("amount:")
        lines.append("  none: true  # 金额未能自动确定（见下方金额候选）：发放资金的政策须改写为 formula 或 fixed")
    for c in cands:
        if c.role in ("amount", "tier"):
            lines.append(
                f"# 金额候选：{c.op} {yaml_value(c.field, c.value)}（{_comment(c.label)}）来源：{_comment(c.sentence)[:80]}"
            )
    by_sentence: dict[tuple[str, str], list[Note]] = {}
    for n in notes:  # each sentence once, its unread parts listed under it (each part once)
        group = by_sentence.setdefault((n.article, n.sentence), [])
        if all((m.text, m.reason) != (n.text, n.reason) for m in group):
            group.append(n)
    for (article, sentence), group in by_sentence.items():
        where = f"[{article}] " if article else ""
        lines.append(f"# 未能识别 {where}来源：{_comment(sentence) or '（全文）'}")
        lines += [f"#   - {_comment(n.text)} —— {n.reason}" for n in group]
    return "\n".join(lines) + "\n"
