"""Signing in: staff by username and password, enterprises by USCC and a one-time SMS code.

Codes go out through the notification outbox (so the same channels and audit apply), expire after
five minutes, allow five guesses each, and an enterprise may request at most five codes an hour.
Every sign-in, successful or not, is an audit event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import Connection, func, select

from mianshen.audit.log import Actor, record
from mianshen.notify.outbox import enqueue
from mianshen.reference.uscc import check_uscc
from mianshen.store.schema import enterprise_contacts, enterprises, sms_codes, users
from mianshen.web.errors import WebError
from mianshen.web.passwords import check_password

CODE_LIFETIME = dt.timedelta(minutes=5)
MAX_GUESSES = 5
MAX_CODES_PER_HOUR = 5


def staff_sign_in(conn: Connection, username: str, password: str) -> dict[str, object] | WebError:
    """The user row, or the error to show. Failures are returned, not raised, so that the audit
    event of a failed sign-in commits with the caller's transaction."""
    row = conn.execute(select(users).where(users.c.username == username.strip())).mappings().first()
    if row is None or not row["active"] or not check_password(row["password_hash"], password):
        record(conn, Actor(username.strip() or "（空）", "anonymous"), "signin.failed", "user", username.strip())
        return WebError(401, "bad_credentials", "用户名或密码不正确")
    record(conn, Actor(row["display_name"], row["role"], row["department"]), "signin", "user", row["id"])
    return dict(row)


def _digest(uscc: str, code: str) -> str:
    return hashlib.sha256(f"{uscc}:{code}".encode()).hexdigest()


def request_code(conn: Connection, raw_uscc: str, now: dt.datetime | None = None) -> str:
    """Send a code to the enterprise's registered contact; returns the masked phone it went to."""
    now = now or dt.datetime.now(dt.UTC)
    uscc = check_uscc(raw_uscc).code
    known = conn.execute(select(enterprises.c.uscc).where(enterprises.c.uscc == uscc)).scalar()
    contact = conn.execute(select(enterprise_contacts).where(enterprise_contacts.c.uscc == uscc)).mappings().first()
    if known is None or contact is None:
        raise WebError(404, "no_contact", "该统一社会信用代码未登记联系人手机号，请到政务服务中心登记后再试")
    recent = conn.execute(
        select(func.count())
        .select_from(sms_codes)
        .where(sms_codes.c.uscc == uscc, sms_codes.c.created_at > now - dt.timedelta(hours=1))
    ).scalar_one()
    if recent >= MAX_CODES_PER_HOUR:
        raise WebError(429, "too_many_codes", "验证码请求过于频繁，请一小时后再试")
    code = f"{secrets.randbelow(10**6):06d}"
    code_id = conn.execute(
        sms_codes.insert().values(
            uscc=uscc, code_hash=_digest(uscc, code), attempts=0, created_at=now, expires_at=now + CODE_LIFETIME
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    enqueue(conn, uscc, f"login:{code_id}", "login_code", {"code": code, "minutes": 5}, channels=("sms",))
    record(conn, Actor(f"企业 {uscc}", "enterprise", uscc=uscc), "signin.code_sent", "enterprise", uscc)
    from mianshen.cases.banking import decrypt_account

    phone = decrypt_account(contact["phone"])
    return f"{phone[:3]}****{phone[-4:]}"


def enterprise_sign_in(conn: Connection, raw_uscc: str, code: str, now: dt.datetime | None = None) -> str | WebError:
    """The USCC signed in, or the error to show — returned so the counted guess commits."""
    now = now or dt.datetime.now(dt.UTC)
    uscc = check_uscc(raw_uscc).code
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
    actor = Actor(f"企业 {uscc}", "enterprise", uscc=uscc)
    expires = (
        None
        if row is None
        else (row["expires_at"] if row["expires_at"].tzinfo else row["expires_at"].replace(tzinfo=dt.UTC))
    )
    if row is None or expires is None or expires < now or row["attempts"] >= MAX_GUESSES:
        record(conn, actor, "signin.failed", "enterprise", uscc, after={"reason": "no valid code"})
        return WebError(401, "code_expired", "验证码已失效，请重新获取")
    conn.execute(sms_codes.update().where(sms_codes.c.id == row["id"]).values(attempts=row["attempts"] + 1))
    if not secrets.compare_digest(row["code_hash"], _digest(uscc, code.strip())):
        record(conn, actor, "signin.failed", "enterprise", uscc, after={"attempt": row["attempts"] + 1})
        left = MAX_GUESSES - row["attempts"] - 1
        return WebError(
            401, "bad_code", f"验证码不正确，还可尝试 {left} 次" if left else "验证码错误次数过多，请重新获取"
        )
    conn.execute(sms_codes.update().where(sms_codes.c.id == row["id"]).values(consumed_at=now))
    record(conn, actor, "signin", "enterprise", uscc)
    return uscc
