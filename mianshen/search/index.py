"""Chinese full-text search over policies and their service guides: jieba words, BM25 ranking.

Each policy is one document made of its title (weighted ×3), summary, department, legal basis,
condition and amount labels, and the guide (办事指南) text. Queries are expanded with the
synonym table (`synonyms.yaml`), so 应届生 also finds 高校毕业生. For the web pages: build one
`PolicyIndex` per catalogue version and call `search(q)` (public list, enterprise portal) and
`related(policy_id)` (the "related policies" box); both return `Hit`s with `as_dict()`.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from mianshen.rules.ast import Group, Leaf, Policy
from mianshen.settings import current as settings

K1 = 1.5
B = 0.75
TITLE_WEIGHT = 3
# Words that appear in nearly every policy and carry no meaning for ranking.
_STOP = set(
    "的 了 和 与 及 或 对 按 为 在 是 有 我 我们 公司 企业 单位 能 可以 可 吗 什么 怎么 怎样 如何 哪些 多少 要 想 请问 政策 一个".split()  # noqa: SIM905
)
# Policy terms jieba's general dictionary splits apart (稳岗/返还); kept whole they rank better.
_DOMAIN_WORDS = [
    *"稳岗返还 扩岗补助 免申即享 小型微利企业 六税两费 高新技术企业 满负荷生产 首贷户 专精特新 小巨人".split(),  # noqa: SIM905
    *"高校毕业生 登记失业青年 个体工商户 失业保险 社会保险 创业开业补贴 开业补贴 贴息 裁员率 应届生".split(),  # noqa: SIM905
    *"规上工业企业 规模以上工业企业 应纳税所得额 城市维护建设税 技术改造 严重失信 劳务派遣".split(),  # noqa: SIM905
]


def _cache_dir() -> Path:
    # jieba writes a ~9 MB dictionary cache; keep it with the app's cache, not in /tmp.
    base = str(settings().cache_dir or "") or os.path.join(os.path.expanduser("~"), ".cache", "mianshen")
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.dt.tmp_dir = str(_cache_dir())
    for word in _DOMAIN_WORDS:
        jieba.add_word(word, freq=20000)
    return jieba


_CJK = re.compile(r"[\u4e00-\u9fff]+")


def tokens(text: str) -> list[str]:
    """Search words: jieba's search-mode cut, without punctuation, stop words and single digits."""
    words = _jieba().cut_for_search(text)
    kept = [
        w for w in (x.strip().lower() for x in words) if w and w not in _STOP and re.search(r"[\w\u4e00-\u9fff]", w)
    ]
    # jieba keeps words such as 稳岗返还 whole; their two-character pieces let a user's 稳岗 find them.
    pieces = [w[i : i + 2] for w in kept if len(w) >= 3 and _CJK.fullmatch(w) for i in range(len(w) - 1)]
    return kept + [p for p in pieces if p not in _STOP]


@lru_cache(maxsize=1)
def synonyms() -> dict[str, list[str]]:
    text = (resources.files("mianshen.search") / "synonyms.yaml").read_text(encoding="utf-8")
    return {str(k): [str(v) for v in vs] for k, vs in (yaml.safe_load(text)["synonyms"] or {}).items()}


def expand(query: str) -> list[str]:
    """Query words plus the policy words for what enterprises say (社保 → 社会保险)."""
    words = tokens(query)
    extra: list[str] = []
    for phrase, targets in synonyms().items():
        if phrase in query:
            for target in targets:
                extra.extend(tokens(target))
    return words + [w for w in extra if w not in words]


def policy_text(policy: Policy) -> tuple[str, str]:
    """(title, body) of a policy as the index sees them."""
    labels: list[str] = []

    def walk(cond: Any) -> None:
        if isinstance(cond, Leaf | Group):
            labels.append(cond.label)
        if isinstance(cond, Group):
            for child in cond.children:
                walk(child)

    for cond in policy.conditions:
        walk(cond)
    guide = policy.guide or {}
    parts = [
        str(policy.raw.get("summary", "")),
        policy.department,
        " ".join(f"{b.get('doc', '')} {b.get('title', '')}" for b in policy.legal_basis),
        " ".join(labels),
        policy.amount.label,
        " ".join(t.label for t in policy.amount.tiers),
        " ".join(str(v) if not isinstance(v, list) else " ".join(map(str, v)) for v in guide.values()),
    ]
    return policy.title, " ".join(parts)


