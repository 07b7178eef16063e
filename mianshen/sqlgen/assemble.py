"""The one batch statement (装配): every policy over one scan of a profile table, one row per enterprise.

Each policy is its own columns — the shape OpenFisca's arrays have — instead of a row per
enterprise × policy, so the engine never builds the cross product:

    s_<k>  status code (STATUSES: 0 ineligible, 1 eligible, 2 unknown)
    a_<k>  amount, exact to the fen, where eligible
    n<j>_<w>  which distinct conditions of the statement are NULL (WORD bits a column; j = the
           statement's first policy column): one set of words for all its policies, which is what
           the match library keeps — a policy's own unknown mask (bit i = its i-th spine condition,
           the last bit = the amount) is read from them through `Slot.nulls` (`unknown_sql`,
           `unknown_bits`). Spelling out a mask per policy doubled the cost of a province's run.
    u_<k>, f_<k>  unknown and failed masks per policy, only with `masks="all"` (both for every
           pair, as the Python evaluator reports them, for screening and tests): the library keeps
           no failed mask, an ineligible pair's "why not" is recomputed from the profile and the
           policy version

A province's catalogue repeats itself (a county's copy of a provincial rule differs in a threshold,
the benchmark's 100 variants share most conditions), so every distinct derived formula, condition
and amount — by its SQL — is computed once per enterprise, whichever policies read it. Match, screen,
simulation, data quality, Spark and the benchmarks all evaluate through `assemble`.

Engines bound the width of a statement (SQLite 2,000 columns, PostgreSQL 1,664), so a large
catalogue is split into several statements over the same table, each with its own policies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from mianshen.catalogue import Catalogue, load_catalogue
from mianshen.rules.ast import Policy, spine
from mianshen.rules.formula import references
from mianshen.sqlgen.compile import PolicyCompiler, needed_fields
from mianshen.sqlgen.dialects import DIALECTS, Dialect

STATUSES = ("ineligible", "eligible", "unknown")  # a status code is its index
_BUDGET = {"sqlite": 900, "postgres": 900, "duckdb": 6000, "spark": 3000}  # computed columns per statement
_TINY = {"duckdb": "UTINYINT", "spark": "TINYINT", "postgres": "SMALLINT"}  # a status code's type
WORD = 62  # condition bits per word column: positive in every engine's signed 64-bit integer


@dataclass(frozen=True)
class Slot:
    """One policy's place in an assembly: its columns are s_<column>, a_<column> (and the words)."""

    column: int
    policy: Policy
    conditions: tuple[str, ...]  # mask bit order: spine condition ids, then "amount"
    nulls: tuple[tuple[str, int], ...] = ()  # per spine condition: the word and bit set when it is NULL


@dataclass(frozen=True)
class Statement:
    sql: str
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class Assembly:
    statements: tuple[Statement, ...]
    fields: tuple[str, ...]  # profile columns the statements read

    @property
    def slots(self) -> tuple[Slot, ...]:
        return tuple(s for statement in self.statements for s in statement.slots)


@dataclass
class _Chunk:
    """The computed columns of one statement, each distinct SQL once (name → SQL)."""

    derived: dict[str, str] = field(default_factory=dict)
    conditions: dict[str, str] = field(default_factory=dict)
    amounts: dict[str, tuple[str, list[int]]] = field(default_factory=dict)  # SQL → (name, policy columns)
    slots: list[tuple[Slot, list[str], str]] = field(default_factory=list)  # slot, condition columns, amount column
    first: int | None = None  # the first policy column: names the words

    @property
    def width(self) -> int:
        words = len(self.conditions) // WORD + 1
        return len(self.derived) + len(self.conditions) + len(self.amounts) + 4 * len(self.slots) + words

    def null_bit(self, condition: str) -> tuple[str, int]:
        """The word column and bit standing for condition column c_<i> being NULL."""
        i = int(condition[2:])
        return f"n{self.first}_{i // WORD}", i % WORD


# per process: a worker re-matches the same versions
_MADE: dict[tuple[object, ...], tuple[list[Policy], Assembly]] = {}
_MADE_MAX = 32


