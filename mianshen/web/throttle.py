"""Limits on attempts (codes issued, code guesses, wrong passwords), counted in the database.

Each rule counts per subject (a client address, a USCC, a username, or "*" for everyone) in fixed
time windows. Taking an attempt is one conditional UPDATE — `count = count + 1 WHERE count < limit`
— after an INSERT … ON CONFLICT DO NOTHING has made sure the window's row exists. There is no read
followed by a write: on PostgreSQL a second transaction updating the same row waits for the first
and re-checks the condition against the committed count, so two server instances (or two threads)
never let more through than the limit; on SQLite writers go one at a time (BEGIN IMMEDIATE).

The counts are written in the caller's transaction: a sign-in that fails *returns* its error
rather than raising, so the attempt it used commits with the audit event.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Connection, and_, delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mianshen.store.schema import attempt_counters as counters

EVERYONE = "*"


@dataclass(frozen=True)
class Rule:
    name: str  # stored in the counter rows, e.g. "code.client"
    limit: int  # attempts allowed per window
    window: dt.timedelta


def client_address(request: Request) -> str:
    """The client's address as the server sees it (behind a reverse proxy, uvicorn takes it from
    X-Forwarded-For when the proxy is listed in FORWARDED_ALLOW_IPS). An IPv6 client is counted by
    its /64 network: one household or one host is given a whole /64 and can pick any address in it."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64] or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _key(rule: Rule, subject: str, now: dt.datetime) -> dict[str, object]:
    bucket = int(now.timestamp() // rule.window.total_seconds())
    return {"rule": rule.name, "subject": subject[:64], "bucket": bucket}


def _where(key: dict[str, object]) -> object:
    return and_(*(counters.c[name] == value for name, value in key.items()))


def take(conn: Connection, rule: Rule, subject: str, now: dt.datetime) -> bool:
    """Count one attempt against `rule` for `subject`; False (and nothing counted) when the limit
    for the current window is reached."""
    key = _key(rule, subject, now)
    bucket = int(key["bucket"])  # type: ignore[call-overload]
    ends = dt.datetime.fromtimestamp((bucket + 1) * rule.window.total_seconds(), dt.UTC)
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    opened = conn.execute(insert(counters).values(**key, count=0, expires_at=ends).on_conflict_do_nothing())
    if opened.rowcount:  # a new window: forget windows that have ended
        conn.execute(delete(counters).where(counters.c.expires_at < now))
    counted = conn.execute(
        update(counters).where(_where(key), counters.c.count < rule.limit).values(count=counters.c.count + 1)  # type: ignore[arg-type]
    )
    return counted.rowcount == 1


def give_back(conn: Connection, rule: Rule, subject: str, now: dt.datetime) -> None:
    """Return an attempt that turned out to be legitimate (a correct code or password)."""
    key = _key(rule, subject, now)
    conn.execute(update(counters).where(_where(key), counters.c.count > 0).values(count=counters.c.count - 1))  # type: ignore[arg-type]


def take_all(conn: Connection, checks: list[tuple[Rule, str]], now: dt.datetime) -> tuple[Rule, str] | None:
    """Take one attempt from each rule in turn; the first (rule, subject) whose limit is reached, or
    None. Attempts taken before the refusing rule stay counted: a client that exhausts an
    enterprise's limit has spent its own as well."""
    for rule, subject in checks:
        if not take(conn, rule, subject, now):
            return rule, subject
    return None


def first_refusal(conn: Connection, refused: tuple[Rule, str], now: dt.datetime) -> bool:
    """True once per window and refusing rule: refusals are audited once, not at the rate an
    attacker sends them."""
    rule, subject = refused
    return take(conn, Rule(f"{rule.name}.noted"[:32], 1, rule.window), subject, now)


def give_back_all(conn: Connection, checks: list[tuple[Rule, str]], now: dt.datetime) -> None:
    for rule, subject in checks:
        give_back(conn, rule, subject, now)
