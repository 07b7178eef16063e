"""Precision and recall of the extractor on the labelled sentences, and drafts vs shipped policies.

A labelled item is right when the extractor emits exactly the expected (field, op, value) triples;
each extra triple is a false positive, each missing one a false negative (micro-averaged over all
sentences). Amount items (field `amount`) and subject types count like any other triple.

Every labelled file names its `part`: "dev" (the rules may be tuned on it) or "heldout" (never
looked at while tuning, split once by source document). Scores are always reported per part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from mianshen.assist.extract import Candidate, DocContext, Sentence, extract_sentence, value_text
from mianshen.rules.ast import Group, Leaf, Literal, ParamRef, Policy, RelativeDate

Key = tuple[str, str, str]


@dataclass
class ItemResult:
    sentence: str
    source: str
    expected: set[Key]
    found: set[Key]

    @property
    def missed(self) -> set[Key]:
        return self.expected - self.found

    @property
    def extra(self) -> set[Key]:
        return self.found - self.expected


@dataclass
class Scores:
    items: list[ItemResult] = field(default_factory=list)

    @property
    def tp(self) -> int:
        return sum(len(i.expected & i.found) for i in self.items)

    @property
    def fp(self) -> int:
        return sum(len(i.extra) for i in self.items)

    @property
    def fn(self) -> int:
        return sum(len(i.missed) for i in self.items)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "sentences": len(self.items),
            "expected": self.tp + self.fn,
            "true_positives": self.tp,
            "false_positives": self.fp,
            "false_negatives": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "errors": [
                {
                    "sentence": i.sentence,
                    "source": i.source,
                    "missed": [list(k) for k in sorted(i.missed)],
                    "extra": [list(k) for k in sorted(i.extra)],
                }
                for i in self.items
                if i.missed or i.extra
            ],
        }


def expected_key(item: dict[str, Any]) -> Key:
    return str(item["field"]), str(item["op"]), value_text(item["value"])


PARTS = ("dev", "heldout")
PART_NAMES = {"dev": "开发部分", "heldout": "留出部分"}


def load_labelled(part: str | None = None) -> list[dict[str, Any]]:
    """Labelled files ({part, source: {file, doc_no, title}, context, items}), of one part if given."""
    folder = resources.files("mianshen.assist") / "labelled"
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".yaml")), key=lambda p: p.name)
    docs = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in files]
    return [d for d in docs if part is None or d["part"] == part]


def evaluate(extractor: Any = None, part: str | None = None) -> Scores:
    """Score `extractor(sentence, ctx) -> (candidates, notes)` (default: the rule-based one).

    `part` is "dev" or "heldout"; None scores every labelled sentence together.
    """
    run = extractor or (lambda s, c: extract_sentence(s, c))
    scores = Scores()
    for doc in load_labelled(part):
        context = doc.get("context") or {}
        ctx = DocContext(quarterly=bool(context.get("quarterly")), defined=set(context.get("defined", [])))
        source = f"{doc['source']['file']}（{doc['source'].get('doc_no', '')}）"
        for item in doc["items"]:
            cands, _ = run(Sentence(item["sentence"], 0), ctx)
            found = {c.key() for c in cands}
            expected = {expected_key(e) for e in item.get("expected") or []}
            scores.items.append(ItemResult(item["sentence"], source, expected, found))
    return scores


def evaluate_parts(extractor: Any = None) -> dict[str, Scores]:
    """Scores of the development and the held-out part, separately."""
    return {part: evaluate(extractor, part) for part in PARTS}


def policy_keys(policy: Policy) -> set[Key]:
    """(field, op, value) of every comparison in a policy, nested ones and amount tiers included."""
    keys: set[Key] = set()

    def walk(cond: Any) -> None:
        if isinstance(cond, Group):
            for child in cond.children:
                walk(child)
        elif isinstance(cond, Leaf):
            for test in cond.tests:
                keys.add((cond.field, test.op, _operand(policy, test.operand)))

    for cond in policy.conditions:
        walk(cond)
    for tier in policy.amount.tiers:
        if tier.when is not None:
            walk(tier.when)
    return keys


def _operand(policy: Policy, operand: Any) -> str:
    if isinstance(operand, Literal):
        return value_text(operand.value)
    if isinstance(operand, ParamRef):
        param = policy.parameters[operand.name]
        return value_text(param.values[0].value)
    if isinstance(operand, RelativeDate):
        return value_text({f"{operand.unit}_before": operand.amount})
    return value_text(list(operand))


def compare_with_policy(cands: list[Candidate], policy: Policy) -> tuple[list[Candidate], list[Candidate]]:
    """The draft's conditions that the hand-written policy also has, and those it does not.

    Only role "condition" is compared: tier conditions go into the draft as amount comments, to be
    arranged into `tiers` by a person (the hand-written policy may write one tier as `else`).
    """
    known = policy_keys(policy)
    emitted = [c for c in cands if c.role == "condition"]
    return [c for c in emitted if c.key() in known], [c for c in emitted if c.key() not in known]
