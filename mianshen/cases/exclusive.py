"""同一事项不重复享受 and 就高 (rules/exclusive.py) in the store: a case of a policy that conflicts with
a case of another policy the enterprise holds is refused (transition `exclude`, to 不予通过) with the
reason on the case — checked three times:

- when a match run opens cases (`settle_run`): a case is refused when the enterprise already has a
  live case of a conflicting policy — under 就高, one with a higher amount (equal: the earlier); a
  new higher case refuses the lower live ones instead (those not yet approved);
- when a case is approved (`review.decide`) and when it is put in a payment batch
  (`payments.create_batch`): refused when a conflicting case was approved or paid in between.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, select

from mianshen.audit.log import SYSTEM, Actor
from mianshen.cases import transitions as tr
from mianshen.cases.states import FINAL, STATES
from mianshen.rules.exclusive import Exclusivity, exclusivity
from mianshen.store.schema import cases, policy_versions

TAKEN = ("approved", "in_payment", "paid", "returned", "archived")  # enjoyed, or being paid
PAYING = ("in_payment", "paid", "returned", "archived")  # money on its way or paid
UNDECIDED = ("matched", "notified", "confirmed", "under_review", "publicity", "objection", "budget_wait")


_RULES: dict[tuple[str, str, str], Exclusivity] = {}  # a published version never changes


def rules(conn: Connection) -> dict[str, Exclusivity]:
    """Every published policy's rules (policies declaring none included: others may name them). A
    version's text is read and parsed once per process: approval and payment ask per case."""
    rows = conn.execute(
        select(policy_versions.c.policy_id, policy_versions.c.title, policy_versions.c.sha256)
        .where(policy_versions.c.state == "published")
        .order_by(policy_versions.c.version)
    ).all()
    unknown = [r.sha256 for r in rows if tuple(r) not in _RULES]
    if unknown:
        texts = select(
            policy_versions.c.policy_id,
            policy_versions.c.title,
            policy_versions.c.sha256,
            policy_versions.c.source_yaml,
        ).where(policy_versions.c.sha256.in_(unknown))
        for r in conn.execute(texts):
            raw = tr._parsed(r.sha256, r.source_yaml)
            _RULES[(r.policy_id, r.title, r.sha256)] = exclusivity(raw, r.policy_id, r.title)
    return {r.policy_id: _RULES[tuple(r)] for r in rows}


def _amount(case: Any) -> Any:
    from mianshen.cases.review import case_amount

    return case_amount(dict(case))


def blocker(
    conn: Connection, case: dict[str, Any], states: Collection[str], table: dict[str, Exclusivity]
) -> tuple[dict[str, Any], str] | None:
    """The case of a conflicting policy, in one of `states`, that keeps `case` from being enjoyed,
    and the reason people read; None when there is none."""
    own = table.get(case["policy_id"])
    if own is None:
        return None
    rivals = [pid for pid, r in table.items() if own.conflicts(r)]
    if not rivals:
        return None
    query = select(cases).where(
        cases.c.uscc == case["uscc"], cases.c.policy_id.in_(rivals), cases.c.id != case["id"], cases.c.state.in_(states)
    )
    for other in conn.execute(query.order_by(cases.c.id)).mappings():
        theirs = table[other["policy_id"]]
        shown = f"《{theirs.title}》（案件 {other['id']}，{STATES[other['state']]}）"
        if own.by_highest(theirs) and other["state"] not in TAKEN:
            mine, higher = _amount(case), _amount(other)
            if higher > mine or higher == mine and other["id"] < case["id"]:
                return dict(
                    other
                ), f"同一事项就高享受：本企业{shown}金额 {higher} 元，不低于本政策的 {mine} 元，只享受其一"
            continue
        what = f"事项“{own.matter}”" if own.matter and own.matter == theirs.matter else "以下政策"
        return dict(other), f"同一事项不重复享受：本企业已有{what}{shown}，本政策不予重复享受"
    return None


