"""Verification of a signed document: its SM2 signature, the key's validity when it signed, the PDF
byte for byte, and — where the store is at hand — that the content equals the case record and the
audit chain. Every failure is a Chinese sentence saying what is wrong; nothing here raises on bad input.

The same function serves the public page, `mianshen verify FILE` and the offline check of an archive
(which brings its own key list, keys.json, instead of the store).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, select

from mianshen.audit.log import canonical, digest
from mianshen.store.schema import audit_log, cases, payments
from mianshen.trust import documents, sm2
from mianshen.trust.keys import PublicKey
from mianshen.trust.pdf import MARK
from mianshen.trust.tables import signed_documents


@dataclass
class Outcome:
    ok: bool = True
    title: str = ""
    code: str = ""
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    content: dict[str, Any] = field(default_factory=dict)

    def fail(self, reason: str) -> Outcome:
        self.ok = False
        self.problems.append(reason)
        return self

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "title": self.title,
            "code": self.code,
            "problems": self.problems,
            "checked": self.checked,
        }


def check_envelope(env: Any, key_list: list[PublicKey], pdf: bytes | None = None) -> Outcome:
    """The signature over the content (and over the PDF when given), with the keys of `key_list`."""
    out = Outcome()
    if not isinstance(env, dict) or env.get("format") != documents.FORMAT or not isinstance(env.get("content"), dict):
        return out.fail("不是本平台签发的文件格式（缺少签名内容）")
    content, sig = env["content"], env.get("signature") or {}
    out.content, out.title, out.code = content, str(content.get("title", "")), str(content.get("code", ""))
    key = next((k for k in key_list if k.key_id == sig.get("key_id")), None)
    if key is None:
        return out.fail(f"签名密钥 {sig.get('key_id')} 不在平台公布的验证密钥清单中")
    if not sm2.verify(key.public_key, canonical(content).encode("utf-8"), str(sig.get("value", ""))):
        return out.fail("签名不符：文件内容在签发后被改动，或签名不是该印章所签")
    out.checked.append(f"SM2 签名有效（{key.seal}，密钥 {key.key_id}）")
    if content.get("key_id") != key.key_id or content.get("seal") != key.seal:
        out.fail("文件所写的印章与签名所用的密钥不一致")
    try:
        signed_at = dt.datetime.fromisoformat(str(content.get("signed_at")))
    except ValueError:
        return out.fail("签发时间无法识别")
    if not key.valid_at(signed_at):
        out.fail(f"签发时印章密钥 {key.key_id} 不在有效期内（已停用或尚未启用）")
    else:
        out.checked.append("签发时印章密钥在有效期内")
    if pdf is not None:
        _check_pdf(out, env, key, pdf)
    return out


def _check_pdf(out: Outcome, env: dict[str, Any], key: PublicKey, pdf: bytes) -> None:
    sealed = env.get("pdf") or {}
    if not sealed.get("sm3"):
        out.fail("该文件的 PDF 尚未签发过，无法比对")
    elif digest(pdf) != sealed["sm3"]:
        out.fail("PDF 文件与签发时不一致（SM3 摘要不同）：文件已被改动")
    elif not sm2.verify(key.public_key, bytes.fromhex(sealed["sm3"]), str(sealed.get("signature", ""))):
        out.fail("PDF 的签名不符：签名记录被改动")
    else:
        out.checked.append("PDF 文件与签发时逐字节一致")


def check_record(conn: Connection, out: Outcome) -> Outcome:
    """With the store: the document is on record as signed, and its facts equal the case and the audit chain."""
    content = out.content
    row = documents.by_code(conn, out.code) if out.code else None
    if row is None:
        return out.fail(f"平台没有验证码为 {out.code or '（空）'} 的签发记录")
    if json.loads(row["content"]) != content:
        return out.fail("文件内容与平台签发记录不一致")
    case = conn.execute(select(cases).where(cases.c.id == row["case_id"])).mappings().first()
    if case is None or case["uscc"] != content.get("uscc") or case["policy_id"] != content.get("policy_id"):
        return out.fail("文件所载企业或政策与案件记录不一致")
    expected = case["confirmed_amount"] or case["amount"]
    if content.get("kind") == "receipt":
        expected = conn.execute(select(payments.c.amount).where(payments.c.case_id == case["id"])).scalar()
    if not _same_amount(content.get("amount"), expected):
        out.fail(f"文件金额 {content.get('amount')} 元与案件记录 {expected} 元不一致")
    else:
        out.checked.append("金额、企业、政策与案件记录一致")
    events = conn.execute(
        select(audit_log.c.after).where(
            audit_log.c.action == "trust.sign",
            audit_log.c.entity_type == "document",
            audit_log.c.entity_id == row["code"],
        )
    ).scalars()
    if not any(json.loads(after or "{}").get("sm3") == row["content_sm3"] for after in events):
        out.fail("审计日志中没有与本文件摘要相符的签发记录")
    else:
        out.checked.append("签发记录在审计日志中（SM3 摘要相符）")
    return out


def _same_amount(a: Any, b: Any) -> bool:
    try:
        return a is not None and b is not None and Decimal(str(a)) == Decimal(str(b))
    except InvalidOperation:
        return False


def from_store(conn: Connection, key_list: list[PublicKey], code: str) -> Outcome:
    """The public page's check by code: the stored document verified as if it were handed in."""
    row = documents.by_code(conn, code)
    if row is None:
        return Outcome().fail(f"平台没有验证码为 {code} 的签发记录，请核对验证码")
    out = check_envelope(documents.envelope(row), key_list, bytes(row["pdf"]) if row["pdf"] is not None else None)
    return check_record(conn, out) if out.ok else out


def claimed_code(pdf: bytes) -> str | None:
    found = re.search(re.escape(MARK.encode()) + rb"([0-9A-Z]{12})", pdf)
    return found.group(1).decode() if found else None


def pdf_in_store(conn: Connection, key_list: list[PublicKey], pdf: bytes) -> Outcome:
    """An uploaded PDF: found by its SM3 among the signed ones, else by the code it claims to be."""
    row = conn.execute(select(signed_documents).where(signed_documents.c.pdf_sm3 == digest(pdf))).mappings().first()
    if row is None:
        code = claimed_code(pdf)
        stored = documents.by_code(conn, code) if code else None
        if stored is None:
            return Outcome().fail("不是本平台签发的 PDF，或文件已被改动到无法识别")
        out = check_envelope(documents.envelope(stored), key_list, pdf)
        return out
    out = check_envelope(documents.envelope(dict(row)), key_list, pdf)
    return check_record(conn, out) if out.ok else out


def parse_json(data: bytes) -> Any:
    """An uploaded or archived JSON file, or None when it is not JSON (RecursionError: a hostile file
    nested deeper than Python's parser goes — no document of ours is)."""
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None


def json_in_store(conn: Connection | None, key_list: list[PublicKey], data: bytes) -> Outcome:
    env = parse_json(data)
    if env is None:
        return Outcome().fail("文件不是有效的 JSON（UTF-8）")
    out = check_envelope(env, key_list)
    return check_record(conn, out) if out.ok and conn is not None else out
