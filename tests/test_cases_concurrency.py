"""Two operators approving one case at once: exactly one approval, the other told it lost."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.store.schema import case_events

from .test_cases_fixtures import AFTER_PUBLICITY, KJ, LISTED, publish, sm4_key, to_publicity  # noqa: F401


def approvals(engine: Engine, case_id: int) -> int:
    with engine.connect() as conn:
        query = select(func.count()).where(case_events.c.case_id == case_id, case_events.c.to_state == "approved")
        return int(conn.execute(query).scalar_one())


@pytest.mark.parametrize("via", ["decide", "transition"])
def test_two_concurrent_approvals_give_one(store: Engine, via: str) -> None:
    """The first approver holds its transaction open while the second tries; then the first commits."""
    with store.begin() as conn:
        publish(conn, LISTED)
    case_id = to_publicity(store, 1, "100000")

    def approve(conn: Any) -> Any:
        if via == "decide":
            return review.decide(conn, case_id, KJ, AFTER_PUBLICITY)
        return tr.approve(conn, case_id, KJ, {})

    outcome: dict[str, Any] = {}

    def second() -> None:
        try:
            with store.begin() as conn:
                outcome["second"] = approve(conn)["state"]
        except tr.StaleState as exc:
            outcome["second"] = exc

    with store.begin() as first:
        assert approve(first)["state"] == "approved"
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)  # the second is now waiting on the first's lock (or already refused)
    thread.join(timeout=60)
    assert isinstance(outcome["second"], tr.StaleState), outcome
    assert approvals(store, case_id) == 1


def test_racing_threads_give_one_approval(store: Engine) -> None:
    with store.begin() as conn:
        publish(conn, LISTED)
    case_id = to_publicity(store, 1, "100000")
    barrier = threading.Barrier(4)
    results: list[Any] = []

    def run() -> None:
        barrier.wait()
        try:
            with store.begin() as conn:
                results.append(review.decide(conn, case_id, KJ, AFTER_PUBLICITY)["state"])
        except tr.StaleState as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results.count("approved") == 1 and len(results) == 4
    assert approvals(store, case_id) == 1
