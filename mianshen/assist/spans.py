"""Where words sit in a sentence: clauses, longest-first word matches, exclusion cues around a word."""

from __future__ import annotations

import re

_EXCLUDED_BEFORE = re.compile(r"(?:不含|不包括|除|非)[^,，;；]{0,3}$")
_EXCLUDED_AFTER = re.compile(r"^[^,，;；]{0,4}[,，]?\s*(?:除外|不享受|不适用|不予|不属于|不在|不纳入)")


def clause_span(text: str, pos: int) -> tuple[int, int]:
    """The clause around `pos`, cut at ,，;；。 outside parentheses (a list in brackets stays whole)."""
    depth, cuts = 0, [-1]
    for i, ch in enumerate(text):
        if ch in "(（":
            depth += 1
        elif ch in ")）":
            depth = max(0, depth - 1)
        elif depth == 0 and ch in ",，;；。":
            cuts.append(i)
    cuts.append(len(text))
    start = max(c for c in cuts if c < pos) + 1
    return start, min(c for c in cuts if c >= pos)


def scan(text: str, table: tuple[tuple[str, tuple[str, ...]], ...]) -> list[tuple[int, int, tuple[str, ...]]]:
    """Longest-first matches of `table` words that do not overlap an earlier, longer match."""
    taken = [False] * len(text)
    found = []
    for word, values in sorted(table, key=lambda t: -len(t[0])):
        for m in re.finditer(re.escape(word), text):
            if not any(taken[m.start() : m.end()]):
                taken[m.start() : m.end()] = [True] * (m.end() - m.start())
                found.append((m.start(), m.end(), values))
    return sorted(found)


def excluded_at(text: str, start: int, end: int) -> bool:
    """Does an exclusion cue stand right before or after text[start:end] (不含X / X除外)?"""
    return bool(_EXCLUDED_BEFORE.search(text[max(0, start - 6) : start]) or _EXCLUDED_AFTER.match(text[end : end + 12]))
