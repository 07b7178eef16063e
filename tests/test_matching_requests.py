"""What a run writes besides the library: data requests one per (enterprise, field) naming exactly
the fields missing and the policies waiting for each, kept, renewed or resolved as data arrives,
stamped like every other timestamp; cases open once per benefit period."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

from sqlalchemy import Engine, select, text, update

from mianshen.matching.read import pairs
from mianshen.matching.runs import benefit_period, run_match
from mianshen.profiles.current import read_profile
from mianshen.profiles.gaps import inputs_by_condition, missing_fields
from mianshen.rules.loader import SHIPPED, load_policy
from mianshen.store.schema import cases, data_needs, data_requests

from . import matching_fixtures as fx
from .matching_fixtures import AS_OF, count, publish

demo, populated = fx.demo, fx.populated
POLICIES = {p.id: p for p in (load_policy(f) for f in sorted((SHIPPED).glob("*.yaml")))}


def expected_requests(engine: Engine, as_of: dt.date) -> dict[tuple[str, str], int]:
    """(enterprise, field) → how many policies wait for it, from each unknown pair and its profile as shown
    (the store keeps the pairs; the counts per field and policy are data_needs)."""
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    with engine.connect() as conn:
        unknown = [p for p in pairs(conn) if p.status == "unknown"]
        have = {u: set(read_profile(conn, u, as_of).fields) for u in {p.uscc for p in unknown}}
    for p in unknown:
        for name in missing_fields(inputs_by_condition(POLICIES[p.policy_id]), p.unknown, have[p.uscc]):
            out[(p.uscc, name)].add(p.policy_id)
    return {k: len(v) for k, v in out.items()}


def expected_needs(expected: dict[tuple[str, str], int], engine: Engine, as_of: dt.date) -> dict[tuple[str, str], int]:
    """(field, policy) → enterprises waiting."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    with engine.connect() as conn:
        unknown = [p for p in pairs(conn) if p.status == "unknown"]
        have = {u: set(read_profile(conn, u, as_of).fields) for u in {p.uscc for p in unknown}}
    for p in unknown:
        for name in missing_fields(inputs_by_condition(POLICIES[p.policy_id]), p.unknown, have[p.uscc]):
            out[(name, p.policy_id)] += 1
    return dict(out)


def needs(engine: Engine, run_id: int) -> dict[tuple[str, str], int]:
    with engine.connect() as conn:
        rows = conn.execute(select(data_needs).where(data_needs.c.run_id == run_id))
        return {(r.field, r.policy_id): r.enterprises for r in rows}


def requests(engine: Engine) -> dict[tuple[str, str], Any]:
    with engine.connect() as conn:
        return {(r.uscc, r.field): r for r in conn.execute(select(data_requests))}


def test_requests_name_the_missing_fields_and_keep_their_history(populated: Engine) -> None:
    publish(populated)
    first = run_match(populated, AS_OF)
    expected = expected_requests(populated, AS_OF)
    found = requests(populated)
    assert len(expected) > 20 and set(found) == set(expected)
    assert needs(populated, first.run_id) == expected_needs(expected, populated, AS_OF)
    assert first.requests_opened == len(expected)
    assert {(r.opened_run, r.resolved_at) for r in found.values()} == {(first.run_id, None)}
    asked_again, kept = sorted(found)[:9], sorted(found)[9:20]
    stray = ("91410100MA9XYZ0000", "employees")  # a request nobody needs any more
    with populated.begin() as conn:  # an answered request, and one no longer needed
        for uscc, name in asked_again:
            conn.execute(
                update(data_requests)
                .where(data_requests.c.uscc == uscc, data_requests.c.field == name)
                .values(resolved_at=dt.datetime(2025, 1, 2, tzinfo=dt.UTC))
            )
        conn.execute(
            data_requests.insert().values(
                uscc=stray[0],
                field=stray[1],
                opened_run=first.run_id,
                opened_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
            )
        )
    later = AS_OF + dt.timedelta(days=1)  # a new as-of date: every pair is evaluated again
    second = run_match(populated, later)
    after = requests(populated)
    now_expected = expected_requests(populated, later)
    for key in asked_again:
        if key in now_expected:
            assert after[key].resolved_at is None and after[key].opened_run == second.run_id, key
    for key in kept:
        if key in now_expected:
            assert after[key].opened_run == first.run_id, key
            assert after[key].opened_at == found[key].opened_at, key  # still open: its opening is kept
    assert after[stray].resolved_at is not None and after[stray].resolved_run == second.run_id
    assert {k for k, r in after.items() if r.resolved_at is None} == set(now_expected)
    assert second.requests_opened >= len([k for k in asked_again if k in now_expected])


def test_request_timestamps_are_stored_like_every_other_timestamp(populated: Engine) -> None:
    publish(populated)
    started = dt.datetime.now(dt.UTC)
    run_match(populated, AS_OF)
    found = list(requests(populated).values())
    assert found
    for r in found:
        stamp = r.opened_at if r.opened_at.tzinfo else r.opened_at.replace(tzinfo=dt.UTC)
        assert started - dt.timedelta(seconds=1) <= stamp <= dt.datetime.now(dt.UTC)
    if populated.dialect.name == "sqlite":  # the text SQLAlchemy writes for every DateTime column
        with populated.connect() as conn:
            raw = conn.execute(
                text(
                    "SELECT opened_at FROM data_requests UNION SELECT started_at FROM match_runs UNION SELECT created_at FROM cases"
                )
            )
            shapes = {re.sub(r"\d", "9", value) for (value,) in raw}
        assert shapes == {"9999-99-99 99:99:99.999999"}


def test_a_case_opens_once_per_benefit_period(populated: Engine) -> None:
    publish(populated)
    run_match(populated, AS_OF)
    with populated.connect() as conn:
        opened = conn.execute(select(cases).order_by(cases.c.id)).all()
    assert len(opened) >= 2
    old = opened[0]
    with populated.begin() as conn:  # the first case is for an earlier period
        conn.execute(update(cases).where(cases.c.id == old.id).values(period="2019"))
    again = run_match(populated, AS_OF + dt.timedelta(days=1))  # every pair evaluated anew
    assert again.cases_created == 0  # still eligible as before: its case was opened when it became eligible
    with populated.begin() as conn:
        conn.execute(text("DELETE FROM match_policies"))
        conn.execute(text("UPDATE match_runs SET manifest = NULL"))  # the library forgotten: a baseline again
    rebuilt = run_match(populated, AS_OF)
    assert rebuilt.cases_created == 1  # only the benefit whose period has no case
    with populated.connect() as conn:
        newest = conn.execute(select(cases).order_by(cases.c.id.desc())).first()
    assert newest is not None
    assert (newest.policy_id, newest.uscc) == (old.policy_id, old.uscc)
    assert newest.period == benefit_period(POLICIES[old.policy_id]) != "2019"
    assert count(populated, cases) == len(opened) + 1