def assemble(
    policies: Sequence[Policy],
    as_of: dt.date,
    dialect: str,
    table: str,
    *,
    catalogue: Catalogue | None = None,
    carry: Sequence[str] = (),
    masks: str = "unknown",
    budget: int | None = None,
) -> Assembly:
    """Statements selecting `id`, the `carry` columns and each policy's columns from `table`.

    Compiling a catalogue of a hundred policies takes a second or two, so an assembly is kept per
    process (keyed by the policy objects themselves, which the cache keeps alive, and the rest)."""
    key = (tuple(id(p) for p in policies), as_of, dialect, table, tuple(carry), masks, budget, id(catalogue))
    found = _MADE.get(key)
    if found is not None and all(a is b for a, b in zip(found[0], policies, strict=True)):
        return found[1]
    made = _assemble(policies, as_of, dialect, table, catalogue, carry, masks, budget)
    if len(_MADE) >= _MADE_MAX:
        _MADE.clear()
    _MADE[key] = (list(policies), made)
    return made


def _assemble(
    policies: Sequence[Policy],
    as_of: dt.date,
    dialect: str,
    table: str,
    catalogue: Catalogue | None,
    carry: Sequence[str],
    masks: str,
    budget: int | None,
) -> Assembly:
    catalogue = catalogue or load_catalogue()
    d = DIALECTS[dialect]
    limit = budget or _BUDGET[dialect]
    chunks: list[_Chunk] = [_Chunk()]
    for k, policy in enumerate(policies):
        if chunks[-1].slots and chunks[-1].width + _width(policy) > limit:
            chunks.append(_Chunk())
        _add(chunks[-1], k, policy, as_of, d, catalogue)
    statements = tuple(
        Statement(_statement(c, d, table, carry, masks == "all"), tuple(s for s, _, _ in c.slots))
        for c in chunks
        if c.slots
    )
    fields = sorted({f for p in policies for f in needed_fields(p)})
    return Assembly(statements, tuple(fields))


def _condition_ids(policy: Policy) -> tuple[str, ...]:
    return tuple(c.id for c in spine(policy.conditions)) + ("amount",)


def _width(policy: Policy) -> int:
    return len(policy.derived) + len(spine(policy.conditions)) + 5


def _sql(e: exp.Expression, d: Dialect) -> str:
    return e.sql(dialect=d.name, copy=False)


def _add(chunk: _Chunk, k: int, policy: Policy, as_of: dt.date, d: Dialect, catalogue: Catalogue) -> None:
    # Derived formulas: a reference to an earlier derived field is inlined (no engine but DuckDB reads
    # an alias defined in the same SELECT), then each distinct formula is one column.
    inline: dict[str, exp.Expression] = {}
    columns: dict[str, exp.Expression] = {}
    for derived in policy.derived.values():
        formula = PolicyCompiler(policy, as_of, d, catalogue, inline).expr(derived.formula)
        inline[derived.name] = exp.Paren(this=formula)
        text = _sql(formula.copy(), d)
        name = chunk.derived.setdefault(text, f"dv_{len(chunk.derived)}") if references(derived.formula) else ""
        columns[derived.name] = exp.column(name) if name else inline[derived.name]
    compiler = PolicyCompiler(policy, as_of, d, catalogue, columns)
    names = []
    for cond in spine(policy.conditions):
        text = _sql(compiler.condition(cond), d)
        names.append(chunk.conditions.setdefault(text, f"c_{len(chunk.conditions)}"))
    text = _sql(compiler.amount(policy.amount), d)
    amount = chunk.amounts.setdefault(text, (f"x_{len(chunk.amounts)}", []))
    amount[1].append(k)
    if chunk.first is None:  # the words are named after the statement's first policy
        chunk.first = k
    nulls = tuple(chunk.null_bit(n) for n in names)
    chunk.slots.append((Slot(k, policy, _condition_ids(policy), nulls), names, amount[0]))


def _statement(chunk: _Chunk, d: Dialect, table: str, carry: Sequence[str], every: bool) -> str:
    """Layers, each reading the one below: derived fields, conditions, each policy's root (all its
    conditions), amounts (only where a policy using them holds: amounts are the costly part and most
    pairs fail a condition), then the output columns."""
    derived = "".join(f", {sql} AS {name}" for sql, name in chunk.derived.items())
    conditions = "".join(f", {sql} AS {name}" for sql, name in chunk.conditions.items())
    roots = "".join(f", {_root(names, d)} AS r_{slot.column}" for slot, names, _ in chunk.slots)
    amounts = "".join(
        f", CASE WHEN {' OR '.join(f'r_{k}' for k in users)} THEN {sql} END AS {name}"
        for sql, (name, users) in chunk.amounts.items()
    )
    outputs = ["id", *carry]
    if not every:
        outputs += _words(chunk)
    for slot, names, amount in chunk.slots:
        outputs += _outputs(slot.column, names, amount, d, every)
    return (
        f"SELECT {', '.join(outputs)} FROM (SELECT *{amounts} FROM (SELECT *{roots} FROM "
        f"(SELECT *{conditions} FROM (SELECT *{derived} FROM {table}) AS p) AS w) AS r) AS x"
    )


