"""Signing in: staff by username and password, enterprises by USCC and a one-time SMS code.

Codes go out through the notification outbox (so the same channels and audit apply), expire after
five minutes and allow five guesses each. Requests for codes, code guesses and wrong passwords are
limited per client address, per enterprise (or username) and, for codes, overall (`throttle.py`,
numbers and reasons in docs/security.md). The answer to a code request is the same whether or not
the USCC is registered or has a phone on file. Every sign-in, successful or not, is an audit event
that names the client address.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import Connection, RowMapping, Table, select

from mianshen.audit.log import Actor, record
from mianshen.store.outbox import enqueue
from mianshen.store.schema import enterprise_contacts, enterprises, sms_codes, users
from mianshen.web.errors import WebError
from mianshen.web.passwords import MAX_USERNAME, check_nobody, check_password
from mianshen.web.throttle import EVERYONE, Rule, first_refusal, give_back_all, take_all

CODE_LIFETIME = dt.timedelta(minutes=5)
MAX_GUESSES = 5  # per code
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)
# Codes issued. Per client address low, per enterprise twice that: one client alone cannot use up an
# enterprise's codes (locking it out costs an attacker several addresses); overall caps the SMS bill.
CODE_RULES = (
    Rule("code.client", 5, HOUR),
    Rule("code.client.day", 20, DAY),
    Rule("code.enterprise", 10, HOUR),
    Rule("code.all", 2000, HOUR),
)
# Wrong codes (a correct one is given back), the same shape.
GUESS_RULES = (Rule("guess.client", 10, HOUR), Rule("guess.enterprise", 20, HOUR), Rule("guess.all", 5000, HOUR))
# Wrong passwords: per username 5 in 15 minutes and 20 a day (the backoff grows), per client address 20
# an hour. No overall limit: it would let anyone lock every member of staff out at once.
PASSWORD_RULES = (
    Rule("password.user", 5, dt.timedelta(minutes=15)),
    Rule("password.user.day", 20, DAY),
    Rule("password.client", 20, HOUR),
)
MAX_PASSWORD = 1024  # longer is never a password we stored (the policy allows 128); not hashed in full
CODE_SENT = "如该统一社会信用代码已登记联系人手机号，验证码已发送至该手机，5 分钟内有效。"
TOO_MANY_CODES = "获取验证码过于频繁，请一小时后再试"
TOO_MANY_GUESSES = "验证码错误次数过多，请一小时后再试"
TOO_MANY_PASSWORDS = "密码错误次数过多，账号暂时锁定，请 15 分钟后再试（仍不能登录请联系平台管理员）"


def _checks(rules: tuple[Rule, ...], client: str, subject: str) -> list[tuple[Rule, str]]:
    def who(rule: Rule) -> str:
        return client if ".client" in rule.name else EVERYONE if rule.name.endswith(".all") else subject

    return [(rule, who(rule)) for rule in rules]


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def staff_sign_in(
    conn: Connection, username: str, password: str, client: str = "unknown", now: dt.datetime | None = None
) -> dict[str, object] | WebError:
    """The user row, or the error to show. Failures are returned, not raised, so that the audit
    event and the counted attempt of a failed sign-in commit with the caller's transaction."""
    now = now or dt.datetime.now(dt.UTC)
    name = username.strip()
    shown = name[:MAX_USERNAME] + ("…" if len(name) > MAX_USERNAME else "") or "（空）"
    checks = _checks(PASSWORD_RULES, client, name[:MAX_USERNAME].lower() or "（空）")
    refused = take_all(conn, checks, now)
    if refused is not None:
        if first_refusal(conn, refused, now):
            record(conn, Actor(shown, "anonymous"), "signin.limited", "user", shown, after={"client": client})
        return WebError(429, "too_many_attempts", TOO_MANY_PASSWORDS)
    row = None
    if len(name) <= MAX_USERNAME:
        row = conn.execute(select(users).where(users.c.username == name)).mappings().first()
    if len(password) > MAX_PASSWORD:
        password = password[:MAX_PASSWORD] + "\x00"  # never matches; hashed at the usual length
    # unknown or disabled: the same time as a real check, so timing does not tell who exists
    real = row is not None and row["active"]
    ok = check_password(row["password_hash"], password) if real and row else check_nobody(password)
    if row is None or not ok:
        record(conn, Actor(shown, "anonymous"), "signin.failed", "user", shown, after={"client": client})
        return WebError(401, "bad_credentials", "用户名或密码不正确")
    give_back_all(conn, checks, now)
    who = Actor(row["display_name"], row["role"], row["department"])
    record(conn, who, "signin", "user", row["id"], after={"client": client})
    return dict(row)


def _digest(uscc: str, code: str) -> str:
    return hashlib.sha256(f"{uscc}:{code}".encode()).hexdigest()


def new_code(key: str) -> tuple[str, str]:
    """A six-digit code and the hash kept of it (bound to `key`: the USCC, or an objection's token)."""
    code = f"{secrets.randbelow(10**6):06d}"
    return code, _digest(key, code)


