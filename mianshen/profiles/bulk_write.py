"""Writing checked rows into the store in bulk, inside the import's one transaction.

DuckDB renders a chunk of accepted rows as a few strings, so no Python object is made per value:
on SQLite one JSON object per field (USCC → value) that `json_each` unpacks inside the INSERT, on
PostgreSQL the text of `COPY … FROM STDIN`. A chunk is a range of USCCs (`out` is ordered by USCC),
so its inserts stay together in the observation index instead of scattering over all of it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

_DAY = 10  # an ISO date, as stored
# A batch at least as big as the observations table (and this big) is written without the indexes
# led by the USCC, rebuilt at the end inside the same transaction: one sort instead of millions of
# scattered B-tree inserts. For the 1M demo's tax file (9.7M observations onto 5M, 2-core VM):
# about 70 s of inserts with the index, 31 s of inserts plus 19 s to rebuild it.
REBUILD_FROM = 200_000


def _escape_copy(column: str) -> str:
    """COPY's text format escapes backslash, tab, newline and carriage return (DuckDB SQL)."""
    return rf"replace(replace(replace(replace({column}, '\', '\\'), chr(9), '\t'), chr(10), '\n'), chr(13), '\r')"


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy_text(value: str) -> str:
    """A constant as a SQL literal already escaped for COPY."""
    for char, code in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        value = value.replace(char, code)
    return _sql_text(value)


