"""Reading a policy document: plain text or .docx, with an optional header of `键: 值` lines.

The reference texts in shared/docs/policy-texts start with 标题/发布机构/文号/日期 lines and a
dashed rule; sections marked 转述/新闻/解读 are someone else's retelling, not the policy's own
words, so they are left out of drafting (and said so in the notes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mianshen import filecheck
from mianshen.errors import InputError

MAX_TEXT = 300_000  # characters: a long policy document has a few tens of thousands

_META = re.compile(r"^(?P<k>[\u4e00-\u9fff]{2,6})\s*[:：]\s*(?P<v>.*)$")
_RULE = re.compile(r"^\s*[-=]{10,}\s*$")
_RETOLD = ("转述", "新闻", "解读", "非原文", "知识贴")
_DOC_NO = re.compile(r"[\u4e00-\u9fff]{1,8}[〔\[［(（]\d{4}[〕\]］)）]\d+号|[\u4e00-\u9fff ]{2,20}公告\d{4}年第\d+号")


@dataclass
class Document:
    path: str
    title: str = ""
    doc_no: str = ""  # 文号, e.g. 财政部 税务总局公告2023年第6号
    issuer: str = ""
    meta: dict[str, str] = field(default_factory=dict)
    body: str = ""
    skipped: list[str] = field(default_factory=list)  # headings of sections left out, with why


def read_document(path: str | Path) -> Document:
    p = Path(path)
    if not p.exists():
        raise InputError(f"找不到文件：{p}")
    if p.suffix.lower() == ".docx":
        filecheck.check_file(p)  # a zip of a few hundred KB can declare gigabytes of XML
        text = _docx_text(p)
    else:
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{p} 不是 UTF-8 文本（.docx 请保留扩展名）：{exc}") from exc
    return parse_document(text, str(p))


def _docx_text(path: Path) -> str:
    try:
        import docx  # python-docx
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise InputError("读取 .docx 需要 python-docx") from exc
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several unrelated types for a bad file
        raise InputError("无法读取 .docx 文件（文件已损坏，或不是 Word 2007 及以后的格式）", path.name) from exc
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines.extend("，".join(cell.text for cell in row.cells) for row in table.rows)
    return "\n".join(lines)


def parse_document(text: str, path: str = "<text>") -> Document:
    if len(text) > MAX_TEXT:  # drafting reads every line many times over: bounded before it starts
        raise InputError(f"政策原文有 {len(text):,} 字，超过上限 {MAX_TEXT:,} 字；请只上传政策正文", Path(path).name)
    doc = Document(path)
    lines = text.splitlines()
    body_start = 0
    if lines and _META.match(lines[0]):
        key = ""
        for i, line in enumerate(lines):
            if _RULE.match(line):
                body_start = i + 1
                break
            m = _META.match(line)
            if m:
                key = m.group("k")
                doc.meta[key] = m.group("v").strip()
            elif key:
                doc.meta[key] += " " + line.strip()
        else:
            body_start = 0  # no rule: the "header" was the text itself
            doc.meta = {}
    doc.title = doc.meta.get("标题", "")
    doc.issuer = doc.meta.get("发布机构", "")
    doc.doc_no = _doc_no(doc.meta.get("文号", "")) or _doc_no(doc.meta.get("依据文件", "")) or _doc_no(text[:400])
    if not doc.title:
        doc.title = next((ln.strip() for ln in lines[body_start:] if ln.strip()), "")[:60]
    doc.body = _own_words("\n".join(lines[body_start:]), doc.skipped)
    return doc


def _doc_no(text: str) -> str:
    m = _DOC_NO.search(text)
    return m.group(0).strip() if m else ""


def _own_words(body: str, skipped: list[str]) -> str:
    """The body without sections whose heading says they are retold (转述/新闻/解读)."""
    kept: list[str] = []
    blocks = re.split(r"\n\s*={10,}\s*\n", body)
    for block in blocks:
        heading = block.strip().splitlines()[0] if block.strip() else ""
        if any(word in heading for word in _RETOLD):
            skipped.append(f"{heading[:60]}（非政策原文，未用于起草）")
            continue
        kept.append(re.sub(r"^\s*-{10,}\s*$", "", block, flags=re.M))
    return "\n".join(kept)
