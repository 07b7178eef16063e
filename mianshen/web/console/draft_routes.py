"""Console: draft a policy from its document, then staff accept, edit or reject each candidate (再确认).

POST /console/drafts saves the document under drafts/ in the var directory<random id>/ (MIANSHEN_DRAFT_DIR) together
with the extracted candidates (values typed exactly, so what staff saw is what is rendered). Accepting
re-validates edited rows with the policy checker, renders the YAML and opens the ordinary policy
editor with it: checking, simulating and publishing stay the existing flow. Nothing is published here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from mianshen.assist.document import read_document
from mianshen.assist.draft import CONDITION_OPS, checked, draft_from_file, render
from mianshen.assist.extract import Candidate, Note
from mianshen.assist.llm import LLMClient
from mianshen.audit.log import record
from mianshen.catalogue.fields import load_catalogue
from mianshen.clock import today as clock_today
from mianshen.settings import current as settings
from mianshen.store.paths import var_dir
from mianshen.web.console import scope
from mianshen.web.deps import actor, engine, page, require_csrf
from mianshen.web.errors import WebError, not_found
from mianshen.web.forms import keep_form
from mianshen.web.sessions import Session

router = APIRouter()
EDITORS = ("department", "platform_admin")
SUFFIXES = (".txt", ".docx")
MAX_DOCUMENT = 5 * 1024 * 1024
DECISIONS = {"accept": "采纳", "edit": "修改", "reject": "不采纳"}
_WORDS = "等于 不等于 大于（不含本数） 不低于（含本数） 小于（不含本数） 不超过（含本数） 属于其一 不属于 位于（含下级） 不位于 具有标签 不具有标签"
OP_LABELS = dict(zip(CONDITION_OPS, _WORDS.split(), strict=True))
OP_LABELS |= {"fixed": "定额", "cap": "最高", "per_person": "按人", "rate": "比例"}
ROLE_LABELS = {"condition": "条件", "tier": "档位条件", "subjects": "主体类型", "window": "有效期", "amount": "金额"}
EXTRA_FIELDS = {"valid_from": "有效期起", "valid_to": "有效期止", "amount": "补贴金额", "subject_type": "主体类型"}
LIST_OPS = ("in", "not_in", "within", "not_within")
_ID = re.compile(r"^[0-9a-f]{32}$")


def draft_dir() -> Path:
    return Path(settings().draft_dir or var_dir() / "drafts")


def _enc(v: Any) -> Any:
    """JSON that keeps a candidate value's type (Decimal, date) so it renders as it was extracted."""
    if isinstance(v, Decimal):
        return {"$decimal": str(v)}
    if isinstance(v, dt.date):
        return {"$date": v.isoformat()}
    if isinstance(v, list | tuple):
        return [_enc(x) for x in v]
    if isinstance(v, dict):
        return {"$dict": {k: _enc(x) for k, x in v.items()}}
    return v


def _dec(v: Any) -> Any:
    if isinstance(v, list):
        return [_dec(x) for x in v]
    if isinstance(v, dict):
        if "$decimal" in v:
            return Decimal(v["$decimal"])
        if "$date" in v:
            return dt.date.fromisoformat(v["$date"])
        return {k: _dec(x) for k, x in v.get("$dict", {}).items()}
    return v


def _candidate(d: dict[str, Any]) -> Candidate:
    return Candidate(**{**d, "value": _dec(d["value"]), "span": tuple(d["span"])})


def field_label(name: str) -> str:
    known = load_catalogue().get(name)
    return known.label if known else EXTRA_FIELDS.get(name, name)


def shown_value(v: Any) -> str:
    """The value as staff read and type it: 3000000, 0.25, 2023-01-01, 是/否, A、B."""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, list | tuple):
        return "、".join(shown_value(x) for x in v)
    if isinstance(v, dict):
        return "，".join(f"{k}={shown_value(x)}" for k, x in v.items())
    if isinstance(v, Decimal):
        return format(v.normalize(), "f")
    return str(v)


def _scalar(text: str) -> Any:
    if text in ("是", "否"):
        return text == "是"
    try:
        v = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(v, bool | dt.date):
        return v
    if isinstance(v, int | float):
        return Decimal(str(v))
    return text


