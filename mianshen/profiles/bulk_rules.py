"""Column-wise checks in SQL: the common, well-formed values, certified without Python.

Every rule here may only *certify* a tagged value (see bulk_load) and give the canonical text the
row checker (validate.check_row) would store; it never rejects. A value no rule certifies is
decided by `check_value` itself — once per distinct value for mapped fields (`verdict`), or by
checking its whole row in Python (USCC, name). So a rule that is too narrow costs speed, never
correctness, and each rule is written for the narrowest text that covers real extracts:
ASCII digits and spaces, ISO dates, exact boolean words.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mianshen.catalogue import Field, FieldType
from mianshen.numbers import LIMIT, MAX_DIGITS, SCALE
from mianshen.profiles.bulk_load import untag
from mianshen.profiles.sources import ColumnMap
from mianshen.profiles.validate import EARLIEST, LATEST, MAX_NAME, check_value, non_negative
from mianshen.reference.uscc import CHARSET, ORG_WEIGHTS, WEIGHTS
from mianshen.rules.values import ValueError_, parse_date


@dataclass(frozen=True)
class Rule:
    """SQL over a tagged column `t`: helper columns computed in steps (each step may use the ones
    before, so a regex, trim or substring runs once per value), then whether the value is
    certified and its canonical text."""

    steps: tuple[dict[str, str], ...]
    certified: str
    text: str


# What str.strip() removes, for this very Python: trimming these in SQL is the same operation.
# None lies above U+3000 (tests/test_import_bulk_rules.py checks all of Unicode, once).
SPACES_BELOW = 0x3001
_SPACES = [c for c in map(chr, range(SPACES_BELOW)) if c.isspace()]
WHITESPACE = " || ".join(f"chr({ord(c)})" for c in _SPACES)
_NOT_SPACE = "[^" + "".join(f"\\x{{{ord(c):x}}}" for c in _SPACES) + "]"
_NUMBER = r"^ *([+-]?)([0-9]+)(?:\.([0-9]+))? *$"  # a subset of mianshen.numbers._NUMBER: no units, no exponent
_PLAIN_DECIMAL = r"-?(0|[1-9][0-9]*)(\.[0-9]{1,10})?"  # ≤ 10 places; ≤ 15 digits checked apart
_PLAIN_INTEGER = "-?(0|[1-9][0-9]*)"
_DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TRUE, _FALSE = ("是", "true", "True"), ("否", "false", "False")
_WHOLE_DIGITS = len(str(LIMIT)) - 1  # |value| < LIMIT = 10^15: at most 15 digits before the point


def _tag(t: str) -> str:
    return f"left({t}, 1)"


def _body(t: str) -> str:
    return f"substr({t}, 2)"


def _strip(text: str) -> str:
    """str.strip(), None when nothing is left; DuckDB's trim with a set of characters is slow, so
    only text that does start or end with whitespace is trimmed."""
    clean = f"regexp_full_match({text}, '(?s){_NOT_SPACE}(.*{_NOT_SPACE})?')"
    return f"CASE WHEN {clean} THEN {text} ELSE nullif(trim({text}, {WHITESPACE}), '') END"


def _words(words: tuple[str, ...]) -> str:
    return ", ".join(f"'{w}'" for w in words)


def uscc_rule(t: str, key: str) -> Rule:
    """A code of 18 ASCII letters and digits (spaces around allowed), in GB 32100's charset, with
    both check characters right. A warning or an error always comes from the row checker's words."""
    trimmed, code, total, org = f"tr_{key}", f"u_{key}", f"s_{key}", f"o_{key}"
    chars = [f"c{i}_{key}" for i in range(18)]
    lower = CHARSET.lower().replace("0123456789", "")
    return Rule(
        (
            {trimmed: f"CASE WHEN {_tag(t)} = 's' THEN trim({_body(t)}, ' ') END"},
            {code: f"upper({trimmed})", f"shape_{key}": f"regexp_full_match({trimmed}, '[{CHARSET}{lower}]{{18}}')"},
            {c: f"substr({code}, {i + 1}, 1)" for i, c in enumerate(chars)},
            {
                total: " + ".join(f"(instr('{CHARSET}', {chars[i]}) - 1) * {w}" for i, w in enumerate(WEIGHTS)),
                org: " + ".join(  # GB 11714 reads letters as 10, 11, …: A is ASCII 65
                    f"(ascii({c}) - CASE WHEN {c} <= '9' THEN 48 ELSE 55 END) * {w}"
                    for c, w in zip(chars[8:16], ORG_WEIGHTS, strict=True)
                ),
            },
        ),
        f"coalesce(shape_{key} AND substr('{CHARSET}', ((31 - {total} % 31) % 31) + 1, 1) = {chars[17]} "
        f"AND (CASE {org} % 11 WHEN 1 THEN 'X' WHEN 0 THEN '0' ELSE CAST(11 - {org} % 11 AS VARCHAR) END) = {chars[16]}, false)",
        code,
    )


