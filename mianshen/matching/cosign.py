"""会签: a policy version that changes who gets money or how much is published only when a second
staff member approves it, seeing the simulation the author saw.

What "changes who or how much" means is decided on the rules, not on today's population: the
version's eligibility and money rules (subjects, region, validity, conditions, derived fields,
parameters, amount, budget) compared with the version in force, line numbers aside. A first version
always changes them; a change to the title, the guide or the legal-basis text alone does not.

A request keeps the exact text the author checked and the simulation shown; approving re-checks
that text and publishes it as the approver, in one transaction with the request's decision and an
audit record naming both people. The author can never approve their own request.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from mianshen.audit.log import Actor, record
from mianshen.clock import now as platform_now
from mianshen.errors import InputError
from mianshen.matching.publish import Published, parse_version, publish_policy
from mianshen.rules.ast import Policy
from mianshen.store.schema import policy_versions, publish_requests

RULE_PARTS = ("subjects", "region", "valid_from", "valid_to", "conditions", "derived", "parameters", "amount", "budget")
STATES = {"pending": "待会签", "approved": "已会签发布", "rejected": "已退回"}


def _plain(value: Any) -> Any:
    """A rule part as plain data without source locations (so moving a line changes nothing)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "loc"}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def rules_fingerprint(policy: Policy) -> str:
    parts = {name: _plain(getattr(policy, name)) for name in RULE_PARTS}
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def needs_cosign(conn: Connection, policy: Policy) -> bool:
    row = conn.execute(
        select(policy_versions)
        .where(policy_versions.c.policy_id == policy.id, policy_versions.c.state == "published")
        .order_by(policy_versions.c.version.desc())
        .limit(1)
    ).first()
    return row is None or rules_fingerprint(parse_version(row)) != rules_fingerprint(policy)


def request(conn: Connection, policy: Policy, text: str, simulation: Any, actor: Actor) -> int:
    """File a version for 会签; a pending request for the same policy is replaced (withdrawn)."""
    conn.execute(
        publish_requests.update()
        .where(publish_requests.c.policy_id == policy.id, publish_requests.c.state == "pending")
        .values(state="withdrawn", decided_at=platform_now(), decided_by=actor.name, note="作者提交了新的版本")
    )
    values = {
        "policy_id": policy.id,
        "version": policy.version,
        "title": policy.title,
        "department": policy.department,
        "source_yaml": text,
        "simulation": json.dumps(simulation, ensure_ascii=False, default=str),
        "requested_by": actor.name,
        "requested_role": actor.role,
        "requested_at": platform_now(),
        "state": "pending",
    }
    new_id = int(conn.execute(publish_requests.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
    after = {"policy_id": policy.id, "version": policy.version, "state": "pending"}
    record(conn, actor, "policy.cosign_requested", "policy", policy.id, None, after)
    return new_id


def load(conn: Connection, request_id: int) -> dict[str, Any]:
    row = conn.execute(select(publish_requests).where(publish_requests.c.id == request_id)).mappings().first()
    if row is None:
        raise InputError("会签申请不存在")
    found = dict(row)
    found["simulation"] = json.loads(found["simulation"] or "null")
    return found


def pending(conn: Connection, department: str | None) -> list[dict[str, Any]]:
    query = select(publish_requests).where(publish_requests.c.state == "pending").order_by(publish_requests.c.id)
    if department is not None:
        query = query.where(publish_requests.c.department == department)
    return [load(conn, r.id) for r in conn.execute(query)]


def decide(conn: Connection, request_id: int, actor: Actor, approve: bool, note: str = "") -> Published | None:
    """Approve (publish as `actor`) or send back a pending request; never by the one who asked."""
    found = load(conn, request_id)
    if found["state"] != "pending":
        raise InputError(f"该会签申请{STATES.get(found['state'], '已处理')}，不能再办理")
    if found["requested_by"] == actor.name:
        raise InputError("会签须由另一名工作人员办理，不能审核自己提交的版本")
    if actor.role == "department" and actor.department != found["department"]:
        raise InputError("会签申请不存在")
    if not approve and len(note.strip()) < 5:
        raise InputError("退回须写明理由（至少 5 个字）")
    published = None
    if approve:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{found['policy_id']}.yaml"
            path.write_text(found["source_yaml"], encoding="utf-8")
            published = publish_policy(conn, path, actor)
    done = conn.execute(
        publish_requests.update()
        .where(publish_requests.c.id == request_id, publish_requests.c.state == "pending")
        .values(
            state="approved" if approve else "rejected", decided_by=actor.name, decided_at=platform_now(), note=note
        )
    ).rowcount
    if done != 1:
        raise InputError("该会签申请已由他人同时办理，请刷新")
    after = {"requested_by": found["requested_by"], "state": "approved" if approve else "rejected", "note": note}
    record(conn, actor, "policy.cosign", "policy", found["policy_id"], {"state": "pending"}, after)
    return published