def parse_value(op: str, text: str) -> Any:
    """What staff typed → a candidate value; lists for set operations (separated by 、，, or spaces)."""
    text = text.strip()
    if not text:
        raise ValueError("值不能为空")
    if op in LIST_OPS:
        return [p for p in re.split(r"[,，、;；\s]+", text) if p]
    if text.startswith("years_before="):
        return {"years_before": int(text.split("=", 1)[1])}
    return _scalar(text)


def _row(key: str, c: Candidate) -> dict[str, Any]:
    start, end = c.span
    return {
        "key": key,
        **c.as_dict(),
        "value_text": shown_value(c.value),
        "field_label": field_label(c.field),
        "op_label": OP_LABELS.get(c.op, c.op),
        "role_label": ROLE_LABELS.get(c.role, c.role),
        "before": c.sentence[:start],
        "marked": c.sentence[start:end],
        "after": c.sentence[end:],
        "editable": c.role in ("condition", "tier"),
    }


def _view(meta: dict[str, Any], chosen: dict[str, Any] | None = None, errors: dict[str, str] | None = None) -> Any:
    fields = sorted((f.name, f.label) for f in load_catalogue().fields.values())
    return {
        "draft": meta,
        "rows": [_row(f"c{i}", _candidate(d)) for i, d in enumerate(meta["candidates"])],
        "suggestions": [_row(f"s{i}", _candidate(d)) for i, d in enumerate(meta["suggestions"])],
        "llm": bool((settings().llm_url or "").strip()),
        "fields": fields,
        "ops": [(op, OP_LABELS[op]) for op in CONDITION_OPS],
        "decisions": DECISIONS,
        "chosen": chosen or {},
        "errors": errors or {},
    }


def _safe_name(filename: str, sha: str) -> str:
    p = Path(filename.replace("\\", "/")).name
    suffix = Path(p).suffix.lower() or ".txt"
    slug = re.sub(r"[^A-Za-z0-9]+", "-", Path(p).stem).strip("-")[:60]
    return f"{slug or 'doc-' + sha[:8]}{suffix}"


async def _document(data: dict[str, Any]) -> tuple[bytes, str]:
    upload = data.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        name = str(upload.filename)
        if not name.lower().endswith(SUFFIXES):
            raise WebError(400, "bad_request", "政策原文须为 .txt（UTF-8）或 .docx 文件", "file")
        raw = await upload.read()
        if len(raw) > MAX_DOCUMENT:
            raise WebError(400, "bad_request", "文件过大（上限 5 MB）", "file")
        return raw, name
    text = str(data.get("text") or "")
    if not text.strip():
        raise WebError(400, "bad_request", "请上传政策原文文件或粘贴原文", "text")
    return text.encode("utf-8"), "pasted.txt"


@router.get("/console/drafts/new", include_in_schema=False)
def new_draft(request: Request) -> Response:
    scope.staff(request, *scope.STAFF_READ)
    return page(request, "console_draft_new.html", {"llm": bool((settings().llm_url or "").strip())})