def name_rule(t: str) -> Rule:
    """str(value).strip(), None when blank: exact for a string (same whitespace set) or an int; a
    name over MAX_NAME is left to check_row, which rejects it."""
    text = f"CASE WHEN {t} IS NULL THEN NULL ELSE {_strip(_body(t))} END"
    return Rule((), f"({t} IS NULL OR ({_tag(t)} IN ('s', 'i') AND coalesce(length({text}), 0) <= {MAX_NAME}))", text)


def date_rule(t: str, key: str) -> Rule:
    """parse_date: an ISO date string (spaces around allowed) that exists, or a date value."""
    day = f"d_{key}"
    string = f"regexp_full_match({day}, '{_DATE}') AND left({day}, 4) <> '0000' AND TRY_CAST({day} AS DATE) IS NOT NULL"
    return Rule(
        ({day: f"CASE WHEN {_tag(t)} = 's' THEN trim({_body(t)}, ' ') WHEN {_tag(t)} = 't' THEN {_body(t)} END"},),
        f"coalesce({_tag(t)} = 't' OR ({string}), false)",
        day,
    )


def value_rule(spec: Field, column: ColumnMap, t: str, key: str) -> Rule:
    """check_value for the common shapes of each field type; blank (None or "") is certified too."""
    if spec.type.numeric:
        rule = _number_rule(t, key, column.scale if column.scale != 1 else Decimal(1), spec.type == FieldType.INTEGER)
    elif spec.type == FieldType.DATE:
        rule = date_rule(t, key)
    elif spec.type == FieldType.BOOLEAN:
        rule = Rule(
            (),
            f"coalesce({_tag(t)} = 'b' OR ({_tag(t)} = 's' AND {_body(t)} IN ({_words(_TRUE + _FALSE)})), false)",
            f"CASE WHEN {t} = 'b1' OR {_body(t)} IN ({_words(_TRUE)}) THEN 'true' ELSE 'false' END",
        )
    elif spec.type == FieldType.TEXT:
        rule = Rule((), f"coalesce({_tag(t)} IN ('s', 'i'), false)", _strip(_body(t)))
    else:  # codes and tags: few distinct values, each looked up by check_value
        rule = Rule((), "false", "NULL")
    # implausible values (validate._plausible) are not certified: check_value rejects them with the reason
    if non_negative(spec):
        rule = Rule(rule.steps, f"({rule.certified}) AND coalesce(NOT starts_with({rule.text}, '-'), false)", rule.text)
    if spec.type == FieldType.DATE:
        bounds = f"'{EARLIEST.isoformat()}' AND '{LATEST.isoformat()}'"
        rule = Rule(rule.steps, f"({rule.certified}) AND coalesce({rule.text} BETWEEN {bounds}, false)", rule.text)
    blank = f"({t} IS NULL OR {t} = 's')"
    return Rule(
        rule.steps,
        f"({blank} OR {rule.certified})",
        f"CASE WHEN {blank} THEN NULL ELSE {rule.text} END",
    )


