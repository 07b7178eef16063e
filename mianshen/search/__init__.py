"""Chinese full-text search over policies and service guides (jieba + BM25, synonyms as data)."""

from mianshen.search.index import Hit, PolicyIndex, expand, related_policies, search_policies, tokens

__all__ = ["Hit", "PolicyIndex", "expand", "related_policies", "search_policies", "tokens"]