class Writer:
    """Writes rows [lo, hi) (by rowid) of DuckDB's `out` table into the store."""

    def __init__(self, duck: Any, conn: Connection, fields: list[str], source_id: str, batch_id: int) -> None:
        self.duck, self.conn, self.fields = duck, conn, fields
        self.source_id, self.batch_id = source_id, batch_id
        self.postgres = conn.dialect.name == "postgresql"
        self.cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        present = " + ".join(f"(v{i} IS NOT NULL)::INTEGER" for i in range(len(fields))) or "0"
        self.counted = f"sum({present})"
        self.rebuild: list[str] = []
        days = duck.execute("SELECT DISTINCT as_of FROM out LIMIT 2").fetchall()
        self.day = days[0][0] if len(days) == 1 else None  # one data date for the batch: a parameter
        self.dated = "as_of || " if self.day is None else ""
        if not self.postgres:
            self._drop_scattered_indexes()
        if self.postgres:
            self.cursor.execute(
                "CREATE TEMP TABLE import_enterprises (uscc text, name text, uscc_status text, uscc_problems text) "
                "ON COMMIT DROP"
            )

    def _drop_scattered_indexes(self) -> None:
        """Drop the observation indexes led by the USCC when this batch is at least as big as the
        table: its rows land all over such an index, and one sort at the end is cheaper. An index
        led by the field takes each field's rows at its end and is kept."""
        total = self.duck.execute(f"SELECT coalesce({self.counted}, 0) FROM out").fetchone()[0]
        # ids only grow, so the largest bounds the row count, without counting 10^7 rows
        existing = self.cursor.execute("SELECT coalesce(max(id), 0) FROM observations").fetchone()[0]
        if total < max(existing, REBUILD_FROM):
            return
        indexes = self.cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'observations' AND sql IS NOT NULL"
        ).fetchall()
        for name, sql in indexes:
            first = self.cursor.execute(
                f"SELECT name FROM pragma_index_info({_sql_text(name)}) WHERE seqno = 0"
            ).fetchone()
            if first and first[0] == "uscc":
                self._drop(name)
                self.rebuild.append(sql)

    def _drop(self, name: str) -> None:
        """DROP INDEX with secure_delete FAST: Debian builds SQLite with secure_delete on, which
        zeroes every freed page, i.e. writes the whole index once more (the 1M demo's tax file:
        4.8 s to drop, 0.3 s with FAST). FAST still wipes deleted cells on the pages it writes anyway; the freed pages
        are reused by this batch's own rows (it is at least as big as the table), and the index
        held no values, only which firm has which field on which date."""
        previous = int(self.cursor.execute("PRAGMA secure_delete").fetchone()[0])
        self.cursor.execute("PRAGMA secure_delete = FAST")
        try:
            self.cursor.execute(f"DROP INDEX {_identifier(name)}")
        finally:
            self.cursor.execute(f"PRAGMA secure_delete = {previous}")

    def write(self, lo: int, hi: int) -> int:
        """The number of observations written. A chunk too big for DuckDB's memory (very wide
        text, say) is written in halves; each half renders its strings before writing anything."""
        import duckdb

        try:
            return self._postgres(lo, hi) if self.postgres else self._sqlite(lo, hi)
        except duckdb.OutOfMemoryException:
            if hi - lo <= 1000:
                raise
            middle = (lo + hi) // 2
            return self.write(lo, middle) + self.write(middle, hi)

    def mirror_sql(self) -> str:
        """The batch's rows for the mirror (profiles/mirror.py): USCC, data date and one text column
        per field — the same values the store received as observations (NULL: none)."""
        date = "CAST(as_of AS DATE)" if self.day is None else f"DATE '{self.day}'"
        columns = "".join(f", v{i} AS {_identifier(name)}" for i, name in enumerate(self.fields))
        return f"SELECT uscc, {date} AS as_of{columns} FROM out"

    def finish(self) -> None:
        for sql in self.rebuild:  # exactly the indexes the store had
            self.cursor.execute(sql)
        if self.postgres:
            self.cursor.execute(
                "INSERT INTO enterprises (uscc, name, uscc_status, uscc_problems, first_batch_id) "
                "SELECT uscc, name, uscc_status, uscc_problems, %s FROM import_enterprises "
                "ON CONFLICT (uscc) DO NOTHING",
                (self.batch_id,),
            )
            self.cursor.execute("DROP TABLE import_enterprises")

    def _sqlite(self, lo: int, hi: int) -> int:
        """One JSON object per field, USCC → value (prefixed by the data date when dates differ):
        json_each hands SQLite the key and the value with no parsing in SQL at all."""
        members = [f"'\"' || uscc || '\":' || to_json({self.dated}v{i})" for i in range(len(self.fields))]
        objects = [
            f"'{{' || coalesce(string_agg({m}, ',') FILTER (v{i} IS NOT NULL), '') || '}}'"
            for i, m in enumerate(members)
        ]
        firms = "'\"' || uscc || '\":' || coalesce(to_json(name), 'null')"
        found = self.duck.execute(
            f"SELECT {self.counted}, '{{' || coalesce(string_agg({firms}, ',') "
            f"FILTER (status = 'valid'), '') || '}}'{''.join(', ' + o for o in objects)} "
            "FROM out WHERE rowid >= ? AND rowid < ?",
            [lo, hi],
        ).fetchone()
        count, valid, by_field = found[0], found[1], found[2:]
        flagged = self.duck.execute(
            "SELECT uscc, name, status, problems FROM out WHERE rowid >= ? AND rowid < ? AND status <> 'valid'",
            [lo, hi],
        ).fetchall()
        # valid firms in one statement; the few flagged ones (check character) carry their problems
        self.cursor.execute(
            "INSERT INTO enterprises (uscc, name, uscc_status, uscc_problems, first_batch_id) "
            "SELECT key, atom, 'valid', NULL, ? FROM json_each(?) WHERE true "
            "ON CONFLICT (uscc) DO NOTHING",  # WHERE true: SQLite's parser needs it before an upsert
            (self.batch_id, valid),
        )
        self.cursor.executemany(
            "INSERT INTO enterprises (uscc, name, uscc_status, uscc_problems, first_batch_id) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (uscc) DO NOTHING",
            [(*row, self.batch_id) for row in flagged],
        )
        for name, members_json in zip(self.fields, by_field, strict=True):
            if members_json == "{}":
                continue
            if self.dated:  # the value is prefixed by its data date (ISO, 10 characters)
                self.cursor.execute(
                    "INSERT INTO observations (uscc, field, value, source_id, as_of, batch_id) "
                    f"SELECT key, ?, substr(atom, {_DAY + 1}), ?, substr(atom, 1, {_DAY}), ? FROM json_each(?)",
                    (name, self.source_id, self.batch_id, members_json),
                )
            else:
                self.cursor.execute(
                    "INSERT INTO observations (uscc, field, value, source_id, as_of, batch_id) "
                    "SELECT key, ?, atom, ?, ?, ? FROM json_each(?)",
                    (name, self.source_id, self.day, self.batch_id, members_json),
                )
        return int(count or 0)

    def _postgres(self, lo: int, hi: int) -> int:
        tab, end, null = "chr(9)", "chr(10)", "'\\N'"
        tail = f"{tab} || {_copy_text(self.source_id)} || {tab} || as_of || {tab} || '{self.batch_id}' || {end}"
        lines = ", ".join(
            f"CASE WHEN v{i} IS NOT NULL THEN uscc || {tab} || {_copy_text(self.fields[i])} || {tab} || "
            f"{_escape_copy(f'v{i}')} || {tail} END"
            for i in range(len(self.fields))
        )
        firm = (
            f"uscc || {tab} || coalesce({_escape_copy('name')}, {null}) || {tab} || status || {tab} || "
            f"coalesce({_escape_copy('problems')}, {null}) || {end}"
        )
        observations, firms, count = self.duck.execute(
            f"SELECT string_agg(concat({lines or 'NULL'}), ''), string_agg({firm}, ''), "
            f"{self.counted} FROM out WHERE rowid >= ? AND rowid < ?",
            [lo, hi],
        ).fetchone()
        if firms is None:
            return 0
        with self.cursor.copy("COPY import_enterprises (uscc, name, uscc_status, uscc_problems) FROM STDIN") as copy:
            copy.write(firms)
        if count:
            with self.cursor.copy(
                "COPY observations (uscc, field, value, source_id, as_of, batch_id) FROM STDIN"
            ) as copy:
                copy.write(observations)
        return int(count or 0)