def _number_rule(t: str, key: str, scale: Decimal, integer: bool) -> Rule:
    """parse_number (× the column's unit scale) then check_range, on digit strings.

    Decimal(value) * scale multiplies the coefficients and adds the exponents: × 10000 (stored as
    10000, exponent 0) appends four zeros and keeps the decimal places; × 0.01 (1E-2) keeps the
    digits and adds two places. format(…, "f") keeps a negative zero's sign, int() drops it.
    """
    sign, digits, exponent = scale.as_tuple()
    zeros, shift = len(digits) - 1, -int(exponent)
    if sign or digits[0] != 1 or any(digits[1:]) or (zeros and shift) or shift < 0:
        return Rule((), "false", "NULL")  # not 10^j nor 10^-k: every value goes to check_value
    n, whole, fraction, plain = f"n_{key}", f"w_{key}", f"f_{key}", f"k_{key}"
    numeric = f"{_tag(t)} IN ('s', 'i', 'f', 'd')"
    if shift or zeros:
        first: dict[str, str] = {plain: "false"}
    else:  # already written as format(Decimal, "f") / int would write it: the text is the value
        pattern = _PLAIN_INTEGER if integer else _PLAIN_DECIMAL
        digits_only = f"strlen({_body(t)}) - contains({_body(t)}, '.')::INTEGER - ({_body(t)}[1] = '-')::INTEGER"
        first = {
            plain: f"coalesce({numeric} AND regexp_full_match({_body(t)}, '{pattern}') AND {digits_only} <= {MAX_DIGITS}, false)"
        }
    if shift:
        scaled = {
            whole: f"ltrim(left({n}.ip, greatest(strlen({n}.ip) - {shift}, 0)), '0')",
            fraction: f"right(repeat('0', {shift}) || {n}.ip, {shift}) || {n}.fp",
        }
    else:
        extended = f"({n}.fp || repeat('0', {zeros}))"
        scaled = {
            whole: f"ltrim({n}.ip || left({extended}, {zeros}), '0')",
            fraction: f"right({extended}, strlen({n}.fp))",
        }
    # digit strings are ASCII, so strlen (bytes) is their length
    trimmed = {f"rf_{key}": f"rtrim({fraction}, '0')"}
    checks = [f"{n}.ip <> ''", _in_range(whole, fraction, f"rf_{key}")]
    if shift or zeros:  # parse_number checks the value as read, _scaled checks it again after the unit
        trimmed |= {f"ri_{key}": f"ltrim({n}.ip, '0')", f"rr_{key}": f"rtrim({n}.fp, '0')"}
        checks.append(_in_range(f"ri_{key}", f"{n}.fp", f"rr_{key}"))
    digits_text = f"coalesce(nullif({whole}, ''), '0')"
    if integer:
        checks.append(f"rf_{key} = ''")
        text = f"CASE WHEN {n}.sg = '-' AND {whole} <> '' THEN '-' ELSE '' END || {digits_text}"
    else:
        point = f"CASE WHEN {fraction} <> '' THEN '.' || {fraction} ELSE '' END"
        text = f"CASE WHEN {n}.sg = '-' THEN '-' ELSE '' END || {digits_text} || {point}"
    # anything else (spaces, a plus sign, leading zeros, a unit scale): digit by digit
    shaped = f"CASE WHEN NOT {plain} AND {numeric} THEN regexp_extract({_body(t)}, '{_NUMBER}', ['sg', 'ip', 'fp']) END"
    as_written = f"CASE WHEN {_body(t)} = '-0' THEN '0' ELSE {_body(t)} END" if integer else _body(t)
    return Rule(
        (first, {n: shaped}, scaled, trimmed),
        f"({plain} OR coalesce({' AND '.join(checks)}, false))",
        f"CASE WHEN {plain} THEN {as_written} ELSE {text} END",
    )


def _in_range(whole: str, fraction: str, significant_fraction: str) -> str:
    """check_range on digit strings: whole without leading zeros, the fraction as written and
    without its trailing zeros (Decimal.normalize drops them before counting digits)."""
    significant = f"strlen({whole}) + strlen({significant_fraction})"
    return (
        f"strlen({whole}) <= {_WHOLE_DIGITS} AND strlen({fraction}) <= {SCALE} "
        f"AND ({significant} <= {MAX_DIGITS} OR {significant_fraction} = '')"
    )


def verdict(spec: Field, column: ColumnMap, tagged: str) -> tuple[bool, str | None]:
    """check_value on the value a tag stands for: (no error?, canonical text or None when blank)."""
    text, error = check_value(spec, column, untag(tagged))
    return error is None, text


def date_verdict(tagged: str | None) -> tuple[bool, str | None]:
    try:
        return True, parse_date(untag(tagged)).isoformat()
    except ValueError_:
        return False, None


def mappable(tagged: Any) -> bool:
    return tagged is not None and tagged[:1] not in ("x", "m")
