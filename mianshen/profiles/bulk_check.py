"""Checking a whole import file in DuckDB; only rows SQL cannot certify meet the row checker.

1. load the file as tagged values (bulk_load);
2. certify values column-wise (bulk_rules), deciding every other distinct value with check_value;
3. run check_row — the one source of reasons — on the rows not certified, exactly as before;
4. reject the second and later accepted rows of a USCC (the whole file, not only a chunk);
5. leave the accepted rows in `out`, ordered by USCC (so the store's indexes fill in order); its
   rowid numbers them for chunked writing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from mianshen.catalogue import load_catalogue
from mianshen.filecheck import MAX_REJECTS, too_many_rejects
from mianshen.profiles.bulk_load import load
from mianshen.profiles.bulk_rules import (
    Rule,
    date_rule,
    date_verdict,
    mappable,
    name_rule,
    uscc_rule,
    value_rule,
    verdict,
)
from mianshen.profiles.readers import rows_at
from mianshen.profiles.sources import DataSource
from mianshen.profiles.validate import CheckedRow, check_row


@dataclass
class Checked:
    rows_read: int
    accepted: int
    warnings: int
    fields: list[str]  # the value columns v0, v1, … of `out`
    rejects: list[dict[str, Any]] = field(default_factory=list)  # in row order, without batch_id


Decide = Callable[[str], tuple[bool, str | None]]  # a tagged value → (no error?, canonical text)


def check_file(conn: Any, source: DataSource, file: Path, as_of: dt.date) -> Checked:
    extra = [source.as_of_column] if source.as_of_column else []
    columns = list(dict.fromkeys([c.column for c in source.columns] + extra))
    plain = load(conn, file, columns)
    fields = list(dict.fromkeys(c.field for c in source.columns if c.field not in ("uscc", "name")))
    _certify(conn, source, {c: f"t{i}" for i, c in enumerate(columns)}, fields, as_of)
    rejects, warned = _row_checks(conn, source, file, plain, fields, as_of)
    dups = _duplicates(conn)
    if len(rejects) + len(dups) > MAX_REJECTS:
        raise too_many_rejects(sorted([*dups, *(int(r["row_number"]) for r in rejects)])[MAX_REJECTS], file.name)
    for number, raw in rows_at(file, dups, plain):  # a duplicate is an error, its warning goes with it
        warnings = warned.pop(number, ({}, []))[1]
        reasons = [f"统一社会信用代码 {dups[number]} 在本文件中重复出现", *warnings]
        rejects.append(_entry(number, "error", dups[number], reasons, raw))
    rejects.extend(entry for entry, _ in warned.values())
    rejects.sort(key=lambda r: int(r["row_number"]))
    conn.execute("CREATE TABLE out AS SELECT * FROM acc WHERE rn NOT IN (SELECT rn FROM dups) ORDER BY uscc")
    read, accepted, flagged = conn.execute(
        "SELECT (SELECT count(*) FROM src_rows), count(*), count(*) FILTER (status = 'check_failed') FROM out"
    ).fetchone()
    checked = Checked(int(read), int(accepted), int(flagged), fields, rejects)
    if checked.rows_read - checked.accepted != sum(r["severity"] == "error" for r in rejects):
        raise RuntimeError("导入校验计数不一致")  # a bug here must never write a half-checked batch
    return checked


def _rules(source: DataSource, cells: dict[str, str]) -> tuple[dict[str, Rule], dict[str, tuple[str, Decide]]]:
    """A rule per mapped column (keyed by its position, "a" for the data date), and for the
    columns check_value decides, the tagged cell and how."""
    catalogue = load_catalogue()
    rules: dict[str, Rule] = {}
    deciders: dict[str, tuple[str, Decide]] = {}
    for i, column in enumerate(source.columns):
        t, key = cells[column.column], str(i)
        if column.field == "uscc":
            rules[key] = uscc_rule(t, key)
        elif column.field == "name":
            rules[key] = name_rule(t)
        else:
            spec = catalogue.fields[column.field]
            rules[key] = value_rule(spec, column, t, key)
            deciders[key] = (t, partial(verdict, spec, column))
    if source.as_of_column:
        rules["a"] = date_rule(cells[source.as_of_column], "a")
        deciders["a"] = (cells[source.as_of_column], date_verdict)
    return rules, deciders


def _certify(conn: Any, source: DataSource, cells: dict[str, str], fields: list[str], as_of: dt.date) -> None:
    """`checked`: per row the certified USCC, name, data date and canonical values, and `ok`."""
    regular = (
        sum(c.field == "uscc" for c in source.columns) == 1
        and sum(c.field == "name" for c in source.columns) <= 1
        and len(fields) == sum(c.field not in ("uscc", "name") for c in source.columns)
    )  # otherwise (two columns for one field, …) every row goes to check_row
    rules, deciders = _rules(source, cells)
    joins: list[str] = []
    decided = {
        key: _mapping(conn, rule, *deciders[key], joins) if key in deciders else (rule.certified, rule.text)
        for key, rule in rules.items()
    }
    named = {c.field: decided[str(i)][1] for i, c in enumerate(source.columns)}  # the last column of a field
    values = "".join(f", {named[f]} AS v{i}" for i, f in enumerate(fields))
    day = decided["a"][1] if "a" in decided else f"'{as_of.isoformat()}'"
    ok = " AND ".join(["NOT whole", "true" if regular else "false", *(f"({c})" for c, _ in decided.values())])
    conn.execute(
        f"CREATE TABLE checked AS SELECT rn, {named.get('uscc', 'NULL')} AS uscc, {named.get('name', 'NULL')} AS name, "
        f"{day} AS as_of, ({ok}) AS ok{values} FROM {_stepped(list(rules.values()))} {' '.join(joins)}"
    )


def _stepped(rules: list[Rule]) -> str:
    """src_rows with every rule's helper columns, one nested SELECT per step."""
    query = "src_rows"
    for depth in range(max((len(r.steps) for r in rules), default=0)):
        helpers = "".join(f", {e} AS {a}" for r in rules if depth < len(r.steps) for a, e in r.steps[depth].items())
        query = f"(SELECT *{helpers} FROM {query}) s{depth}"
    return query