def explain_exclusive(conn: Connection, policy: Any, uscc: str, amount: Any) -> str | None:
    """Why an eligible enterprise would still not enjoy `policy` (a rules.ast.Policy, perhaps not yet
    published): a live case of a conflicting policy it holds — the reason a match would give."""
    table = rules(conn) | {policy.id: policy.exclusivity}
    if not any(r.declared for r in table.values()):
        return None
    case = {"id": 0, "policy_id": policy.id, "uscc": uscc, "amount": amount, "confirmed_amount": None}
    found = blocker(conn, case, [s for s in STATES if s not in FINAL], table)
    return None if found is None else found[1]


def exclude(conn: Connection, case_id: int, actor: Actor, reason: str) -> dict[str, Any]:
    told = tr.load_case(conn, case_id)["state"] != "matched"  # a case refused as it is opened was never announced
    notify = "case_rejected" if told else None
    return tr.move(conn, case_id, "exclude", actor, note=reason, values={"reason": reason}, notify=notify)


def guard_exclusive(conn: Connection, case: dict[str, Any], actor: Actor, states: Collection[str] = TAKEN) -> bool:
    """At approval (`states`: approved or paid) and payment (PAYING: in a batch or paid): refuse the
    case when a conflicting one got there in between; True when refused."""
    table = rules(conn)
    found = blocker(conn, case, states, table) if any(r.declared for r in table.values()) else None
    if found is None:
        return False
    exclude(conn, case["id"], actor, found[1])
    return True


def settle_run(conn: Connection, run_id: int) -> int:
    """After a run opened its cases: refuse those (or, under 就高, the lower live ones) that conflict.
    One set statement finds the enterprises where a case just opened meets a live case of a
    conflicting policy; only their cases are weighed one by one (a first run opens millions)."""
    table = rules(conn)
    declared = {pid for pid, r in table.items() if r.declared}
    if not declared:
        return 0
    named = {n for pid in declared for n in table[pid].exclusive_with}
    # a policy outside `involved` conflicts with none (a conflict needs a matter or a name on one side)
    involved = [pid for pid, r in table.items() if pid in declared or pid in named or r.matter in named]
    live = [s for s in STATES if s not in FINAL]
    contested = _contested(conn, run_id, involved, live, table)
    refused = 0
    for case_id in contested:
        case = tr.load_case(conn, case_id)
        if case["state"] in FINAL:
            continue  # refused earlier in this loop, for a higher case
        found = blocker(conn, case, live, table)
        if found is not None:
            exclude(conn, case_id, SYSTEM, found[1])
            refused += 1
            continue
        lower = select(cases).where(
            cases.c.uscc == case["uscc"],
            cases.c.policy_id.in_(involved),
            cases.c.state.in_(UNDECIDED),
            cases.c.id != case_id,
        )
        for other in [dict(r) for r in conn.execute(lower).mappings()]:
            beaten = blocker(conn, other, [case["state"]], table)
            if beaten is not None and beaten[0]["id"] == case_id:
                exclude(conn, other["id"], SYSTEM, beaten[1])
                refused += 1
    return refused


def _contested(
    conn: Connection, run_id: int, involved: list[str], live: list[str], table: dict[str, Exclusivity]
) -> list[int]:
    """The run's cases (in id order) whose enterprise holds another live case of a conflicting policy."""
    mine, theirs = cases.alias("mine"), cases.alias("theirs")
    meets = (
        select(mine.c.id, mine.c.policy_id, theirs.c.policy_id.label("other"))
        .join(
            theirs,
            (theirs.c.uscc == mine.c.uscc)
            & theirs.c.policy_id.in_(involved)
            & theirs.c.state.in_(live)
            & (theirs.c.id != mine.c.id),
        )
        .where(mine.c.opened_run == run_id, mine.c.policy_id.in_(involved))
    )
    found = {r.id for r in conn.execute(meets) if table[r.policy_id].conflicts(table[r.other])}
    return sorted(found)
