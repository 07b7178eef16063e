"""What a run writes besides the match library, at province scale: data requests are staged a chunk
at a time while the comparison is still being read (tiny chunks here, so writing interleaves with
reading as it does with millions of pairs), name exactly the fields missing, keep or renew their
opening as they should, and are stamped like every other timestamp; cases open once per benefit
period."""

from __future__ import annotations

import datetime as dt
import re
from itertools import combinations
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, text, update

from mianshen.matching import inputs as matching_inputs
from mianshen.matching import requests as matching_requests
from mianshen.matching.requests import _Missing, missing_fields
from mianshen.matching.runs import benefit_period, run_match
from mianshen.profiles.current import read_profile
from mianshen.profiles.quality import inputs_by_condition
from mianshen.rules.loader import load_policy
from mianshen.store.schema import cases, data_requests, matches

from . import matching_fixtures as fx
from .conftest import ROOT
from .matching_fixtures import AS_OF, count, publish

demo, populated = fx.demo, fx.populated
POLICIES = {p.id: p for p in (load_policy(f) for f in sorted((ROOT / "policies").glob("*.yaml")))}
KNOWN_PAIR = ("wengang-fanhuan", "ineligible")


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matching_requests, "_CHUNK", 7)
    monkeypatch.setattr(matching_inputs, "_STREAM", 3)


def expected_fields(engine: Engine, as_of: dt.date) -> dict[tuple[str, str], str]:
    """(policy, enterprise) → the fields an unknown pair must ask for, from each profile as shown."""
    out = {}
    with engine.connect() as conn:
        rows = conn.execute(select(matches).where(matches.c.status == "unknown")).all()
        have = {u: set(read_profile(conn, u, as_of).fields) for u in {r.uscc for r in rows}}
    for r in rows:
        wanted = missing_fields(inputs_by_condition(POLICIES[r.policy_id]), r.unknown.split(","), have[r.uscc])
        out[(r.policy_id, r.uscc)] = ",".join(wanted)
    return out


def requests_by_pair(engine: Engine) -> dict[tuple[str, str], Any]:
    with engine.connect() as conn:
        return {(r.policy_id, r.uscc): r for r in conn.execute(select(data_requests))}


def test_requests_staged_while_reading_name_the_missing_fields_and_keep_their_history(
    populated: Engine, small_chunks: None
) -> None:
    publish(populated)
    first = run_match(populated, AS_OF)
    expected = expected_fields(populated, AS_OF)
    found = requests_by_pair(populated)
    assert len(expected) > 20 and set(found) == set(expected)
    assert {k: r.fields for k, r in found.items()} == expected
    assert {(r.opened_run, r.resolved_at) for r in found.values()} == {(first.run_id, None)}
    asked_again, refreshed = sorted(found)[:9], sorted(found)[9:20]
    with populated.connect() as conn:
        known = conn.execute(select(matches.c.policy_id, matches.c.uscc).where(matches.c.status != "unknown")).first()
    assert known is not None
    with populated.begin() as conn:  # an answered request, a stale list, a request for a pair now known
        for pid, uscc in asked_again:
            conn.execute(
                update(data_requests)
                .where(data_requests.c.policy_id == pid, data_requests.c.uscc == uscc)
                .values(resolved_at=dt.datetime(2025, 1, 2, tzinfo=dt.UTC))
            )
        for pid, uscc in refreshed:
            conn.execute(
                update(data_requests)
                .where(data_requests.c.policy_id == pid, data_requests.c.uscc == uscc)
                .values(fields="stale")
            )
        conn.execute(
            data_requests.insert().values(
                policy_id=known.policy_id,
                uscc=known.uscc,
                fields="x",
                opened_run=first.run_id,
                opened_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
            )
        )
    later = AS_OF + dt.timedelta(days=1)  # a new as-of date: every pair is evaluated and written again
    second = run_match(populated, later)
    after = requests_by_pair(populated)
    now_expected = expected_fields(populated, later)
    for key in asked_again:
        assert after[key].resolved_at is None and after[key].opened_run == second.run_id, key
    for key in refreshed:
        assert after[key].fields == now_expected[key] and after[key].opened_run == first.run_id, key
        assert after[key].opened_at == found[key].opened_at, key  # still open: its opening is kept
    assert after[(known.policy_id, known.uscc)].resolved_at is not None
    assert second.requests_opened >= len(asked_again)


def test_request_timestamps_are_stored_like_every_other_timestamp(populated: Engine) -> None:
    publish(populated)
    started = dt.datetime.now(dt.UTC)
    run_match(populated, AS_OF)
    found = list(requests_by_pair(populated).values())
    assert found
    for r in found:
        stamp = r.opened_at if r.opened_at.tzinfo else r.opened_at.replace(tzinfo=dt.UTC)
        assert started - dt.timedelta(seconds=1) <= stamp <= dt.datetime.now(dt.UTC)
    if populated.dialect.name == "sqlite":  # the text SQLAlchemy writes for every DateTime column
        with populated.connect() as conn:
            raw = conn.execute(text("SELECT opened_at FROM data_requests UNION SELECT started_at FROM match_runs"))
            shapes = {re.sub(r"\d", "9", value) for (value,) in raw}
        assert shapes == {"9999-99-99 99:99:99.999999"}


def test_missing_fields_are_remembered_per_combination_of_present_fields() -> None:
    policy = POLICIES["wengang-fanhuan"]
    by_condition = inputs_by_condition(policy)
    missing = _Missing({policy.id: by_condition})
    consulted = sorted({f for names in by_condition.values() for f in names} | {"employees", "size_class"})
    checked = 0
    for ids in (sorted(by_condition)[:2], sorted(by_condition)[2:5], sorted(by_condition)):
        unknown = ",".join(ids)
        for size in (0, 1, 2, len(consulted)):
            for have in combinations(consulted, size):
                assert missing(policy.id, unknown, set(have)) == ",".join(missing_fields(by_condition, ids, set(have)))
                checked += 1
    assert checked > 50 and len(missing.answers) > 10


def test_a_case_opens_once_per_benefit_period(populated: Engine) -> None:
    publish(populated)
    run_match(populated, AS_OF)
    with populated.connect() as conn:
        opened = conn.execute(select(cases).order_by(cases.c.id)).all()
    assert len(opened) >= 2
    old, current = opened[0], opened[1]
    with populated.begin() as conn:  # the first case is for an earlier period; both pairs are matched anew
        conn.execute(update(cases).where(cases.c.id == old.id).values(period="2019"))
        for case in (old, current):
            conn.execute(delete(matches).where(matches.c.policy_id == case.policy_id, matches.c.uscc == case.uscc))
    again = run_match(populated, AS_OF, full=True)
    assert again.cases_created == 1
    with populated.connect() as conn:
        newest = conn.execute(select(cases).order_by(cases.c.id.desc())).first()
    assert newest is not None
    assert (newest.policy_id, newest.uscc) == (old.policy_id, old.uscc)
    assert newest.period == benefit_period(POLICIES[old.policy_id]) != "2019"
    assert count(populated, cases) == len(opened) + 1
