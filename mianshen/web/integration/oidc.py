"""Enterprise sign-in through an OpenID Connect provider (统一身份认证, 电子营业执照), beside USCC + SMS.

The authorization-code flow with PKCE (authlib builds the request and the S256 challenge), and the ID token checked with joserfc
against the provider's published keys: signature, issuer, audience, expiry and the nonce sent. The
provider's claim (MIANSHEN_OIDC_USCC_CLAIM) names the enterprise; it must be one the platform knows.
The state, nonce and PKCE verifier travel in a short-lived HttpOnly cookie bound to this browser, so
a callback from another browser, or one replayed, is refused. All provider calls are made from
`def` handlers (FastAPI's thread pool), never on the event loop.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import httpx
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select

from mianshen.audit.log import Actor, record
from mianshen.integration import settings
from mianshen.store.schema import enterprises
from mianshen.web.deps import engine, page
from mianshen.web.errors import WebError, not_found, safe_next
from mianshen.web.sessions import secure_cookies, start_session
from mianshen.web.signin import normal_uscc
from mianshen.web.throttle import client_address

router = APIRouter()
COOKIE = "ms_oidc"
LIFETIME = 600  # seconds from leaving for the provider to coming back
TIMEOUT = 10
ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA"]  # asymmetric only: the client secret never signs


def _provider() -> settings.OidcProvider:
    found = settings.oidc()
    if found is None:
        raise not_found("页面")
    return found


def _metadata(issuer: str) -> dict[str, Any]:
    try:
        answer = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=TIMEOUT, trust_env=False)
        answer.raise_for_status()
        return dict(answer.json())
    except (httpx.HTTPError, ValueError) as exc:
        raise WebError(502, "provider_unavailable", "身份认证服务暂时无法访问，请稍后再试或用短信验证码登录") from exc


def _callback(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


def _token(provider: settings.OidcProvider, meta: dict[str, Any], request: Request, code: str, verifier: str) -> Any:
    """The code exchanged at the token endpoint (client_secret_basic), as JSON."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": _callback(request)}
    answer = httpx.post(
        meta["token_endpoint"],
        data=form | {"code_verifier": verifier},
        auth=(provider.client_id, provider.client_secret),
        timeout=TIMEOUT,
        trust_env=False,
    )
    answer.raise_for_status()
    return answer.json()


@router.get("/login/oidc", include_in_schema=False)
def oidc_start(request: Request) -> Response:
    provider = _provider()
    meta = _metadata(provider.issuer)
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    query = {"response_type": "code", "client_id": provider.client_id, "redirect_uri": _callback(request)}
    query |= {"scope": "openid", "state": state, "nonce": nonce}
    query |= {"code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"}
    url = add_params_to_uri(meta["authorization_endpoint"], list(query.items()))
    back = safe_next(request.query_params.get("next")) or "/my"
    response = RedirectResponse(url, status_code=303)
    kept = json.dumps({"state": state, "nonce": nonce, "verifier": verifier, "next": back})
    response.set_cookie(
        COOKIE,
        kept,
        max_age=LIFETIME,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/login/oidc",
    )
    return response


@router.get("/login/oidc/callback", include_in_schema=False, name="oidc_callback")
def oidc_callback(request: Request) -> Response:
    provider = _provider()
    try:
        kept = json.loads(request.cookies.get(COOKIE) or "{}")
    except ValueError:
        kept = {}
    state = request.query_params.get("state", "")
    if not kept.get("state") or not secrets.compare_digest(state, str(kept["state"])):
        return _refused(request, "登录请求已失效或不是从本浏览器发起的，请重新登录", 400)
    if request.query_params.get("error") or not request.query_params.get("code"):
        return _refused(request, "身份认证未完成（已取消或被拒绝），请重新登录或用短信验证码登录", 400)
    meta = _metadata(provider.issuer)
    try:
        token = _token(provider, meta, request, request.query_params["code"], kept["verifier"])
        keys = KeySet.import_key_set(httpx.get(meta["jwks_uri"], timeout=TIMEOUT, trust_env=False).json())
        claims = _checked(jwt.decode(token["id_token"], keys, algorithms=ALGORITHMS).claims, provider, kept["nonce"])
    except (httpx.HTTPError, JoseError, KeyError, ValueError) as exc:
        return _refused(request, f"身份认证结果无法验证（{type(exc).__name__}），请重新登录", 401)
    given = normal_uscc(str(claims.get(provider.uscc_claim) or ""))
    uscc = given if isinstance(given, str) else ""
    with engine(request).begin() as conn:
        known = bool(uscc) and conn.execute(select(enterprises.c.uscc).where(enterprises.c.uscc == uscc)).scalar()
        who = Actor(f"企业 {uscc}", "enterprise", uscc=uscc if known else None)
        after = {"client": client_address(request), "method": "统一身份认证（OIDC）", "issuer": provider.issuer}
        record(conn, who, "signin" if known else "signin.failed", "enterprise", uscc, after=after)
    if not known:
        return _refused(request, "身份认证服务给出的单位尚未在本平台登记，请用短信验证码登录或联系主管部门", 403)
    response = RedirectResponse(str(kept.get("next") or "/my"), status_code=303)
    response.delete_cookie(COOKIE, path="/login/oidc")
    start_session(engine(request), response, request, "enterprise", uscc=uscc)
    return response


def _checked(claims: dict[str, Any], provider: settings.OidcProvider, nonce: str) -> dict[str, Any]:
    """The ID token's claims, if it was issued by our provider, for us, recently, in answer to us."""
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    now = time.time()
    if claims.get("iss") != provider.issuer or provider.client_id not in audiences:
        raise ValueError("issuer or audience")
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] < now - 60:
        raise ValueError("expired")
    if not secrets.compare_digest(str(claims.get("nonce") or ""), nonce):
        raise ValueError("nonce")
    return claims


def _refused(request: Request, message: str, status: int) -> Response:
    return page(request, "message.html", {"title": "未能登录", "message": message}, status)
