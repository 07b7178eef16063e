"""Amount candidates → the draft's `amount:` block (fixed, formula, tiers + else, cap).

A rate or a per-person sum needs the figure it multiplies (上年度实际缴纳失业保险费, 招用人数 …);
the sentence names it, and `BASES` maps those words to catalogue fields. When no base is found,
or only caps are known ("最高30万元" says what is paid at most, not what is paid), the block stays
`none: true` and a note says why — a draft never pays a silent 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mianshen.assist.extract import Candidate, Note, value_text
from mianshen.assist.numerals import normalise

# (words in the sentence, field the rate or the per-person sum multiplies), first match wins.
BASES: dict[str, tuple[tuple[str, str], ...]] = {
    "rate": (
        ("失业保险费", "ui_premium_paid_last_year"),
        ("投资额", "techreform_investment"),
        ("贷款", "first_loan_amount"),
    ),
    "per_person": (
        ("毕业生", "qualified_youth_hires"),
        ("失业青年", "qualified_youth_hires"),
        ("参加失业保险职工人数", "insured_avg_last_year"),
        ("参保职工人数", "insured_avg_last_year"),
    ),
}


@dataclass
class Option:
    """One amount the text states, with the conditions written beside it (its tier)."""

    formula: str
    label: str
    sentence: str
    when: list[Candidate] = field(default_factory=list)


def _money(value: Any) -> str:
    return str(normalise(Decimal(str(value))))


def _formula(c: Candidate) -> str | None:
    if c.op == "fixed":
        return _money(c.value)
    for word, base in BASES.get(c.op, ()):
        if word in c.sentence:
            if c.op == "rate":
                return f"{base} * {normalise(Decimal(str(c.value)) * 100)}%"
            return f"{base} * {_money(c.value)}"
    return None


def _options(cands: list[Candidate], notes: list[Note]) -> list[Option]:
    options: list[Option] = []
    for c in cands:
        if c.role != "amount" or c.op == "cap":
            continue
        formula = _formula(c)
        if formula is None:
            notes.append(
                Note(c.label, "金额（比例或每人标准）乘以的基数未能识别，须人工写出算式", c.sentence, c.article)
            )
            continue
        if any(o.formula == formula for o in options):
            continue
        before = [t for t in cands if t.role == "tier" and t.sentence == c.sentence and t.span[0] < c.span[1]]
        taken = {id(t) for o in options if o.sentence == c.sentence for t in o.when}
        options.append(Option(formula, c.label, c.sentence, [t for t in before if id(t) not in taken]))
    return options


def _when(conds: list[Candidate]) -> dict[str, Any]:
    from mianshen.assist.draft import yaml_value

    items = [{"field": c.field, c.op: yaml_value(c.field, c.value)} for c in conds]
    return items[0] if len(items) == 1 else {"all": items}


def amount_block(cands: list[Candidate], notes: list[Note]) -> dict[str, Any] | None:
    """The `amount` mapping for the draft, or None when it cannot be written (then `none: true`)."""
    options = _options(cands, notes)
    caps = sorted({value_text(c.value) for c in cands if c.role == "amount" and c.op == "cap"}, key=Decimal)
    if not options:
        if caps:
            notes.append(Note("、".join(caps), "只写明了上限，没有写明发放标准，金额须人工写出", "", ""))
        return None
    block: dict[str, Any] = {"label": "；".join(o.label for o in options)}
    if len(options) == 1:
        _to_conditions(options[0].when)
        only = options[0].formula
        block["fixed" if re.fullmatch(r"\d+(?:\.\d+)?", only) else "formula"] = _number(only)
    else:
        # The larger amount asks for more: it is the tier tried first, the smallest is `else`.
        ordered = sorted(options, key=_size, reverse=True)
        common = set.intersection(*({c.key() for c in o.when} for o in ordered))
        for o in ordered:
            _to_conditions([c for c in o.when if c.key() in common])
            o.when = [c for c in o.when if c.key() not in common]
        tier_fields = {c.field for o in ordered[:-1] for c in o.when}
        # Beside the smallest amount: a field no other tier uses holds for every tier (a condition);
        # one another tier also uses (大型 vs 中小微) is what `else` already means.
        _to_conditions([c for c in ordered[-1].when if c.field not in tier_fields])
        tiers = []
        for o in ordered[:-1]:
            if not o.when:
                notes.append(Note(o.label, "金额档位没有写明条件，档位顺序须人工确定", o.sentence, ""))
                return None
            tiers.append({"when": _when(o.when), "formula": _number(o.formula), "label": o.label})
        block["tiers"] = tiers
        block["else"] = _number(ordered[-1].formula)
    if len(caps) == 1:
        block["cap"] = _number(caps[0])
    elif caps:
        notes.append(Note("、".join(caps), "多个上限（按项目/按企业等），须人工选定写入 cap", "", ""))
    block["round"] = "fen"
    return block


def _to_conditions(cands: list[Candidate]) -> None:
    for c in cands:
        c.role = "condition"


def _number(text: str) -> Any:
    if re.fullmatch(r"\d+", text):
        return int(text)
    return text


def _size(o: Option) -> Decimal:
    """The amount's own figure (the sum, the rate or the per-person sum) for ordering tiers."""
    m = re.search(r"(\d+(?:\.\d+)?)%?$", o.formula)
    return Decimal(m.group(1)) if m else Decimal(0)
