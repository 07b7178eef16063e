"""The electronic archive (电子档案) of an ended case: one sealed ZIP per case and closing state.

Layout (docs/trust.md), all text UTF-8:
    manifest.json          format, case, closing state, time, and the SM3 of every other file
    manifest.sig.json      the platform seal's SM2 signature over the canonical manifest
    keys.json              the verification keys the package needs (compare with /verify/keys)
    case.json              the case record (bank account masked; the stored ciphertext is not archived)
    events.json            the case's events (every state change, with its data)
    audit.json             the audit rows about the case and its documents, with their chain hashes
    evidence.json          the data the decision used: each field's value, source and as-of date,
                           and the freshness re-check recorded at review
    policy.yaml            the text of the policy version the case was decided under
    documents/<code>.json  each signed document (content + detached signature + PDF fingerprint)
    documents/<code>.pdf   and its PDF

A package is written once (`case_archives` has no update path, and the unique key makes archiving
twice a no-op) and verifies offline: `mianshen verify` reads only the package (offline.py).
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from sqlalchemy import Connection, or_, select

from mianshen.audit.log import SYSTEM, Actor, canonical, digest, record
from mianshen.cases.banking import mask_stored
from mianshen.cases.review import last_freshness, policy_fields
from mianshen.cases.states import STATES
from mianshen.clock import now as platform_now
from mianshen.clock import today as clock_today
from mianshen.errors import InputError
from mianshen.profiles.current import read_profile
from mianshen.store.schema import audit_log, case_events, cases, policy_versions
from mianshen.trust import config, documents, keys, sm2
from mianshen.trust.tables import case_archives

FORMAT = "mianshen-case-archive/1"
# The states in which a case has ended; the worker archives these (a paid case also moves to 已归档).
ENDED = ("paid", "rejected", "clawback", "declined", "expired")
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # ZIP member times: the package's bytes depend on its content only


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str).encode("utf-8")


def _rows(conn: Connection, query: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(query).mappings()]


def _evidence(conn: Connection, case: dict[str, Any]) -> dict[str, Any]:
    fields = policy_fields(conn, case["policy_id"], case["policy_version"])
    try:
        profile = read_profile(conn, case["uscc"], clock_today())
        used = {
            name: {"value": str(v.value), "source": v.source, "as_of": v.as_of.isoformat(), "derived": v.derived}
            for name in fields
            if (v := profile.fields.get(name)) is not None
        }
    except InputError:
        used = {}
    missing = [name for name in fields if name not in used]
    return {"fields": used, "unknown": missing, "freshness_at_review": last_freshness(conn, case["id"])}


def build(conn: Connection, case: dict[str, Any], closing: str) -> bytes:
    """The package's bytes for `case` as it stands."""
    policy = conn.execute(
        select(policy_versions.c.source_yaml).where(
            policy_versions.c.policy_id == case["policy_id"], policy_versions.c.version == case["policy_version"]
        )
    ).scalar_one()
    docs = documents.for_case(conn, case["id"])
    codes = [d["code"] for d in docs]
    shown_case = {**case, "bank_account": mask_stored(case["bank_account"]), "state_label": STATES[case["state"]]}
    audit = _rows(
        conn,
        select(audit_log)
        .where(
            or_(
                (audit_log.c.entity_type == "case") & (audit_log.c.entity_id == str(case["id"])),
                (audit_log.c.entity_type == "document") & audit_log.c.entity_id.in_(codes),
            )
        )
        .order_by(audit_log.c.id),
    )
    files: dict[str, bytes] = {
        "case.json": _json(shown_case),
        "events.json": _json(_rows(conn, select(case_events).where(case_events.c.case_id == case["id"]))),
        "audit.json": _json(audit),
        "evidence.json": _json(_evidence(conn, case)),
        "policy.yaml": policy.encode("utf-8"),
    }
    for code in codes:
        files[f"documents/{code}.pdf"] = documents.pdf_of(conn, code)
        row = documents.by_code(conn, code)
        files[f"documents/{code}.json"] = _json(documents.envelope(row))
    key = keys.active(conn, config.PLATFORM)
    used = {json.loads(files[f"documents/{c}.json"])["signature"]["key_id"] for c in codes} | {key.key_id}
    files["keys.json"] = _json([k.as_json() for k in keys.public_keys(conn) if k.key_id in used])
    manifest = {
        "format": FORMAT,
        "case_id": case["id"],
        "uscc": case["uscc"],
        "policy_id": case["policy_id"],
        "closing": closing,
        "archived_at": platform_now().isoformat(),
        "files": {name: digest(data) for name, data in sorted(files.items())},
        "key_id": key.key_id,
        "seal": key.seal,
    }
    signature = keys.sign_with(conn, key, canonical(manifest).encode("utf-8"))
    files["manifest.json"] = _json(manifest)
    files["manifest.sig.json"] = _json({"algorithm": sm2.ALGORITHM, "key_id": key.key_id, "value": signature})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name in sorted(files):
            package.writestr(zipfile.ZipInfo(name, _FIXED_TIME), files[name], zipfile.ZIP_DEFLATED)
    return out.getvalue()


def archive_case(conn: Connection, case_id: int, actor: Actor = SYSTEM) -> int | None:
    """Seal the package of an ended case; None when it is not ended or already archived in this state."""
    from mianshen.cases import transitions as tr

    case = tr.load_case(conn, case_id)
    closing = case["state"]
    if closing not in ENDED:
        return None
    done = conn.execute(
        select(case_archives.c.id).where(case_archives.c.case_id == case_id, case_archives.c.closing == closing)
    ).scalar()
    if done is not None:
        return None
    if closing == "paid":  # 已拨付 → 已归档 is the workflow's own step (the package records the paid state)
        tr.archive(conn, case_id, actor)
    package = build(conn, case, closing)
    new_id = conn.execute(
        case_archives.insert().values(
            case_id=case_id,
            closing=closing,
            package=package,
            package_sm3=digest(package),
            archived_at=platform_now(),
            archived_by=actor.name,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    record(conn, actor, "trust.archive", "case", case_id, None, {"closing": closing, "sm3": digest(package)})
    return int(new_id)


def due(conn: Connection, limit: int = 200) -> list[int]:
    """Ended cases without a package for their closing state (the worker's query)."""
    archived = select(case_archives.c.id).where(
        case_archives.c.case_id == cases.c.id, case_archives.c.closing == cases.c.state
    )
    query = select(cases.c.id).where(cases.c.state.in_(ENDED), ~archived.exists()).order_by(cases.c.id).limit(limit)
    return list(conn.execute(query).scalars())


def listing(conn: Connection, limit: int = 500) -> list[dict[str, Any]]:
    query = (
        select(case_archives.c.id, case_archives.c.case_id, case_archives.c.closing, case_archives.c.package_sm3)
        .add_columns(case_archives.c.archived_at, case_archives.c.archived_by)
        .order_by(case_archives.c.id.desc())
        .limit(limit)
    )
    return [dict(r) | {"closing_label": STATES.get(r["closing"], r["closing"])} for r in conn.execute(query).mappings()]


def package(conn: Connection, archive_id: int) -> tuple[str, bytes] | None:
    row = conn.execute(select(case_archives).where(case_archives.c.id == archive_id)).mappings().first()
    if row is None:
        return None
    return f"案件{row['case_id']}-{row['closing']}-档案.zip", bytes(row["package"])
