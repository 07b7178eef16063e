"""Where files go: the var directory, and in it the files a store keeps (mirror and match library).

The var directory (运行目录) holds everything a command, the site or the worker writes by default —
the embedded SQLite store, the demo, benchmarks, reject reports, payment files, uploads, the outbox
log, the development encryption key: `MIANSHEN_VAR_DIR` when set (also `mianshen --var-dir`), else
`var` in the current folder, so a checkout keeps its files in var/ and any other folder its own.

One data directory per store, so that the web process, the worker and the CLI find the same files:
`MIANSHEN_DATA_DIR` when set; beside a SQLite file (`var/mianshen.sqlite` → `var/mianshen-data/`);
for PostgreSQL under the var directory named by host, port and database. Everything in it is derived from the
store and rebuildable (the mirror) or referenced from the store by a manifest (the library), so a
directory that does not belong to the store's rows is never trusted.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from mianshen.settings import current as settings


def var_dir() -> Path:
    return settings().var_dir


def data_dir(bind: Engine | Connection) -> Path:
    explicit = settings().data_dir
    if explicit:
        return Path(explicit)
    url = bind.engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:"):
            return Path(tempfile.gettempdir()) / f"mianshen-memory-{os.getpid()}"
        path = Path(database)
        return path.with_name(f"{path.stem}-data")
    name = "-".join(str(part) for part in (url.host or "local", url.port or 5432, url.database or "postgres"))
    return var_dir() / f"data-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}"