@router.post("/console/drafts", include_in_schema=False)
async def make_draft(request: Request) -> Response:
    await require_csrf(request)
    s = scope.writer(request, *EDITORS)
    await keep_form(request, "draft", lambda: new_draft(request))
    data = await scope.params(request)
    raw, original = await _document(data)
    article = str(data.get("article") or "").strip() or None
    sha = hashlib.sha256(raw).hexdigest()
    draft_id = secrets.token_hex(16)
    folder = draft_dir() / draft_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _safe_name(original, sha)
    path.write_bytes(raw)
    draft = draft_from_file(path, article, LLMClient.from_env())
    meta = {
        "id": draft_id,
        "sha256": sha,
        "file": path.name,
        "original": Path(original).name,
        "article": article or "",
        "owner": s.user_id,
        "title": draft.document.title,
        "doc_no": draft.document.doc_no,
        "skipped": draft.document.skipped,
        "candidates": [{**c.as_dict(), "value": _enc(c.value)} for c in draft.candidates],
        "suggestions": [{**c.as_dict(), "value": _enc(c.value)} for c in draft.suggestions],
        "notes": [n.as_dict() for n in draft.notes],
    }
    (folder / "draft.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return page(request, "console_draft.html", _view(meta))


def _load(s: Session, draft_id: str) -> tuple[dict[str, Any], Path]:
    folder = draft_dir() / draft_id
    if not _ID.match(draft_id) or not (folder / "draft.json").is_file():
        raise not_found("草稿")
    meta: dict[str, Any] = json.loads((folder / "draft.json").read_text(encoding="utf-8"))
    if meta.get("owner") != s.user_id:  # one's own drafts only; another's looks missing
        raise not_found("草稿")
    return meta, folder


def _decide(data: dict[str, Any], meta: dict[str, Any]) -> tuple[list[Candidate], dict[str, int], dict[str, str]]:
    """The accepted and edited candidates, counts per decision, and a message per row not accepted."""
    kept: list[Candidate] = []
    counts = {"accepted": 0, "edited": 0, "rejected": 0}
    errors: dict[str, str] = {}
    rows = [(f"c{i}", d) for i, d in enumerate(meta["candidates"])]
    rows += [(f"s{i}", d) for i, d in enumerate(meta["suggestions"])]
    for key, stored in rows:
        c = _candidate(stored)
        decision = str(data.get(f"decision_{key}") or "")
        if decision not in DECISIONS:
            errors[key] = "请选择采纳、修改或不采纳"
        elif decision == "reject":
            counts["rejected"] += 1
        elif decision == "accept":
            counts["accepted"] += 1
            kept.append(c)
        else:
            counts["edited"] += 1
            edited, problem = _edited(c, data, key)
            if problem:
                errors[key] = problem
            else:
                kept.append(edited)
    return kept, counts, errors


def _edited(c: Candidate, data: dict[str, Any], key: str) -> tuple[Candidate, str]:
    name = str(data.get(f"field_{key}") or c.field).strip()
    op = str(data.get(f"op_{key}") or c.op).strip()
    try:
        value = parse_value(op, str(data.get(f"value_{key}") or ""))
    except ValueError as exc:
        return c, str(exc)
    if c.role == "window" and not isinstance(value, dt.date):
        return c, "有效期须为日期（应写成 2025-06-30 这样的格式）"
    if c.role in ("condition", "tier"):
        label = f"{field_label(name)}{OP_LABELS.get(op, op)}{shown_value(value)}（人工修改）"
    else:
        label = f"{c.label}（人工修改）"
    new = replace(c, field=name, op=op, value=value, label=label)
    problems: list[Note] = []
    return (new, "") if checked([new], problems) else (c, problems[-1].reason)


@router.post("/console/drafts/accept", include_in_schema=False)
async def accept(request: Request) -> Response:
    await require_csrf(request)
    s = scope.writer(request, *EDITORS)
    data = await scope.params(request)
    meta, folder = _load(s, str(data.get("draft") or ""))
    kept, counts, errors = _decide(data, meta)
    if errors:
        chosen = {k: str(v) for k, v in data.items() if isinstance(v, str)}
        return page(request, "console_draft.html", _view(meta, chosen, errors), 422)
    document = await run_in_threadpool(read_document, folder / meta["file"])
    document.path = meta["original"]
    if s.role == "department" and s.department:
        document.issuer = s.department  # a department drafts its own policy; the editor checks ownership too
    notes = [Note(**n) for n in meta["notes"]]
    source = render(document, kept, notes)
    after = {"sha256": meta["sha256"], "file": meta["original"], "article": meta["article"], **counts}

    def audit() -> None:
        with engine(request).begin() as conn:
            record(conn, actor(s), "policy.draft", "policy_draft", meta["id"], None, after, meta["sha256"])

    await run_in_threadpool(audit)
    loaded = yaml.safe_load(source) or {}
    filename = f"{loaded.get('id') or 'draft'}.yaml"
    context = {"source": source, "filename": filename, "as_of": clock_today().isoformat()}
    return page(request, "console_policy_edit.html", context)
