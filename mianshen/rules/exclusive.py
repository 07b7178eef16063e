"""Cross-policy rules (同一事项不重复享受, 就高): which policies an enterprise may not enjoy together.

    matter: 吸纳就业类补贴          # the 事项 this policy belongs to: one benefit of a matter per enterprise
    matter_rule: 就高               # optional: of a matter, the highest amount is the one enjoyed
    exclusive_with: [yici-xina-jiuye, 创业补贴]   # besides: not together with these policies (id) or 事项

Two policies conflict when they name the same matter, or one names the other's id or matter in
`exclusive_with`. Under 就高 (both in the matter with `matter_rule: 就高`) the higher amount is kept
(equal amounts: the earlier case); otherwise the case opened first is kept. The store side —
checked when cases are opened, approved and paid — is mianshen/cases/exclusive.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mianshen.rules.context import ParseContext

HIGHEST = "就高"


@dataclass(frozen=True)
class Exclusivity:
    policy_id: str
    title: str
    matter: str = ""
    highest: bool = False  # matter_rule: 就高
    exclusive_with: tuple[str, ...] = ()

    @property
    def declared(self) -> bool:
        return bool(self.matter or self.exclusive_with)

    def conflicts(self, other: Exclusivity) -> bool:
        if other.policy_id == self.policy_id:
            return False
        if self.matter and self.matter == other.matter:
            return True
        return bool({other.policy_id, other.matter} & set(self.exclusive_with)) or bool(
            {self.policy_id, self.matter} & set(other.exclusive_with)
        )

    def by_highest(self, other: Exclusivity) -> bool:
        """Both in one matter decided 就高: the amounts decide, not the order."""
        return self.highest and other.highest and self.matter == other.matter != ""


def exclusivity(raw: Mapping[str, Any], policy_id: str, title: str) -> Exclusivity:
    """The rules of a policy file's mapping (as checked by `parse_exclusivity` when published)."""
    names = raw.get("exclusive_with") or []
    return Exclusivity(
        policy_id,
        title,
        str(raw.get("matter") or "").strip(),
        raw.get("matter_rule") == HIGHEST,
        tuple(str(n).strip() for n in names),
    )


def parse_exclusivity(ctx: ParseContext, doc: Mapping[str, Any], policy_id: str, title: str) -> Exclusivity:
    matter = doc.get("matter")
    if matter is not None and (not isinstance(matter, str) or not matter.strip()):
        ctx.error(ctx.at(doc, "matter"), "matter（事项）应为事项名称", "例如 matter: 吸纳就业类补贴")
    rule = doc.get("matter_rule")
    if rule is not None and rule != HIGHEST:
        ctx.error(
            ctx.at(doc, "matter_rule"), f"matter_rule 只能写“{HIGHEST}”", "同一事项默认不重复享受（先立案者享受）"
        )
    elif rule is not None and not matter:
        ctx.error(ctx.at(doc, "matter_rule"), "matter_rule 须与 matter（事项）一起写")
    names = doc.get("exclusive_with")
    if names is not None:
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            ctx.error(ctx.at(doc, "exclusive_with"), "exclusive_with 应为政策 id 或事项名称的列表")
        elif policy_id in names:
            ctx.error(ctx.at(names, names.index(policy_id)), "exclusive_with 不能写本政策自己")
    return exclusivity(doc, policy_id, title)
