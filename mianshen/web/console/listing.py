"""The case queue at province volume: filters, sorting and paging done by the store, with a total.

A department with 100,000 cases sees one page of them at a time ("共 N 件"), filtered by policy
(its code or words of its title), by region (a code or a name such as 郑州, 巩义市), by state and
by being overdue; the same filters select what is exported or acted on in bulk.

Region filtering uses `cases.region`, the registered region of the enterprise when its case was
opened. Cases opened without it (before the column existed, from a Spark layer, from a list or an
application) are filled from the profile library the first time a region is asked for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Select, Table, and_, false, func, select

from mianshen.clock import today as clock_today
from mianshen.errors import InputError
from mianshen.reference.regions import lookup_region_any
from mianshen.store.db import reading
from mianshen.store.schema import CASE_AMOUNT, cases, enterprises, policy_versions
from mianshen.supervision import ledger
from mianshen.web.console import scope
from mianshen.web.sessions import Session

QUEUE_STATES = ("confirmed", "under_review", "publicity", "objection", "budget_wait")
SORTS = {
    "deadline": "期限（近的在前）",
    "amount": "金额（大的在前）",
    "newest": "立案时间（新的在前）",
}
PAGE_SIZES = (20, 50, 100, 200)
FILL_CHUNK = 5000


@dataclass
class QueueQuery:
    state: str = ""  # "": waiting on the department; "all": every state; else one state
    policy: str = ""  # a policy code or words of its title
    region: str = ""  # a region code or name
    overdue: bool = False
    sort: str = "deadline"
    page: int = 1
    size: int = 50
    problems: list[str] = field(default_factory=list)  # what could not be understood, in Chinese

    @classmethod
    def parse(cls, params: Any) -> QueueQuery:
        q = cls(
            state=str(params.get("state", "")).strip(),
            policy=str(params.get("policy", "")).strip(),
            region=str(params.get("region", "")).strip(),
            overdue=str(params.get("overdue", "")).lower() in ("1", "true", "on", "yes"),
            sort=str(params.get("sort", "deadline")).strip() or "deadline",
        )
        if q.sort not in SORTS:
            q.problems.append(f"排序方式“{q.sort}”无效，已按期限排序")
            q.sort = "deadline"
        q.page = _number(params.get("page"), 1, "页码", q.problems)
        q.size = _number(params.get("size"), 50, "每页件数", q.problems)
        if q.size not in PAGE_SIZES:
            q.size = min(PAGE_SIZES, key=lambda n: abs(n - q.size))
        return q

    def link(self, **changes: Any) -> str:
        """The query string of this query with `changes` (for paging and sorting links)."""
        from urllib.parse import urlencode

        values = {
            "state": self.state,
            "policy": self.policy,
            "region": self.region,
            "overdue": "1" if self.overdue else "",
            "sort": self.sort,
            "size": str(self.size),
            "page": str(self.page),
        }
        values.update({k: str(v) for k, v in changes.items()})
        return urlencode({k: v for k, v in values.items() if v})


def _number(value: Any, default: int, label: str, problems: list[str]) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(str(value))
    except ValueError:
        problems.append(f"{label}“{value}”不是整数，已用 {default}")
        return default
    return max(number, 1)


@dataclass
class Listing:
    rows: list[dict[str, Any]]
    total: int
    query: QueueQuery
    policies: dict[str, str]  # the matched policies' titles by id

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.size))


def policy_titles(conn: Connection, ids: set[str] | None = None) -> dict[str, str]:
    """Each policy's newest title (of `ids` when given)."""
    newest = (
        select(policy_versions.c.policy_id, func.max(policy_versions.c.version).label("v"))
        .group_by(policy_versions.c.policy_id)
        .subquery()
    )
    rows = conn.execute(
        select(policy_versions.c.policy_id, policy_versions.c.title).join(
            newest, and_(newest.c.policy_id == policy_versions.c.policy_id, newest.c.v == policy_versions.c.version)
        )
    )
    return {r.policy_id: r.title for r in rows if ids is None or r.policy_id in ids}


def chosen_policies(conn: Connection, s: Session, words: str) -> dict[str, str]:
    """The visible policies a filter names: its code exactly, else every title containing the words.
    Another department's code is reported missing (404), as everywhere in the console."""
    titles = policy_titles(conn, scope.visible_policy_ids(conn, s))
    if not words:
        return titles
    if scope.policy_row(conn, words) is not None:
        scope.own_policy(conn, s, words)
    if words in titles:
        return {words: titles[words]}
    return {pid: title for pid, title in titles.items() if words in title}


