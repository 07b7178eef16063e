"""The declared fields (profiles/declared.py) into this process's field catalogue.

Every process that opens the store reads them once (`open_store`); a declaration installs them in the
declaring process at once. The latest version of each name is the field.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import DBAPIError

from mianshen.catalogue.fields import Field, field_from_spec, use_declared
from mianshen.settings import current as settings
from mianshen.store.schema import declared_fields


def latest(conn: Connection) -> dict[str, Field]:
    newest = (
        select(declared_fields.c.name, func.max(declared_fields.c.version).label("version"))
        .group_by(declared_fields.c.name)
        .subquery()
    )
    rows = conn.execute(
        select(declared_fields.c.name, declared_fields.c.version, declared_fields.c.spec).join(
            newest, (newest.c.name == declared_fields.c.name) & (newest.c.version == declared_fields.c.version)
        )
    )
    return {r.name: field_from_spec(r.name, {**json.loads(r.spec), "version": r.version}) for r in rows}


def install(bind: Any) -> None:
    """Make the store's declared fields part of the catalogue (`bind`: an engine or a connection)."""
    if isinstance(bind, Connection):
        use_declared(latest(bind))
        return
    try:
        with bind.connect() as conn:
            use_declared(latest(conn))
    except DBAPIError:  # a store opened without migrating, older than declared fields: none declared
        use_declared({})


def install_named(url: str | None) -> None:
    """The declared fields of the store a command names (--db, or MIANSHEN_DATABASE_URL); without one
    the catalogue stays the shipped one and no store is created (`policy check` of files alone)."""
    if url or settings().database_url:
        from mianshen.store.db import open_store

        open_store(url).dispose()  # opening the store installs them