def _words(chunk: _Chunk) -> list[str]:
    """The NULL bits of the statement's distinct conditions, WORD to a column."""
    words: dict[str, list[str]] = {}
    for name in chunk.conditions.values():
        word, bit = chunk.null_bit(name)
        words.setdefault(word, []).append(f"CASE WHEN {name} IS NULL THEN CAST({1 << bit} AS BIGINT) ELSE 0 END")
    return [f"{' + '.join(terms)} AS {word}" for word, terms in words.items()]


def unknown_sql(nulls: Sequence[tuple[str, int]], status: str) -> str:
    """A policy's unknown mask (as `masks="all"` spells it out) from the words, where its status is
    unknown: bit i = its i-th spine condition is NULL; the last bit = none is, so the amount is."""
    terms, i = [], 0
    while i < len(nulls):  # a run of consecutive bits in one word is one shift and mask
        word, bit = nulls[i]
        n = 1
        while i + n < len(nulls) and nulls[i + n] == (word, bit + n):
            n += 1
        terms.append(f"((({word} >> {bit}) & {(1 << n) - 1}) << {i})")
        i += n
    by_word: dict[str, int] = {}
    for word, bit in nulls:
        by_word[word] = by_word.get(word, 0) | 1 << bit
    none = " AND ".join(f"({word} & {mask}) = 0" for word, mask in by_word.items()) or "TRUE"
    terms.append(f"CASE WHEN {none} THEN {1 << len(nulls)} ELSE 0 END")
    return f"CASE WHEN {status} = 2 THEN CAST({' + '.join(terms)} AS BIGINT) END"


def unknown_bits(nulls: Sequence[tuple[str, int]], words: Mapping[str, Any], status: int) -> int | None:
    """`unknown_sql` in Python, for rows read back one by one."""
    if status != 2:
        return None
    mask = sum(1 << i for i, (word, bit) in enumerate(nulls) if int(words[word] or 0) >> bit & 1)
    return mask or 1 << len(nulls)


def _root(names: list[str], d: Dialect) -> str:
    return "(" + " AND ".join(names) + ")" if names else _sql(d.boolean(True), d)


def _integer(e: str, d: Dialect) -> str:
    kind = "INTEGER" if d.name in ("sqlite", "postgres") else "INT"
    return f"CAST({e} AS {kind})"


def _mask(tests: list[str], d: Dialect) -> str:
    """Bit i set where tests[i] holds (a NULL test counts as not set)."""
    terms = [f"{_integer(f'COALESCE({t}, FALSE)', d)} * {1 << i}" for i, t in enumerate(tests)]
    return " + ".join(terms) if terms else "0"


def _outputs(k: int, names: list[str], amount: str, d: Dialect, every: bool) -> list[str]:
    root, missing = f"r_{k}", f"{amount} IS NULL"
    # status code: NOT root → 0; root with an amount → 1; root without an amount, or root unknown → 2
    code = f"COALESCE({_integer(root, d)} + {_integer(f'({root} AND {missing})', d)}, 2)"
    status = f"CAST({code} AS {_TINY.get(d.name, 'INTEGER')}) AS s_{k}"
    amount_column = f"CASE WHEN {root} THEN {_amount(amount, d)} END AS a_{k}"
    if not every:
        return [status, amount_column]
    unknown = _mask([f"{n} IS NULL" for n in names] + [f"({root} AND {missing})"], d)
    return [status, amount_column, f"{unknown} AS u_{k}", f"{_mask([f'NOT {n}' for n in names], d)} AS f_{k}"]


def _amount(amount: str, d: Dialect) -> str:
    """The amount to the fen, exact: text on SQLite (its registered decimal functions), a decimal elsewhere."""
    if d.name == "sqlite":
        return f"ms_round({amount}, 2)"
    if d.name == "postgres":
        return f"CAST(ROUND({amount}, 2) AS NUMERIC(38, 2))"
    # the library's type: 8 bytes a value instead of 16 (an amount of 10^16 元 fails the run loudly)
    return f"CAST(ROUND({amount}, 2) AS DECIMAL(18, 2))"
