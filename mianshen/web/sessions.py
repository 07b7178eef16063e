"""Sessions and CSRF: a random cookie whose hash is stored with an expiry; forms carry a token.

Only the SHA-256 of the session cookie is stored, so a copy of the database cannot be replayed
as a login. CSRF: every form and state-changing API call echoes a token. Signed in, the token is
the one stored with the session (set as the `ms_csrf` cookie at sign-in, so it changes with every
sign-in), and a cookie the client chose is never accepted; before sign-in (the sign-in forms, a
public objection) it is the double-submit pattern: a random `ms_csrf` cookie echoed back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy import Connection, Engine, delete, select

from mianshen.settings import current as settings
from mianshen.store.db import reading
from mianshen.store.schema import sessions, users

SESSION_COOKIE = "ms_session"
CSRF_COOKIE = "ms_csrf"


def session_lifetime() -> dt.timedelta:
    return dt.timedelta(hours=settings().session_hours)


@dataclass(frozen=True)
class Session:
    role: str
    name: str
    user_id: int | None = None
    uscc: str | None = None
    department: str | None = None
    region: str | None = None
    csrf: str = ""  # the session's CSRF token (server-side)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def secure_cookies(request: Request) -> bool:
    """Secure cookies over HTTPS (production); plain HTTP is accepted only for a local demo."""
    setting = settings().cookie_secure
    return request.url.scheme == "https" if setting == "auto" else setting == "1"


def create_session(
    conn: Connection,
    role: str,
    user_id: int | None = None,
    uscc: str | None = None,
    lifetime: dt.timedelta | None = None,
    csrf: str | None = None,
) -> str:
    """Store a new session (only the hash of its token) and return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    conn.execute(delete(sessions).where(sessions.c.expires_at < now))  # housekeeping
    conn.execute(
        sessions.insert().values(
            token_hash=_hash(token),
            user_id=user_id,
            uscc=uscc,
            role=role,
            csrf_token=csrf or secrets.token_urlsafe(16),
            created_at=now,
            expires_at=now + (lifetime or session_lifetime()),
        )
    )
    return token


def start_session(
    engine: Engine, response: Response, request: Request, role: str, user_id: int | None = None, uscc: str | None = None
) -> None:
    csrf = secrets.token_urlsafe(24)
    with engine.begin() as conn:
        token = create_session(conn, role, user_id, uscc, csrf=csrf)
    # a new CSRF token with every sign-in: one planted or seen before sign-in is worth nothing after
    put_cookie(response, request, CSRF_COOKIE, csrf)
    put_cookie(response, request, SESSION_COOKIE, token, max_age=int(session_lifetime().total_seconds()))


def put_cookie(response: Response, request: Request, name: str, value: str, max_age: int | None = None) -> None:
    """Every cookie of the site: out of reach of scripts, not sent by other sites' forms, HTTPS-only
    in production. An empty value with max_age 0 removes it (with the same attributes, as browsers
    match a removal to the cookie it replaces)."""
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure_cookies(request))


def end_session(engine: Engine, request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.token_hash == _hash(token)))
    put_cookie(response, request, SESSION_COOKIE, "", max_age=0)


def current_session(engine: Engine, request: Request) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    now = dt.datetime.now(dt.UTC)
    with reading(engine) as conn:
        row = (
            conn.execute(
                select(sessions, users.c.display_name, users.c.department, users.c.region, users.c.active)
                .outerjoin(users, users.c.id == sessions.c.user_id)
                .where(sessions.c.token_hash == _hash(token))
            )
            .mappings()
            .first()
        )
    if row is None:
        return None
    expires = row["expires_at"] if row["expires_at"].tzinfo else row["expires_at"].replace(tzinfo=dt.UTC)
    if expires < now or (row["user_id"] is not None and not row["active"]):
        return None
    name = row["display_name"] or f"企业 {row['uscc']}"
    return Session(row["role"], name, row["user_id"], row["uscc"], row["department"], row["region"], row["csrf_token"])


def csrf_token(request: Request, session: Session | None) -> str:
    """The token for forms on this page: the session's when signed in, else the `ms_csrf` cookie
    (set by the middleware when missing)."""
    return session.csrf if session is not None and session.csrf else str(request.state.csrf)


def check_csrf(request: Request, session: Session | None, submitted: str | None) -> bool:
    expected = session.csrf if session is not None and session.csrf else request.cookies.get(CSRF_COOKIE)
    return bool(expected and submitted and secrets.compare_digest(expected, submitted))
