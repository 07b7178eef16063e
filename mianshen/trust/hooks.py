"""Where the case workflow meets signing and review routing: `cases.transitions.move` calls `after_move` in the same
transaction, so a confirmation, an approval or a payment and its signed document commit or roll back
together (an enterprise never holds a document for a step that did not happen, nor the reverse)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from mianshen.audit.log import Actor
from mianshen.trust import documents

SIGNED = {"confirm": "commitment", "approve": "decision", "resume_budget": "decision", "mark_paid": "receipt"}


def after_move(conn: Connection, name: str, case: dict[str, Any], actor: Actor, data: dict[str, Any] | None) -> None:
    kind = SIGNED.get(name)
    if kind is not None:
        documents.issue(conn, kind, case, actor, data or {})
    if name == "confirm":  # 守信激励: the review route is decided when the enterprise has committed
        from mianshen.trust.routing import route_case

        route_case(conn, case, actor)
