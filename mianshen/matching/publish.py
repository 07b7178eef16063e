"""Publishing policies (政策发布): a checked policy file becomes a numbered version in 政策库.

The stored YAML text — not the file on disk — is what matching and any later replay evaluate, so a
decision can always be re-derived from the exact rules in force when it was made. The version
number is the one written in the file: re-publishing an unchanged file is a no-op, while a changed
file must carry a higher version (otherwise two different rule texts would share one number).

A new version replaces (retires) the published versions whose period it overlaps — a correction —
but a renewal, starting after an earlier version has ended (rules/versions.py), leaves that version
published for its own period: matching on a day then finds the one version in force (the periods
of one policy's published versions never overlap), and its cases go on to be decided and paid.
The expiry job retires it once its period has passed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from mianshen.audit.log import Actor, record
from mianshen.clock import now as platform_now
from mianshen.errors import InputError
from mianshen.rules.ast import Policy
from mianshen.rules.loader import load_policy, load_policy_text
from mianshen.rules.versions import renews
from mianshen.store.schema import policy_versions

MATCHABLE = ("条件类", "暂难数据化类")  # 名单类 beneficiaries come from the department's list, not from matching


@dataclass(frozen=True)
class Published:
    policy_id: str
    version: int
    row_id: int
    retired: int | None  # the version this one replaced
    unchanged: bool  # the same text was already the published version


def publish_policy(conn: Connection, path: str | Path, actor: Actor) -> Published:
    """Check and publish one file in the caller's transaction; retire the version it replaces."""
    raw = Path(path).read_bytes()
    policy = load_policy(path)  # every check the author's `policy check` runs; raises on errors
    sha = hashlib.sha256(raw).hexdigest()
    rows = conn.execute(
        select(policy_versions).where(policy_versions.c.policy_id == policy.id).order_by(policy_versions.c.version)
    ).all()
    same = [r for r in rows if r.version == policy.version]
    if same and same[0].sha256 == sha:
        return Published(policy.id, policy.version, same[0].id, None, True)
    latest = rows[-1].version if rows else 0
    if policy.version <= latest:
        raise InputError(
            f"政策 {policy.id} 已发布到第 {latest} 版，文件内容有改动但 version 为 {policy.version}；"
            f"请把 version 改为 {latest + 1} 后再发布",
            str(path),
        )
    now = platform_now()
    values: dict[str, Any] = {
        "policy_id": policy.id,
        "version": policy.version,
        "kind": policy.kind,
        "title": policy.title,
        "department": policy.department,
        "region": policy.region,
        "valid_from": policy.valid_from,
        "valid_to": policy.valid_to,
        "budget": None if policy.budget is None else format(policy.budget, "f"),
        "sha256": sha,
        "source_yaml": raw.decode("utf-8"),
        "state": "published",
        "published_by": actor.name,
        "published_at": now,
    }
    current = [r for r in rows if r.state == "published" and not renews(policy, r)]
    for old in current:
        conn.execute(policy_versions.update().where(policy_versions.c.id == old.id).values(state="retired"))
    row_id = int(conn.execute(policy_versions.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
    before = {"version": current[-1].version, "state": "published"} if current else None
    after = {k: v for k, v in values.items() if k not in ("source_yaml", "published_at")}
    record(conn, actor, "policy.publish", "policy", policy.id, before, after, sha)
    return Published(policy.id, policy.version, row_id, current[-1].version if current else None, False)


_PARSED: dict[tuple[str, int, str], Policy] = {}
_PARSED_MAX = 2048  # versions kept parsed per process (a catalogue of a few hundred, with history)


def parse_version(row: Any) -> Policy:
    """The Policy of a stored version, parsed from its YAML text (the loader reads paths).

    A stored text passed every check when it was published, so it is read without positions
    (load_trusted, 3 ms instead of 60 a policy); a long-running worker or web process matches the
    same versions again and again, so each text is parsed once per process.
    The key includes the text's hash: a version's text never changes, but a key must not lie.
    """
    key = (row.policy_id, row.version, hashlib.sha256(row.source_yaml.encode()).hexdigest())
    found = _PARSED.get(key)
    if found is None:
        found = _parse(row)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = found
    return found


def _parse(row: Any) -> Policy:
    policy = load_policy_text(row.source_yaml, f"{row.policy_id}.v{row.version}.yaml", trusted=True)
    if (policy.id, policy.version) != (row.policy_id, row.version):
        raise InputError(f"政策库第 {row.id} 行的文本与其编号不符（{policy.id} v{policy.version}）")
    return policy


def active_versions(conn: Connection, as_of: dt.date, policy_id: str | None = None) -> list[tuple[Any, Policy]]:
    """Published, matchable versions in force on `as_of`: (row, parsed policy), by policy id."""
    query = select(policy_versions).where(
        policy_versions.c.state == "published",
        policy_versions.c.kind.in_(MATCHABLE),
        policy_versions.c.valid_from <= as_of,
        (policy_versions.c.valid_to.is_(None)) | (policy_versions.c.valid_to >= as_of),
    )
    if policy_id is not None:
        query = query.where(policy_versions.c.policy_id == policy_id)
    return [(row, parse_version(row)) for row in conn.execute(query.order_by(policy_versions.c.policy_id)).all()]


def list_versions(conn: Connection) -> list[Any]:
    return list(
        conn.execute(
            select(policy_versions).order_by(policy_versions.c.policy_id, policy_versions.c.version.desc())
        ).all()
    )
