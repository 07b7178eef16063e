"""The matcher's inputs: profiles of a set of enterprises, limited to the fields policies read.

`profiles.current.read_population` assembles every enterprise with every derivation; a match run
needs only the fields of the active policies and, when incremental, only the enterprises whose data
changed. The same precedence rule (`choose`) and derivations (`add_derived`) apply, so a profile
read here equals the one `mianshen profile show` prints for the fields it contains.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from mianshen.audit.log import canonical
from mianshen.profiles.current import FieldValue, StoredProfile, choose, observation_query
from mianshen.profiles.derive import INPUTS, add_derived, with_inputs
from mianshen.store.schema import enterprises, import_batches, observations

CHUNK = 500  # USCCs per IN (…) list: well under SQLite's bound-parameter limit
_SKIP = FieldValue("", "", "", "skip", "", dt.date.min, None)  # marks a derivation nobody reads


def read_profiles(
    conn: Connection, as_of: dt.date, fields: set[str], usccs: Iterable[str] | None = None
) -> dict[str, StoredProfile]:
    """Profiles as of `as_of` holding `fields` (and what their derivations read), by USCC.

    `usccs=None` reads every enterprise in one scan; otherwise the enterprises are read in chunks.
    """
    wanted = sorted(with_inputs(fields))
    if usccs is None:
        return _assemble(conn, as_of, fields, wanted, None)
    todo = sorted(set(usccs))
    out: dict[str, StoredProfile] = {}
    for i in range(0, len(todo), CHUNK):
        out.update(_assemble(conn, as_of, fields, wanted, todo[i : i + CHUNK]))
    return out


def _assemble(
    conn: Connection, as_of: dt.date, fields: set[str], wanted: list[str], usccs: list[str] | None
) -> dict[str, StoredProfile]:
    firms = select(enterprises.c.uscc, enterprises.c.name, enterprises.c.uscc_status)
    query = observation_query(as_of).where(observations.c.field.in_(wanted))
    if usccs is not None:
        firms = firms.where(enterprises.c.uscc.in_(usccs))
        query = query.where(observations.c.uscc.in_(usccs))
    by_firm: dict[str, list[Any]] = {}
    for r in conn.execute(query):
        by_firm.setdefault(r.uscc, []).append(r)
    # Derivations no policy reads are the slow part of reading 100k profiles (划型, 小型微利 reasons):
    # `add_derived` leaves a field alone when present, so a placeholder skips it and is then dropped.
    skip = [name for name in INPUTS if name not in fields]
    out = {}
    for firm in conn.execute(firms):
        profile = StoredProfile(firm.uscc, firm.name, firm.uscc_status, as_of, choose(by_firm.get(firm.uscc, [])))
        for name in skip:
            profile.fields.setdefault(name, _SKIP)
        add_derived(profile)
        profile.fields = {k: v for k, v in profile.fields.items() if v is not _SKIP}
        out[firm.uscc] = profile
    return out


def changed_enterprises(conn: Connection, after_batch: int) -> set[str]:
    """Enterprises with an observation (or a first appearance) in a batch newer than `after_batch`."""
    seen = conn.execute(select(observations.c.uscc).where(observations.c.batch_id > after_batch).distinct())
    new = conn.execute(select(enterprises.c.uscc).where(enterprises.c.first_batch_id > after_batch))
    return {r[0] for r in seen} | {r[0] for r in new}


def last_batch(conn: Connection) -> int:
    found = conn.execute(select(import_batches.c.id).order_by(import_batches.c.id.desc()).limit(1)).scalar()
    return int(found or 0)


def _plain(value: Any) -> Any:
    """A value as stable JSON: tags sorted, decimals and dates as exact text."""
    if isinstance(value, (set, frozenset, tuple, list)):
        return sorted(str(v) for v in value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def input_hash(profile: StoredProfile, reads: tuple[str, ...], as_of: dt.date) -> str:
    """SHA-256 of the canonical JSON of what one policy reads for one enterprise, and the date.

    SHA-256 (not SM3) because it runs once per pair — 400k times on the demo population — and
    hashlib is several times faster; the audit chain itself stays on SM3.
    """
    have = profile.fields
    values = {name: _plain(have[name].value) if name in have else None for name in reads}
    return hashlib.sha256(canonical({"as_of": as_of.isoformat(), "values": values}).encode()).hexdigest()
