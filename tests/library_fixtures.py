"""A match library written directly, for tests of its readers (reminders, portal, dashboards): the
same folder, files and manifest a run writes, from a list of pairs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import Engine

from mianshen.matching import library as lib
from mianshen.sqlgen.assemble import STATUSES
from mianshen.sqlgen.duck import duckdb_connect
from mianshen.store.schema import match_runs

Pair = tuple[str, int, str, str, str, Decimal | None]  # policy id, version, kind, uscc, status, amount


def seed_library(engine: Engine, as_of: dt.date, found: Sequence[Pair]) -> int:
    """A finished run whose library holds exactly `found` (every other pair absent); its id."""
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        run_id = int(
            conn.execute(
                match_runs.insert().values(
                    as_of=as_of, scope="full", evaluated=len(found), changed=0, cases_created=0,
                    data_requests=0, started_at=now, finished_at=now, last_batch_id=0,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )  # fmt: skip
        root = lib.root(conn)
        folder = lib.new_folder(conn, run_id)
        policies = sorted({(p, v, k) for p, v, k, *_ in found})
        usccs = sorted({u for _, _, _, u, _, _ in found})
        by_pair = {(p, u): (s, a) for p, _, _, u, s, a in found}
        duck = duckdb_connect()
        try:
            duck.execute("CREATE TABLE ids AS SELECT unnest(?::VARCHAR[]) AS id", [usccs])
            duck.execute(
                f"COPY (SELECT id, '4101' AS city, sha256(id) AS input_hash FROM ids) TO '{folder / 'profiles-0.parquet'}'"
            )
            columns = ["id VARCHAR", "city VARCHAR", "present BIGINT"]
            for k in range(len(policies)):
                columns += [f"s_{k} INTEGER", f"a_{k} DECIMAL(18, 2)", f"u_{k} BIGINT"]
            duck.execute(f"CREATE TABLE results ({', '.join(columns)})")
            for uscc in usccs:
                values: list[object] = [uscc, "4101", 0]
                for pid, _, _ in policies:
                    status, amount = by_pair.get((pid, uscc), ("ineligible", None))
                    values += [STATUSES.index(status), amount, 1 if status == "unknown" else None]
                duck.execute(f"INSERT INTO results VALUES ({', '.join('?' * len(values))})", values)
            duck.execute(f"COPY results TO '{folder / 'results-0-0.parquet'}'")
            name = f"{folder.name}/results-0-0.parquet"
            layer = lib.Layer(
                folder.name,
                f"{folder.name}/profiles-0.parquet",
                len(usccs),
                tuple(
                    lib.PolicyColumns(p, v, kind, k, name, ("c", "amount")) for k, (p, v, kind) in enumerate(policies)
                ),
            )
            manifest = lib.Manifest(run_id, as_of.isoformat(), 0, folder.name, {p: v for p, v, _ in policies}, [layer])
            lib.record_files(manifest, root, duck, [folder / "profiles-0.parquet", folder / "results-0-0.parquet"])
        finally:
            duck.close()
        conn.execute(
            match_runs.update()
            .where(match_runs.c.id == run_id)
            .values(library=folder.name, manifest=manifest.to_json())
        )
    return run_id