def check_code(
    conn: Connection, table: Table, row: RowMapping | None, key: str, code: str, now: dt.datetime
) -> WebError | None:
    """None when `code` is the one kept in `row` (of `table`: sms_codes or objection_codes), else the
    error to show. The guess is counted in the row by a conditional UPDATE: two guesses never share a
    count, and a code allows MAX_GUESSES guesses in all."""
    counted = (
        row is not None
        and _utc(row["expires_at"]) >= now
        and conn.execute(
            table.update()
            .where(table.c.id == row["id"], table.c.attempts < MAX_GUESSES)
            .values(attempts=table.c.attempts + 1)
        ).rowcount
    )
    if row is None or not counted:
        return WebError(401, "code_expired", "验证码已失效，请重新获取")
    if not secrets.compare_digest(row["code_hash"], _digest(key, code.strip()[:16])):
        left = MAX_GUESSES - row["attempts"] - 1
        return WebError(
            401, "bad_code", f"验证码不正确，还可尝试 {left} 次" if left else "验证码错误次数过多，请重新获取"
        )
    return None


def normal_uscc(raw: str) -> str | WebError:
    """The USCC as typed, upper-cased — or the error when it cannot be one (18 characters). The
    check digit is not checked here: codes confirmed by hand (`data uscc-override`) may fail it."""
    uscc = raw.strip().upper()
    if len(uscc) != 18 or not uscc.isalnum() or not uscc.isascii():
        return WebError(400, "bad_uscc", "统一社会信用代码应为 18 位数字或大写字母")
    return uscc


def request_code(
    conn: Connection, raw_uscc: str, client: str = "unknown", now: dt.datetime | None = None
) -> str | WebError:
    """Send a code to the enterprise's registered contact, if it has one. Returns the message to show,
    the same for every USCC, or the error (returned so that the counted request commits)."""
    now = now or dt.datetime.now(dt.UTC)
    uscc = normal_uscc(raw_uscc)
    if isinstance(uscc, WebError):
        return uscc
    actor = Actor(f"企业 {uscc}", "enterprise", uscc=uscc)
    refused = take_all(conn, _checks(CODE_RULES, client, uscc), now)
    if refused is not None:
        if first_refusal(conn, refused, now):
            record(conn, actor, "signin.limited", "enterprise", uscc, after={"client": client})
        return WebError(429, "too_many_codes", TOO_MANY_CODES)
    known = conn.execute(select(enterprises.c.uscc).where(enterprises.c.uscc == uscc)).scalar()
    contact = conn.execute(select(enterprise_contacts.c.uscc).where(enterprise_contacts.c.uscc == uscc)).scalar()
    if known is None or contact is None:
        record(conn, actor, "signin.code_unsent", "enterprise", uscc, after={"client": client})
        return CODE_SENT
    code, code_hash = new_code(uscc)
    code_id = conn.execute(
        sms_codes.insert().values(
            uscc=uscc, code_hash=code_hash, attempts=0, created_at=now, expires_at=now + CODE_LIFETIME
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    enqueue(conn, uscc, f"login:{code_id}", "login_code", {"code": code, "minutes": 5}, channels=("sms",))
    record(conn, actor, "signin.code_sent", "enterprise", uscc, after={"client": client})
    return CODE_SENT


def enterprise_sign_in(
    conn: Connection, raw_uscc: str, code: str, client: str = "unknown", now: dt.datetime | None = None
) -> str | WebError:
    """The USCC signed in, or the error to show — returned so the counted guess commits."""
    now = now or dt.datetime.now(dt.UTC)
    uscc = normal_uscc(raw_uscc)
    if isinstance(uscc, WebError):
        return uscc
    actor = Actor(f"企业 {uscc}", "enterprise", uscc=uscc)
    checks = _checks(GUESS_RULES, client, uscc)
    refused = take_all(conn, checks, now)
    if refused is not None:
        if first_refusal(conn, refused, now):
            record(conn, actor, "signin.limited", "enterprise", uscc, after={"client": client})
        return WebError(429, "too_many_guesses", TOO_MANY_GUESSES)
    row = (
        conn.execute(
            select(sms_codes)
            .where(sms_codes.c.uscc == uscc, sms_codes.c.consumed_at.is_(None))
            .order_by(sms_codes.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    wrong = check_code(conn, sms_codes, row, uscc, code, now)
    if wrong is not None:
        attempt = {"attempt": row["attempts"] + 1} if row is not None and wrong.code == "bad_code" else {}
        reason = {"reason": "验证码已失效"} if wrong.code == "code_expired" else {}
        record(conn, actor, "signin.failed", "enterprise", uscc, after=reason | attempt | {"client": client})
        return wrong
    assert row is not None  # a code that matched has a row
    conn.execute(sms_codes.update().where(sms_codes.c.id == row["id"]).values(consumed_at=now))
    give_back_all(conn, checks, now)
    record(conn, actor, "signin", "enterprise", uscc, after={"client": client})
    return uscc