def _mapping(conn: Any, rule: Rule, t: str, decide: Decide, joins: list[str]) -> tuple[str, str]:
    """Decide with Python each distinct value no rule certified: (ok, text) SQL, via a join."""
    found = conn.execute(f"SELECT DISTINCT {t} FROM {_stepped([rule])} WHERE NOT ({rule.certified})").fetchall()
    raws = [row[0] for row in found if mappable(row[0])]
    if not raws:
        return rule.certified, f"CASE WHEN {rule.certified} THEN {rule.text} END"
    decided = [decide(raw) for raw in raws]
    alias = f"m{len(joins)}"
    conn.execute(f"CREATE TABLE {alias} (raw VARCHAR, ok BOOLEAN, txt VARCHAR)")
    conn.execute(
        f"INSERT INTO {alias} SELECT unnest(?), unnest(?), unnest(?)",
        [raws, [d[0] for d in decided], [d[1] for d in decided]],
    )
    joins.append(f"LEFT JOIN {alias} ON {alias}.raw = {t}")
    certified = f"({rule.certified})"
    return (
        f"({certified} OR coalesce({alias}.ok, false))",
        f"CASE WHEN {certified} THEN {rule.text} ELSE {alias}.txt END",
    )


def _row_checks(
    conn: Any, source: DataSource, file: Path, plain: bool, fields: list[str], as_of: dt.date
) -> tuple[list[dict[str, Any]], dict[int, tuple[dict[str, Any], list[str]]]]:
    """check_row on every row not certified; its accepted rows join the certified ones in `acc`."""
    values = ", ".join(f"v{i} VARCHAR" for i in range(len(fields)))
    conn.execute(
        "CREATE TABLE fb (rn BIGINT, uscc VARCHAR, name VARCHAR, status VARCHAR, problems VARCHAR, "
        f"as_of VARCHAR{', ' if values else ''}{values})"
    )
    numbers = [row[0] for row in conn.execute("SELECT rn FROM checked WHERE NOT ok ORDER BY rn").fetchall()]
    rejects: list[dict[str, Any]] = []
    warned: dict[int, tuple[dict[str, Any], list[str]]] = {}  # a warning, unless a duplicate after all
    accepted: list[CheckedRow] = []
    for number, raw in rows_at(file, numbers, plain):
        row = check_row(source, number, raw, as_of)
        if row.errors:
            rejects.append(_entry(number, "error", row.uscc, row.errors + row.warnings, raw))
            if len(rejects) > MAX_REJECTS:  # a wrong file or a hostile one: refused, nothing written
                raise too_many_rejects(number, file.name)
            continue
        if row.warnings:
            warned[number] = (_entry(number, "warning", row.uscc, row.warnings, raw), row.warnings)
        accepted.append(row)
        if len(accepted) >= 10000:
            _add_fallback(conn, accepted, fields)
            accepted = []
    _add_fallback(conn, accepted, fields)
    listed = "".join(f", v{i}" for i in range(len(fields)))
    conn.execute(
        f"CREATE VIEW acc AS SELECT rn, uscc, name, 'valid' AS status, NULL::VARCHAR AS problems, as_of{listed} "
        f"FROM checked WHERE ok UNION ALL SELECT rn, uscc, name, status, problems, as_of{listed} FROM fb"
    )
    return rejects, warned


def _add_fallback(conn: Any, rows: list[CheckedRow], fields: list[str]) -> None:
    if not rows:
        return
    columns: list[list[Any]] = [
        [r.number for r in rows],
        [r.uscc for r in rows],
        [r.name for r in rows],
        ["check_failed" if r.warnings else "valid" for r in rows],
        ["；".join(r.warnings) or None for r in rows],
        [r.as_of.isoformat() if r.as_of else None for r in rows],
        *[[r.values.get(f) for r in rows] for f in fields],
    ]
    cells = ", ".join("unnest(?)" for _ in columns)
    conn.execute(f"INSERT INTO fb SELECT {cells}", columns)


def _duplicates(conn: Any) -> dict[int, str]:
    """Row number → USCC for every accepted row whose USCC an earlier accepted row already had."""
    conn.execute(  # counting first: numbering every row would sort the whole file by USCC twice
        "CREATE TABLE dups AS SELECT rn, uscc FROM (SELECT rn, uscc, row_number() OVER (PARTITION BY uscc ORDER BY rn) "
        "AS k FROM acc WHERE uscc IN (SELECT uscc FROM acc GROUP BY uscc HAVING count(*) > 1)) WHERE k > 1"
    )
    return {int(rn): str(uscc) for rn, uscc in conn.execute("SELECT rn, uscc FROM dups").fetchall()}


def _entry(number: int, severity: str, uscc: str | None, reasons: list[str], raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "row_number": number,
        "severity": severity,
        "uscc": uscc,
        "reason": "；".join(reasons),
        "raw": json.dumps(raw, ensure_ascii=False, default=str),
    }