@dataclass
class Hit:
    policy_id: str
    title: str
    score: float
    matched: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id,
            "title": self.title,
            "score": round(self.score, 4),
            "matched": self.matched,
        }


class PolicyIndex:
    """BM25 over policies (Okapi BM25, k1 = 1.5, b = 0.75); small enough to rebuild on each publish."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        self.ids: list[str] = []
        self.titles: dict[str, str] = {}
        self.docs: list[Counter[str]] = []
        for policy in policies:
            title, body = policy_text(policy)
            words = tokens(title) * TITLE_WEIGHT + tokens(body)
            self.ids.append(policy.id)
            self.titles[policy.id] = title
            self.docs.append(Counter(words))
        self.avg_len = sum(sum(d.values()) for d in self.docs) / max(len(self.docs), 1)
        df: Counter[str] = Counter()
        for doc in self.docs:
            df.update(doc.keys())
        n = len(self.docs)
        self.idf = {w: math.log((n - c + 0.5) / (c + 0.5) + 1) for w, c in df.items()}

    @classmethod
    def from_folder(cls, *paths: str | Path) -> PolicyIndex:
        from mianshen.clock import today
        from mianshen.rules.loader import read_policies
        from mianshen.rules.versions import one_per_policy

        policies, _ = read_policies(paths)
        return cls(one_per_policy(policies, today()))

    def _score(self, doc: Counter[str], words: list[str]) -> tuple[float, list[str]]:
        length = sum(doc.values())
        score = 0.0
        matched = []
        for word in dict.fromkeys(words):
            tf = doc.get(word, 0)
            if not tf:
                continue
            matched.append(word)
            score += self.idf[word] * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / self.avg_len))
        return score, matched

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        """Policies ranked by BM25 for the expanded query; those matching no word are left out."""
        words = expand(query)
        hits = []
        for pid, doc in zip(self.ids, self.docs, strict=True):
            score, matched = self._score(doc, words)
            if score > 0:
                hits.append(Hit(pid, self.titles[pid], score, matched))
        hits.sort(key=lambda h: (-h.score, h.policy_id))
        return hits[:limit]

    def related(self, policy_id: str, limit: int = 3) -> list[Hit]:
        """Other policies sharing the most distinctive words with this one (its top terms as the query)."""
        if policy_id not in self.ids:
            return []
        doc = self.docs[self.ids.index(policy_id)]
        top = sorted(doc, key=lambda w: -doc[w] * self.idf[w])[:25]
        hits = []
        for pid, other in zip(self.ids, self.docs, strict=True):
            if pid == policy_id:
                continue
            score, matched = self._score(other, top)
            if score > 0:
                hits.append(Hit(pid, self.titles[pid], score, matched))
        hits.sort(key=lambda h: (-h.score, h.policy_id))
        return hits[:limit]


_INDEXES: dict[tuple[tuple[str, int], ...], PolicyIndex] = {}


def _index_for(policies: list[Policy]) -> PolicyIndex:
    """One index per published catalogue (ids and versions); rebuilt when a policy is republished."""
    key = tuple((p.id, p.version) for p in policies)
    if key not in _INDEXES:
        _INDEXES.clear()  # only the current catalogue is worth keeping
        _INDEXES[key] = PolicyIndex(policies)
    return _INDEXES[key]


def search_policies(policies: list[Policy], query: str, limit: int = 50) -> list[Hit]:
    """For the public list and the enterprise portal: `policies` ranked for `query`."""
    return _index_for(policies).search(query, limit=limit)


def related_policies(policies: list[Policy], policy_id: str, limit: int = 3) -> list[str]:
    """For a policy page: ids of the related policies, most related first."""
    return [hit.policy_id for hit in _index_for(policies).related(policy_id, limit=limit)]
