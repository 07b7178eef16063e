"""Signed documents: the enterprise's 信用承诺 (signed by the platform on its confirmation), the
department's 兑现决定书 (on approval) and 兑现凭证 (on payment).

What is signed is the canonical JSON of the content (audit/log.py's `canonical`: sorted keys, no spaces,
UTF-8), amounts as exact decimal text. The signature is detached: the JSON file an enterprise downloads
carries the content, the signature and the key id side by side (`envelope`). The PDF is rendered from
the content on first download (pdf.py) and then kept unchanged with a second signature over its SM3,
so the very file handed out can be checked byte for byte. Each signing is an audit event carrying the
content's SM3, which ties the document into the audit chain.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from sqlalchemy import Connection, select

from mianshen.audit.log import SYSTEM, Actor, canonical, digest, record
from mianshen.cases.banking import decrypt_account, mask_account, mask_stored
from mianshen.clock import now as platform_now
from mianshen.store.schema import enterprises, payments, policy_versions
from mianshen.trust import config, keys, sm2
from mianshen.trust.tables import signed_documents

KINDS = {"commitment": "信用承诺书", "decision": "兑现决定书", "receipt": "兑现凭证"}
FORMAT = "mianshen-signed-document/1"
# An alphabet without 0/O, 1/I/L: people type the code from paper
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))


def _policy(conn: Connection, case: dict[str, Any]) -> dict[str, Any]:
    row = conn.execute(
        select(policy_versions.c.title, policy_versions.c.department, policy_versions.c.sha256).where(
            policy_versions.c.policy_id == case["policy_id"], policy_versions.c.version == case["policy_version"]
        )
    ).one()
    return {"title": row.title, "department": row.department, "sha256": row.sha256}


def content_for(conn: Connection, kind: str, case: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """The facts a document states, all taken from the case record at the moment of signing."""
    policy = _policy(conn, case)
    name = conn.execute(select(enterprises.c.name).where(enterprises.c.uscc == case["uscc"])).scalar()
    body: dict[str, Any] = {
        "format": FORMAT,
        "kind": kind,
        "title": KINDS[kind],
        "case_id": case["id"],
        "uscc": case["uscc"],
        "enterprise": name or "",
        "policy_id": case["policy_id"],
        "policy_version": case["policy_version"],
        "policy_title": policy["title"],
        "policy_sha256": policy["sha256"],
        "period": case["period"],
        "department": policy["department"],
        "amount": str(case["confirmed_amount"] or case["amount"]),
    }
    if kind == "commitment":
        account = decrypt_account(case["bank_account"])
        body |= {
            "commitment": extra.get("commitment", ""),
            "bank_account_sm3": digest(account.encode("ascii")),  # proves which account without showing it
            "bank_account_masked": mask_account(account),
            "signed_by_enterprise": case["commitment_actor"],
            "confirmed_at": _iso(case["commitment_signed_at"]),
        }
    elif kind == "decision":
        body |= {
            "decision": "公示期满无异议，予以兑现",
            "publicity_from": _iso(case["publicity_from"]),
            "publicity_to": _iso(case["publicity_to"]),
        }
    elif kind == "receipt":
        pay = conn.execute(select(payments).where(payments.c.case_id == case["id"])).mappings().one()
        body |= {
            "amount": str(extra.get("paid_amount") or pay["amount"]),
            "batch": pay["batch_id"],
            "paid_at": _iso(pay["paid_at"]) or _iso(platform_now()),
            "bank_account_masked": mask_stored(case["bank_account"]) or "未知",  # rows made before accounts were kept
        }
    return body


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def seal_of(kind: str, department: str) -> str:
    """The platform signs what the enterprise committed to; the department seals its own decisions."""
    return config.PLATFORM if kind == "commitment" else department


def issue(conn: Connection, kind: str, case: dict[str, Any], actor: Actor, extra: dict[str, Any]) -> str:
    """Sign the document of `kind` for `case` in the caller's transaction; returns its verification code."""
    body = content_for(conn, kind, case, extra)
    key = keys.active(conn, seal_of(kind, body["department"]), SYSTEM)  # first: a new key starts now
    now = platform_now()
    body["signed_at"] = now.isoformat()
    body["key_id"] = key.key_id
    body["seal"] = key.seal
    code = new_code()
    body["code"] = code
    data = canonical(body).encode("utf-8")
    content_sm3 = digest(data)
    conn.execute(
        signed_documents.insert().values(
            code=code,
            case_id=case["id"],
            kind=kind,
            key_id=key.key_id,
            content=data.decode("utf-8"),
            content_sm3=content_sm3,
            signature=keys.sign_with(conn, key, data),
            signed_at=now,
        )
    )
    record(conn, actor, "trust.sign", "document", code, None, {"kind": kind, "case": case["id"], "sm3": content_sm3})
    return code


def envelope(row: Any) -> dict[str, Any]:
    """The downloadable JSON: content, detached signature, the key it needs, and the PDF's fingerprint."""
    return {
        "format": FORMAT,
        "content": json.loads(row["content"]),
        "signature": {"algorithm": sm2.ALGORITHM, "key_id": row["key_id"], "value": row["signature"]},
        "pdf": {"sm3": row["pdf_sm3"], "signature": row["pdf_signature"]} if row["pdf_sm3"] else None,
    }


def by_code(conn: Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute(select(signed_documents).where(signed_documents.c.code == code.strip().upper())).mappings()
    found = row.first()
    return dict(found) if found else None


def for_case(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(signed_documents.c.code, signed_documents.c.kind, signed_documents.c.signed_at)
        .where(signed_documents.c.case_id == case_id)
        .order_by(signed_documents.c.signed_at)
    ).mappings()
    return [dict(r) | {"title": KINDS[r["kind"]]} for r in rows]


def pdf_of(conn: Connection, code: str) -> bytes:
    """The document's PDF: made and sealed on first request, the same bytes ever after."""
    from mianshen.trust.pdf import render

    row = by_code(conn, code)
    if row is None:
        raise KeyError(code)
    if row["pdf"] is not None:
        return bytes(row["pdf"])
    content = json.loads(row["content"])
    pdf = render(content, f"{config.verify_base()}/verify/{row['code']}")
    key = next(k for k in keys.public_keys(conn) if k.key_id == row["key_id"])
    pdf_sm3 = digest(pdf)
    done = conn.execute(
        signed_documents.update()
        .where(signed_documents.c.code == row["code"], signed_documents.c.pdf.is_(None))
        .values(pdf=pdf, pdf_sm3=pdf_sm3, pdf_signature=keys.sign_with(conn, key, bytes.fromhex(pdf_sm3)))
    ).rowcount
    if done != 1:  # another request made it first: theirs is the one handed out
        again = by_code(conn, code)
        assert again is not None and again["pdf"] is not None
        return bytes(again["pdf"])
    record(conn, SYSTEM, "trust.pdf", "document", row["code"], None, {"pdf_sm3": pdf_sm3})
    return pdf
