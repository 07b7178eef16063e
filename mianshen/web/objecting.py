"""Objections from the public to a case in 公示 (M7: anonymous objections used to stop any case).

Case ids are public (the 公示 page lists them), so an objection must cost its sender something before
it stops a case: an objector who gives a phone number receives an SMS code and the objection stops
the case once the code is typed back (the same code machinery as enterprise sign-in); without a
verified phone the objection goes to the department's triage queue and the case goes on until staff
accept it. Objections are limited per client address and per case, codes per phone and overall
(`throttle.py`; numbers in docs/security.md). The route answers alike whatever the case's state —
in 公示, in another state, or no such case — and counts alike, so it tells nobody a case's state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from sqlalchemy import Connection, select

from mianshen.audit.log import Actor, record
from mianshen.cases.banking import decrypt_account, encrypt_account
from mianshen.cases.objections import object_to
from mianshen.store.outbox import enqueue
from mianshen.store.schema import cases, objection_codes
from mianshen.web.accounts import mask_phone
from mianshen.web.errors import WebError
from mianshen.web.signin import (
    CODE_LIFETIME,
    CODE_RULES,
    DAY,
    GUESS_RULES,
    HOUR,
    TOO_MANY_CODES,
    TOO_MANY_GUESSES,
    check_code,
    new_code,
)
from mianshen.web.throttle import EVERYONE, Rule, first_refusal, give_back_all, take_all

# Per client address as for codes; per case enough for every genuine objector of one case in a day,
# few enough that one case's queue cannot be flooded. Codes per phone: nobody's phone is flooded.
OBJECTION_RULES = (
    Rule("objection.client", 5, HOUR),
    Rule("objection.client.day", 20, DAY),
    Rule("objection.case", 30, DAY),
)
PHONE_RULE = Rule("objection.phone", 3, HOUR)
PHONE = re.compile(r"1[3-9]\d{9}")
PUBLIC = "公众"  # the outbox's addressee for a message to a member of the public (sent to `phone`)
OPEN = ("publicity", "objection")  # an objection to a case in any other state is answered and dropped

TOO_MANY = "提出异议过于频繁，请明天再试；也可到政策执行部门或政务服务中心当面提出"
RECEIVED = (
    "异议已收到。未经手机验证的异议不暂停公示：政策执行部门先行核实，认为需要时暂停公示并处理，处理结果在公示页更新。"
)
SENT = "验证码已发送至 {phone}，5 分钟内有效。输入验证码后异议生效：公示期内的案件暂停公示，由政策执行部门核实处理。"
ACCEPTED = "异议已受理。公示期内的案件暂停公示，政策执行部门将核实处理，处理结果在公示页更新。"


def normal_phone(raw: str) -> str | WebError:
    """The phone as 11 digits (spaces and dashes allowed), or the error to show; "" when none given."""
    phone = re.sub(r"[\s\-]", "", raw)
    if phone and not PHONE.fullmatch(phone):
        return WebError(400, "bad_phone", "手机号应为 11 位数字（以 1 开头），也可不填")
    return phone


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _state(conn: Connection, case_id: int) -> str | None:
    return conn.execute(select(cases.c.state).where(cases.c.id == case_id)).scalar()


def submit(
    conn: Connection, case_id: int, reason: str, raw_phone: str, client: str, now: dt.datetime | None = None
) -> tuple[str, str | None] | WebError:
    """(The message to show, the token of the code form when a code was sent), or the error. Errors
    are returned so the counted attempt commits."""
    now = now or dt.datetime.now(dt.UTC)
    phone = normal_phone(raw_phone)
    if isinstance(phone, WebError):
        return phone
    actor = Actor(f"公众（{client}）", "public")
    checks = [(rule, f"case {case_id}" if rule.name == "objection.case" else client) for rule in OBJECTION_RULES]
    refused = take_all(conn, checks, now)
    if refused is not None:
        if first_refusal(conn, refused, now):
            record(conn, actor, "objection.limited", "case", case_id, after={"client": client})
        return WebError(429, "too_many_objections", TOO_MANY)
    if not phone:
        if _state(conn, case_id) in OPEN:
            object_to(conn, case_id, Actor(f"公众（未验证，{client}）", "public"), reason, stop=False, client=client)
        return RECEIVED, None
    # a code goes out whatever the case's state: whether it arrives tells nothing either
    if take_all(conn, [(PHONE_RULE, _digest(phone)), (CODE_RULES[-1], EVERYONE)], now) is not None:
        return WebError(429, "too_many_codes", TOO_MANY_CODES)
    token = secrets.token_urlsafe(24)
    code, code_hash = new_code(token)
    values = {"token_hash": _digest(token), "case_id": case_id, "reason": reason, "client": client}
    values |= {"phone": encrypt_account(phone), "code_hash": code_hash, "attempts": 0}
    values |= {"created_at": now, "expires_at": now + CODE_LIFETIME}
    code_id = conn.execute(objection_codes.insert().values(**values)).inserted_primary_key[0]  # type: ignore[index]
    payload = {"code": code, "minutes": 5, "phone": phone}
    enqueue(conn, PUBLIC, f"objection:{code_id}", "objection_code", payload, channels=("sms",))
    return SENT.format(phone=mask_phone(phone)), token


def confirm(conn: Connection, token: str, code: str, client: str, now: dt.datetime | None = None) -> str | WebError:
    """The message to show once the code matches (the objection then stops a case in 公示), or the error."""
    now = now or dt.datetime.now(dt.UTC)
    checks = [(GUESS_RULES[0], client)]  # wrong codes per client address, shared with sign-in
    if take_all(conn, checks, now) is not None:
        return WebError(429, "too_many_guesses", TOO_MANY_GUESSES)
    row = (
        conn.execute(
            select(objection_codes).where(
                objection_codes.c.token_hash == _digest(token[:64]), objection_codes.c.consumed_at.is_(None)
            )
        )
        .mappings()
        .first()
    )
    wrong = check_code(conn, objection_codes, row, token[:64], code, now)
    if wrong is not None:
        return wrong
    assert row is not None  # a code that matched has a row
    conn.execute(objection_codes.update().where(objection_codes.c.id == row["id"]).values(consumed_at=now))
    give_back_all(conn, checks, now)
    if _state(conn, row["case_id"]) in OPEN:
        who = Actor(f"公众（手机 {mask_phone(decrypt_account(row['phone']))}）", "public")
        object_to(conn, row["case_id"], who, row["reason"], phone=row["phone"], client=row["client"])
    return ACCEPTED
