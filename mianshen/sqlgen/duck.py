"""The one way this project opens DuckDB: never fetching an extension (there is no internet at run
time, so a missing one must fail at once, not hang). Kept apart from engines.py so that an import
run, which needs DuckDB but not the SQL compiler, does not load SQLGlot."""

from __future__ import annotations

from typing import Any


def duckdb_connect(path: str = ":memory:", read_only: bool = False) -> Any:
    import duckdb

    config: dict[str, Any] = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    return duckdb.connect(path, read_only=read_only, config=config)
