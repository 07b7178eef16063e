"""What a page shows people, checked for what should never reach them: identifiers from the code
(snake_case, dotted or hyphenated lower-case names), Python literals, UTC or microsecond times.

Allowed places are elements marked `class="code"` (a policy's code where staff need it), and the
codes the scan does not match anyway: USCCs, region codes, amounts, dates, case numbers."""

from __future__ import annotations

import re
from html.parser import HTMLParser

FORBIDDEN = re.compile(
    r"\b[a-z][a-z0-9]*(?:[_.-][a-z0-9]+)+\b"  # ui_new_claimants_last_year, profile.read, wengang-fanhuan
    r"|\b(?:None|True|False|null|undefined|NaN)\b"
    r"|\d{2}:\d{2}:\d{2}\.\d{3,6}"  # microseconds
    r"|\d{4}-\d{2}-\d{2}T\d{2}|[+-]00:00\b|\bUTC\b"  # ISO or UTC times
)
SKIPPED = {"script", "style", "code", "pre"}


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.stack: list[bool] = []  # per open element: whether its text is skipped

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "img", "input", "meta", "link", "hr", "source", "wbr"):
            return
        classes = (dict(attrs).get("class") or "").split()
        self.stack.append(tag in SKIPPED or "code" in classes or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("br", "img", "input", "meta", "link", "hr", "source", "wbr") and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(parser.parts)


def leaks(html: str) -> list[str]:
    """The forbidden things a page shows, each once."""
    return sorted({m.group(0) for m in FORBIDDEN.finditer(visible_text(html))})
