"""Shared fixtures: engines to run compiled SQL on, and the shipped policies."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mianshen import settings
from mianshen.rules.ast import Policy
from mianshen.rules.loader import SHIPPED, read_policies
from mianshen.sqlgen.engines import duckdb_connect, sqlite_connect

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("MIANSHEN_TEST_POSTGRES_URL")


def _rereading(change: Any) -> Any:
    """MonkeyPatch.setenv/delenv that make the platform read its settings again (they are read once)."""

    def changed(self: pytest.MonkeyPatch, *args: Any, **kwargs: Any) -> None:
        change(self, *args, **kwargs)
        settings.reset()

    return changed


pytest.MonkeyPatch.setenv = _rereading(pytest.MonkeyPatch.setenv)  # type: ignore[method-assign]
pytest.MonkeyPatch.delenv = _rereading(pytest.MonkeyPatch.delenv)  # type: ignore[method-assign]


# Test markers (registered in pyproject.toml; `make test-fast` leaves out slow, browser, spark and postgres).
# slow: the test starts other processes (the installed command, a killed import or match run, a
# benchmark) or floods the site with real password hashing — seconds to minutes each.
SLOW = {
    "test_any_folder",
    "test_attack_flood",
    "test_bench_external",
    "test_bench_peak",
    "test_bench_quick",
    "test_bench_scale",
    "test_bench_stores",
    "test_import_killed",
    "test_matching_killed",
    "test_payments_crash",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        if "browser" in path.parts:
            item.add_marker(pytest.mark.browser)
        if path.stem.startswith("test_spark"):
            item.add_marker(pytest.mark.spark)
        if path.stem in SLOW:
            item.add_marker(pytest.mark.slow)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "postgres" in callspec.id:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Each test starts from the environment as it is (and leaves no settings read under its own)."""
    settings.reset()
    yield
    settings.reset()


@pytest.fixture(scope="session")
def shipped_policies() -> list[Policy]:
    policies, diagnostics = read_policies([SHIPPED])
    assert not [d for d in diagnostics if d.severity == "error"], diagnostics
    return policies


def _postgres() -> Any:
    import psycopg

    url = POSTGRES_URL or ""
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


@pytest.fixture(autouse=True, scope="session")
def seal_key() -> Iterator[None]:
    """The SM4 key that encrypts the SM2 seal keys (trust/keys.py), for the whole session (module-scoped
    worlds sign documents too): set, so no test writes a key file into the working folder."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MIANSHEN_SEAL_KEY", "00112233445566778899aabbccddeeff")
        yield


ENGINES = ["duckdb", "sqlite"] + (["postgres"] if POSTGRES_URL else [])


@pytest.fixture(scope="session")
def engines() -> Iterator[dict[str, Any]]:
    conns: dict[str, Any] = {"duckdb": duckdb_connect(), "sqlite": sqlite_connect()}
    if POSTGRES_URL:
        conns["postgres"] = _postgres()
    yield conns
    for conn in conns.values():
        conn.close()


def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> pytest.Collector | None:
    """`test_… = PolicyTests(folder)` in a test module: one item per test written in a policy file."""
    from .policy_items import PolicyFolder, PolicyTests

    if isinstance(obj, PolicyTests):
        return PolicyFolder.from_parent(collector, name=name, source=obj)
    return None


from .store_fixtures import store  # noqa: E402,F401  (a fresh store per test, on SQLite and PostgreSQL)