def region_prefixes(text: str) -> list[str]:
    """The code prefixes a region filter stands for (a name may name several places)."""
    try:
        found = lookup_region_any(text)
    except InputError as exc:
        raise InputError(f"地区：{exc}") from exc
    prefixes = {scope.region_prefix(info.code) for info in found}
    prefixes |= {scope.region_prefix(info.historical_code) for info in found if info.historical_code}
    return sorted(prefixes)


def fill_regions(engine: Engine, on: dt.date | None = None, table: Table = cases) -> int:
    """Give rows (cases, data requests, corrections) written without a region the one the profile
    library has for their enterprise ('' when it has none). Asked first on a read connection: the
    usual answer (none missing) takes no write lock."""
    with reading(engine) as conn:
        if conn.execute(select(table.c.id).where(table.c.region.is_(None)).limit(1)).first() is None:
            return 0
    with engine.begin() as conn:
        return _fill(conn, on, table)


def _fill(conn: Connection, on: dt.date | None, table: Table) -> int:
    filled = 0
    while True:
        rows = conn.execute(select(table.c.id, table.c.uscc).where(table.c.region.is_(None)).limit(FILL_CHUNK)).all()
        if not rows:
            return filled
        found = scope.regions(conn, [r.uscc for r in rows], on)
        for r in rows:
            conn.execute(table.update().where(table.c.id == r.id).values(region=found.get(r.uscc, "")))
        filled += len(rows)


def needs_regions(s: Session, q: QueueQuery) -> bool:
    return bool(q.region) or bool(scope.own_region(s))


def where(conn: Connection, s: Session, q: QueueQuery) -> tuple[list[Any], dict[str, str]]:
    """The conditions of a query in the session's reach, and the policies it covers."""
    policies = chosen_policies(conn, s, q.policy)
    return _conditions(conn, s, q, policies, cases.c.region), policies


def _conditions(conn: Connection, s: Session, q: QueueQuery, policies: dict[str, str], region: Any) -> list[Any]:
    conditions: list[Any] = [cases.c.policy_id.in_(sorted(policies)) if policies else false()]
    if q.state == "all":
        pass
    elif q.state:
        conditions.append(cases.c.state == q.state)
    else:
        conditions.append(cases.c.state.in_(QUEUE_STATES))
    if q.overdue:
        conditions.append(ledger.overdue_where(conn, clock_today(), set(policies)))  # the ledger's 逾期
    conditions += scope.region_rows(region, s)
    if q.region:
        conditions.append(scope.code_starts(region, region_prefixes(q.region)))
    return conditions


def _ordered(query: Select[Any], sort: str) -> Select[Any]:
    if sort == "amount":  # the expression of index ix_cases_amount
        return query.order_by(CASE_AMOUNT.desc(), cases.c.id)
    if sort == "newest":
        return query.order_by(cases.c.id.desc())
    # deadline then id, as the index (deadline, id, policy, state, region) holds them: a page is read
    # from the index in order instead of sorting every case. Cases without a deadline come in each
    # store's own index order: first on SQLite, last on PostgreSQL.
    return query.order_by(cases.c.deadline, cases.c.id)


def list_page(conn: Connection, s: Session, q: QueueQuery) -> Listing:
    """One page of the queue and the total of the whole filtered set."""
    conditions, policies = where(conn, s, q)
    total = int(conn.execute(select(func.count()).select_from(cases).where(*conditions)).scalar_one())
    q.page = min(q.page, max(1, -(-total // q.size)))
    # the page's ids first, from the sort's index alone (sorting ids, not whole rows), then their rows.
    # The region is compared as `region || ''`, which no index serves: otherwise the planners read a
    # whole region from its index and sort it (郑州: 28,000 of 100,000 cases, 30 ms on SQLite) where
    # walking the sort's covering index stops after one page (and costs at most one pass of it).
    walk = _conditions(conn, s, q, policies, cases.c.region.concat(""))
    ids = select(cases.c.id).where(*walk)
    ordered = _ordered(ids, q.sort).offset((q.page - 1) * q.size).limit(q.size)
    chosen = list(conn.execute(ordered).scalars())
    query = select(cases, enterprises.c.name).outerjoin(enterprises, enterprises.c.uscc == cases.c.uscc)
    found = {r["id"]: dict(r) for r in conn.execute(query.where(cases.c.id.in_(chosen))).mappings()}
    return Listing([found[i] for i in chosen if i in found], total, q, policies)


def every_row(conn: Connection, s: Session, q: QueueQuery) -> Any:
    """The whole filtered set in the page's order, streamed (exports)."""
    conditions, _ = where(conn, s, q)
    query = select(cases, enterprises.c.name).outerjoin(enterprises, enterprises.c.uscc == cases.c.uscc)
    return (
        conn.execution_options(stream_results=True, yield_per=2000)
        .execute(_ordered(query.where(*conditions), q.sort))
        .mappings()
    )
